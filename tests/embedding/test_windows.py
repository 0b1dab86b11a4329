import numpy as np
import pytest

from tests.helpers import EXAMPLES
from traum.audio import load
from traum.embedding.windows import split_windows, window_starts


def test_short_audio_is_one_window():
    assert window_starts(48_000 * 3, 48_000) == [0]
    assert window_starts(48_000 * 10, 48_000) == [0]


def test_long_audio_is_covered_to_the_end():
    starts = window_starts(48_000 * 23, 48_000)
    assert starts[0] == 0 and starts[-1] == 48_000 * 13 and len(starts) == 4
    assert max(np.diff(starts)) <= 5 * 48_000
    clips = split_windows(np.zeros(48_000 * 23, np.float32), 48_000)
    assert [len(c) for _, c in clips] == [480_000] * 4
    assert window_starts(48_000 * 20, 48_000) == [0, 240_000, 480_000]


def test_songs_get_tiling_windows_that_still_reach_the_end():
    starts = window_starts(48_000 * 61, 48_000)
    assert starts[0] == 0 and starts[-1] == 48_000 * 51 and len(starts) == 7  # 8.5 s apart
    assert 8 * 48_000 <= min(np.diff(starts)) and max(np.diff(starts)) <= 10 * 48_000
    assert len(window_starts(48_000 * 30, 48_000)) == 5  # up to 30 s: 5 s apart


@pytest.fixture(scope="module")
def clap(tiny_model):
    from traum.embedding import load_model

    return load_model(str(tiny_model))


def test_long_files_embed_deterministically(clap):
    from traum.embedding.files import embed_file

    path = EXAMPLES / "admiralbob77_-_Choice_-_Drum-bass.ogg"  # 25 s
    first, windows = embed_file(clap, path)
    again, _ = embed_file(clap, path)
    assert [round(o) for o, _ in windows] == [0, 5, 10, 15]
    np.testing.assert_array_equal(first, again)
    assert first.shape == (512,) and abs(np.linalg.norm(first) - 1) < 1e-5


def test_window_batching_does_not_change_vectors(clap):
    from traum.embedding.batching import embed_in_batches

    samples = load(EXAMPLES / "admiralbob77_-_Choice_-_Drum-bass.ogg", clap.sample_rate).samples
    features = [w.features for w in clap.prepare(samples)]
    one_by_one, _ = embed_in_batches(clap, features, 1)
    together, _ = embed_in_batches(clap, features, 16)
    assert np.min(np.sum(one_by_one * together, axis=1)) > 0.9999


def test_a_window_budget_spreads_windows_over_the_whole_file():
    rate = 48_000
    every = window_starts(rate * 61, rate)
    budget = window_starts(rate * 61, rate, max_windows=3)
    assert len(every) == 7 and budget == [0, int(25.5 * rate), 51 * rate]  # start, middle, end
    assert window_starts(rate * 20, rate, max_windows=3) == window_starts(rate * 20, rate)  # short: unchanged
    assert window_starts(rate * 5, rate, max_windows=3) == [0]
    assert len(window_starts(rate * 3600, rate, max_windows=5)) == 5


def test_budget_setting_reads_numbers_and_all():
    from traum.embedding.windows import DEFAULT_MAX_WINDOWS, parse_max_windows

    assert parse_max_windows(None) == DEFAULT_MAX_WINDOWS == 3
    assert parse_max_windows("all") is None and parse_max_windows(" ALL ") is None
    assert parse_max_windows("5") == 5 and parse_max_windows(4) == 4
    with pytest.raises(ValueError):
        parse_max_windows("1")
    with pytest.raises(ValueError):
        parse_max_windows("three")


def test_a_budget_comes_from_the_option_else_the_setting_and_a_bad_one_is_a_usage_error(monkeypatch):
    """One parser for the API, the CLI and the search engine (a query file pooled as indexed)."""
    from traum.embedding.windows import window_budget
    from traum.errors import ConfigError

    monkeypatch.setenv("TRAUM_WINDOWS", "5")
    assert window_budget(None) == 5 and window_budget("all") is None and window_budget(4) == 4
    with pytest.raises(ConfigError, match="--windows 1: give a whole number of at least 2") as bad:
        window_budget("1")
    assert bad.value.exit_code == 2
    monkeypatch.setenv("TRAUM_WINDOWS", "one")
    with pytest.raises(ConfigError, match="TRAUM_WINDOWS"):
        window_budget(None)


def test_a_sampled_stem_needs_more_windows_only_when_more_are_asked_for():
    from traum.embedding.windows import needs_more_windows

    # 61 s, sampled with 3 windows (the last ending at the end): every window, or 5, want more.
    assert needs_more_windows(61.0, 3, 51.0, None)
    assert needs_more_windows(61.0, 3, 51.0, 5)
    assert not needs_more_windows(61.0, 3, 51.0, 3)
    assert not needs_more_windows(61.0, 7, 51.0, 3)  # more than asked for: kept, never re-embedded down
    assert not needs_more_windows(61.0, 7, 51.0, None)  # fully covered
    assert not needs_more_windows(12.0, 2, 2.0, None) and not needs_more_windows(4.0, 1, 0.0, None)
    # Shorter than its header says (its windows past the real end were dropped): full coverage of what
    # is there; re-embedding would give the same windows again, on every run.
    assert not needs_more_windows(61.0, 4, 25.5, None)
    for seconds in np.arange(10.5, 200, 0.37):  # whatever the length, full coverage is recognised as such
        starts = window_starts(int(seconds * 48_000), 48_000)
        assert not needs_more_windows(float(seconds), len(starts), starts[-1] / 48_000, None), seconds
        sampled = window_starts(int(seconds * 48_000), 48_000, max_windows=3)
        assert needs_more_windows(float(seconds), len(sampled), sampled[-1] / 48_000, None) == (len(starts) > 3)


def test_embed_gives_the_vector_index_stores_under_the_same_budget(clap):
    from traum.embedding.files import embed_file

    path = EXAMPLES / "Kevin_MacLeod_-_Vibe_Ace.ogg"  # 61 s
    sampled, windows = embed_file(clap, path, max_windows=3)
    full, every = embed_file(clap, path)
    assert [round(o, 2) for o, _ in windows] == [0.0, 25.73, 51.46] and len(every) == 7
    np.testing.assert_allclose(sampled, embed_file(clap, path, max_windows=3)[0])
    assert float(np.dot(sampled, full)) < 0.99999
