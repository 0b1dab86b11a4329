"""Every new stem gets full analysis, whatever way its vector arrived, and the same facts as `traum analyze`."""

from __future__ import annotations

import sqlite3

import pytest

from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index

FACTS = ("bpm", "key", "category", "quality_ok", "quality_score", "tempo_confidence", "spectral_features",
         "temporal_features", "harmonic_features", "noise_level", "dynamic_range")
#: baa/6 clips only at its native rate: analysed after a round trip through 48 and 22.05 kHz it looked clean.
FILES = ["dirt-samples/baa/6.wav", "dirt-samples/sugar/000_bark.wav", "dirt-samples/pad/alien-monolith-pad.wav"]


def _index(library, db, model):
    with Catalog(db) as catalog:
        return run_index([library], catalog, IndexOptions(model=str(model), workers=2, analysis_workers=1))


def _facts(db, columns=FACTS) -> dict[str, tuple]:
    conn = sqlite3.connect(db)
    rows = {r[0]: r[1:] for r in conn.execute(f"SELECT path, {', '.join(columns)} FROM stems")}
    conn.close()
    return rows


def test_vectors_from_the_cache_still_get_full_analysis(tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", FILES)
    first = _index(library, tmp_path / "a.db", tiny_model)
    assert first.windows_embedded > 0
    second = _index(library, tmp_path / "b.db", tiny_model)
    assert second.indexed == len(FILES) and second.windows_embedded == 0
    a, b = _facts(tmp_path / "a.db"), _facts(tmp_path / "b.db")
    assert a == b
    assert all(row[FACTS.index("spectral_features")] is not None and row[FACTS.index("quality_ok")] is not None
               for row in b.values())


def test_index_stores_the_facts_analyze_gives(tmp_path, tiny_model):
    import traum

    library = copy_library(tmp_path / "lib", FILES)
    _index(library, tmp_path / "a.db", tiny_model)
    stored = _facts(tmp_path / "a.db", ("bpm", "key", "category", "quality_ok", "quality_score"))
    conn = sqlite3.connect(tmp_path / "a.db")
    columns = {r[1] for r in conn.execute("PRAGMA table_info(stems)")}
    loudness = ({r[0]: r[1] for r in conn.execute("SELECT path, loudness_lufs FROM stems")}
                if "loudness_lufs" in columns else None)
    conn.close()
    analysed = traum.analyze([library / f for f in FILES], workers=1)
    for facts in analysed:
        key = f"{facts['key']} {facts['mode']}" if facts["key"] else None
        assert stored[facts["path"]] == (facts["bpm"], key, facts["category"], int(facts["quality_ok"]),
                                         facts["quality_score"])
        if loudness is not None:
            assert loudness[facts["path"]] == facts["loudness_lufs"]
    if loudness is None:
        pytest.skip("the catalog has no loudness_lufs column yet (catalog migration v3)")


def test_the_callers_options_are_never_changed(tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", FILES[:1])
    options = IndexOptions(model=str(tiny_model), workers=1, analyse=False)
    before = repr(options)
    with Catalog(tmp_path / "a.db") as catalog:
        report = run_index([library], catalog, options)
    assert repr(options) == before and report.peak_rss_mb > 10
