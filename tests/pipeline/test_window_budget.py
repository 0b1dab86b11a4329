"""The window budget: a long file gets 3 windows by default, every window with --windows all; a re-index
with more windows fills in the sampled stems; the embedding cache never serves one policy's vectors to
another."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from tests.helpers import DIRT, EXAMPLES
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index

SONG = "Kevin_MacLeod_-_Vibe_Ace.ogg"  # 61.46 s: 7 windows for full coverage
LAST = 51.46  # the last window ends at the end
PAD = "alien-monolith-pad.wav"  # 12 s: 2 windows whatever the budget


@pytest.fixture
def small_library(tmp_path):
    lib = tmp_path / "library"
    lib.mkdir()
    shutil.copy2(EXAMPLES / SONG, lib / SONG)
    shutil.copy2(DIRT / "pad" / PAD, lib / PAD)
    return lib


def index(library, db, model, **options):
    with Catalog(db) as catalog:
        return run_index([library], catalog, IndexOptions(model=str(model), analyse=False, **options))


def windows_of(db, name):
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT w.offset, w.embedding FROM stem_windows w JOIN stems s ON s.id = w.stem_id "
                        "WHERE s.filename = ? ORDER BY w.offset", (name,)).fetchall()
    pooled = conn.execute("SELECT clap_embedding FROM stems WHERE filename = ?", (name,)).fetchone()[0]
    conn.close()
    return [round(r[0], 2) for r in rows], np.frombuffer(pooled, np.float32)


def test_a_long_file_gets_three_windows_spread_over_it_by_default(small_library, db, tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "0")
    report = index(small_library, db, tiny_model)
    offsets, _ = windows_of(db, SONG)
    assert offsets == [0.0, LAST / 2, LAST]  # start, middle, end
    assert windows_of(db, PAD)[0] == [0.0, 2.0]  # short enough: every window
    assert report.windows_embedded == 5 and report.windows_per_file == "3"


def test_windows_all_reembeds_the_sampled_stems_and_only_them(small_library, db, tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "0")
    index(small_library, db, tiny_model)
    _, sampled = windows_of(db, SONG)
    pad_before = windows_of(db, PAD)
    report = index(small_library, db, tiny_model, max_windows=None)
    assert report.rewindowed == 1 and report.windows_embedded == 7 and report.windows_per_file == "all"
    offsets, full = windows_of(db, SONG)
    np.testing.assert_allclose(offsets, np.linspace(0, LAST, 7), atol=0.006)
    assert float(np.dot(full, sampled)) < 0.99999  # a new pooled vector, from every window
    np.testing.assert_array_equal(windows_of(db, PAD)[1], pad_before[1])
    again = index(small_library, db, tiny_model, max_windows=None)
    assert again.rewindowed == 0 and again.windows_embedded == 0  # covered now: nothing to do
    budgeted = index(small_library, db, tiny_model)
    assert budgeted.windows_embedded == 0 and windows_of(db, SONG)[0] == offsets  # never re-embedded down
    wider = index(small_library, tmp_db := db.with_name("wider.db"), tiny_model, max_windows=5)
    assert wider.windows_embedded == 7 and len(windows_of(tmp_db, SONG)[0]) == 5


def test_the_embedding_cache_keeps_each_budget_apart(small_library, tmp_path, tiny_model):
    first = index(small_library, tmp_path / "one.db", tiny_model)
    assert first.windows_embedded == 5
    every = index(small_library, tmp_path / "two.db", tiny_model, max_windows=None)
    assert every.windows_embedded == 9  # not the cached 3-window vectors of the song
    assert len(windows_of(tmp_path / "two.db", SONG)[0]) == 7
    again = index(small_library, tmp_path / "three.db", tiny_model)
    assert again.windows_embedded == 0  # its own policy's entries are served
    np.testing.assert_array_equal(windows_of(tmp_path / "three.db", SONG)[1], windows_of(tmp_path / "one.db", SONG)[1])


def test_a_budget_below_two_is_a_usage_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "traum.cli.main", "index", str(tmp_path), "--windows", "1"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "--windows 1" in result.stderr and "Traceback" not in result.stderr


def test_files_streamed_for_their_length_keep_the_budget(tmp_path, tiny_model):
    import soundfile as sf

    from traum.analysis.stream import STREAM_SECONDS
    from traum.embedding import load_model
    from traum.pipeline.prepare import decode_source

    rate, seconds = 8_000, int(STREAM_SECONDS) + 60  # over the streaming threshold: read block by block
    t = np.arange(rate * seconds) / rate
    sf.write(tmp_path / "long.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    model = load_model(str(tiny_model))
    sampled = decode_source(str(tmp_path / "long.wav"), model, 3)
    assert sampled.whole is not None  # the streaming path
    assert [round(o, 2) for o in sampled.offsets] == [0.0, (seconds - 10) / 2, seconds - 10.0]
    assert len(decode_source(str(tmp_path / "long.wav"), model, None).offsets) == 66
