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
