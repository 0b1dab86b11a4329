"""The two catalog queries on the path of every search at scale (docs/scale.md): fact filters read a
covering index, and a name query ranks at most the newest ``rank_at_most`` matching paths. Both on a
catalog indexed from the real corpus, against results computed without the optimisation."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from tests.helpers import DIRT
from traum.catalog import Catalog, StemFilter
from traum.catalog.db import schema_version
from traum.pipeline import IndexOptions, run_index
from traum.search import SearchEngine
from traum.search.lexical import fts_match

#: One-shots and loops (tempo), tonal notes (key), all categories of a drum-and-bass search.
FOLDERS = ["bd", "hh", "cp", "jvbass", "arpy", "juno", "breaks125", "breaks152", "breaks157", "breaks165",
           "ravemono", "amencutup"]
#: Schema 4's fact indexes, one per column: a catalog as Traum left it before migration 5.
SCHEMA_4 = """
    DROP INDEX idx_stems_category_bpm; DROP INDEX idx_stems_bpm_id;
    CREATE INDEX idx_stems_category ON stems(category); CREATE INDEX idx_stems_bpm ON stems(bpm);
    PRAGMA user_version = 4;
"""


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    """A catalog of real drums, bass and breaks, analysed (tempo, category), one path marked missing."""
    root = tmp_path_factory.mktemp("lib")
    for folder in FOLDERS:
        shutil.copytree(DIRT / folder, root / folder)
    db = tmp_path_factory.mktemp("db") / "c.db"
    with Catalog(db) as catalog:
        run_index([root], catalog, IndexOptions(cache=False))
        catalog.mark_missing([str(root / "bd" / "BT0A0D0.wav")])
    return db


@pytest.fixture(params=["fresh", "upgraded from schema 4"])
def catalog(request, indexed, tmp_path):
    db = tmp_path / "c.db"
    shutil.copy(indexed, db)
    if request.param != "fresh":
        with sqlite3.connect(db) as conn:
            conn.executescript(SCHEMA_4)
    with Catalog(db) as cat:
        assert schema_version(cat.conn) == 5
        yield cat


def _present_facts(catalog: Catalog) -> list[dict]:
    """Every present stem's facts, read without any filter SQL."""
    present = {r[0] for r in catalog.conn.execute("SELECT file_hash FROM processing_status WHERE status IN "
                                                  "('indexed', 'pending')")}
    return [s for s in catalog.stems(present_only=False) if s["id"] in present]


def _filters(stems: list[dict]) -> list[tuple[StemFilter, object]]:
    """Filters a search builds, with the test each stem must pass, around tempos the corpus has."""
    tempos = sorted(s["bpm"] for s in stems if s["bpm"])
    mid = tempos[len(tempos) // 2]
    span = (mid - 10, mid + 10)
    spans = (span, (span[0] / 2, span[1] / 2), (span[0] * 2, span[1] * 2))

    def in_spans(s: dict, spans: tuple) -> bool:
        return s["bpm"] is not None and any(lo <= s["bpm"] <= hi for lo, hi in spans)

    looped = [s["category"] for s in stems if in_spans(s, (span,)) and s["category"]]
    category = max(set(looped), key=looped.count)
    key = max({s["key"] for s in stems if s["key"]}, key=lambda k: sum(s["key"] == k for s in stems))
    return [
        (StemFilter(bpm_spans=(span,), category=category),
         lambda s: in_spans(s, (span,)) and s["category"] == category),
        (StemFilter(bpm_spans=(span,), category="kick"), lambda s: False),  # one-shots have no tempo
        (StemFilter(bpm_spans=(span,)), lambda s: in_spans(s, (span,))),
        (StemFilter(category="kick"), lambda s: s["category"] == "kick"),
        (StemFilter(bpm_spans=spans, category=category), lambda s: in_spans(s, spans) and s["category"] == category),
        (StemFilter(keys=(key,)), lambda s: s["key"] == key),
        (StemFilter(keys=(key,), category="synth"), lambda s: s["key"] == key and s["category"] == "synth"),
        (StemFilter(loop=True, category=category), lambda s: s["bpm"] is not None and s["category"] == category),
    ]


def test_fact_filters_give_the_ids_every_present_stem_is_checked_for(catalog):
    stems = _present_facts(catalog)
    assert len(stems) < catalog.stem_count()  # the missing path's stem must not be found
    filters = _filters(stems)
    assert all(any(holds(s) for s in stems) for i, (_f, holds) in enumerate(filters) if i != 1)
    for stem_filter, holds in filters:
        expected = sorted(s["id"] for s in stems if holds(s))
        assert sorted(catalog.select_ids(stem_filter)) == expected, stem_filter
        assert catalog.select_ids(stem_filter, sort="bpm") == [
            s["id"] for s in sorted((s for s in stems if holds(s)),
                                    key=lambda s: (s["bpm"] is None, s["bpm"] or 0, s["filename"].lower(), s["id"]))]


def _plan(catalog: Catalog, stem_filter: StemFilter) -> str:
    """SQLite's plan for the query select_ids runs (caught as it runs, with its values)."""
    ran: list[str] = []
    catalog.conn.set_trace_callback(ran.append)
    try:
        catalog.select_ids(stem_filter)
    finally:
        catalog.conn.set_trace_callback(None)
    (sql,) = [s for s in ran if s.lstrip().upper().startswith("SELECT")]
    return "\n".join(r[3] for r in catalog.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize("stem_filter, index", [
    (StemFilter(bpm_spans=((120.0, 124.0),), category="kick"),
     "idx_stems_category_bpm (category=? AND bpm>? AND bpm<?)"),
    (StemFilter(category="kick"), "idx_stems_category_bpm (category=?)"),
    (StemFilter(bpm_spans=((120.0, 124.0),)), "idx_stems_bpm_id (bpm>? AND bpm<?)"),
    # Half and double time: one search per span, not every kick.
    (StemFilter(bpm_spans=((120.0, 124.0), (60.0, 62.0), (240.0, 248.0)), category="kick"),
     "idx_stems_category_bpm (category=? AND bpm>? AND bpm<?)\nINDEX 3"),
])
def test_tempo_and_category_filters_read_only_an_index(catalog, stem_filter, index):
    """A stems row holds its 2 KB vector: a filter that visits rows reads a page per sample it tests
    (5 s for tempo + category at 1M stems before schema 5)."""
    plan = _plan(catalog, stem_filter)
    assert f"SEARCH s USING COVERING INDEX {index}" in plan, plan
    assert "SCAN s" not in plan, plan


def _full_ranking(catalog: Catalog, match: str, newest: int | None = None) -> list[tuple[str, float, str]]:
    """Every matching present path scored by FTS5 (or only the ``newest`` by rowid), best first,
    ties by path, one entry per stem: what Catalog.lexical returns, computed in Python."""
    rows = catalog.conn.execute(
        "SELECT f.rowid, f.rank, p.file_hash, p.file_path FROM paths_fts f JOIN processing_status p ON p.id = f.rowid "
        "WHERE paths_fts MATCH ? AND p.status IN ('indexed', 'pending')", (match,)).fetchall()
    if newest is not None:
        rows = sorted(rows, key=lambda r: -r[0])[:newest]
    best: dict[str, tuple[float, str]] = {}
    for _rowid, rank, stem_id, path in sorted(rows, key=lambda r: (r[1], r[3])):
        best.setdefault(stem_id, (-rank, path))
    return [(stem_id, score, path) for stem_id, (score, path) in best.items()]


@pytest.mark.parametrize("words", [["kick"], ["bd"], ["hh"], ["bass"], ["snare"], ["drum", "loop"], ["bt"]])
def test_a_name_query_under_the_cap_ranks_every_match(catalog, words):
    match = fts_match(words)
    hits = catalog.lexical(match)
    assert hits == _full_ranking(catalog, match)
    assert hits == catalog.lexical(match, rank_at_most=None)


def test_past_the_cap_a_name_query_ranks_the_newest_matching_paths(catalog):
    match = fts_match(["kick"])
    everything = _full_ranking(catalog, match)
    assert len(everything) > 20
    bounded = catalog.lexical(match, rank_at_most=8)
    assert bounded == _full_ranking(catalog, match, newest=8)
    assert len(bounded) <= 8 and {h[0] for h in bounded} < {h[0] for h in everything}


class _CheckingEveryStem(SearchEngine):
    """The search as before: its filter checks each matching stem for a present path."""

    def _allowed(self, q, collection=None):
        filters = replace(q.stem_filter(), collection=collection)
        return None if filters.empty else set(self.catalog.select_ids(filters))


def test_a_filtered_search_leaves_presence_to_its_candidates_and_finds_the_same(catalog):
    """The search's filter skips the presence check (a probe per matching stem); a stem whose every
    path is gone still never comes back, even from a search with filters and no words."""
    kicks = sorted(s["id"] for s in _present_facts(catalog) if s["category"] == "kick")
    first = catalog.paths_of(kicks[0])
    catalog.mark_missing(first)  # the first kick by id: the one a list of kicks would begin with
    gone = kicks[0]
    assert gone in catalog.select_ids(StemFilter(category="kick"), present_only=False)
    assert gone not in catalog.select_ids(StemFilter(category="kick"))
    tempo = next(s["bpm"] for s in _present_facts(catalog) if s["bpm"])
    for text, filters in [("", {"category": "kick"}), ("kick", {"category": "kick"}), ("bd", {"loop": False}),
                          (f"{tempo:g} bpm", {}), (f"drum loop {tempo:g} bpm", {})]:
        for k in (1, 3, 50):
            result = SearchEngine(catalog).search(text, k=k, **filters)
            reference = _CheckingEveryStem(catalog).search(text, k=k, **filters)
            assert [(h.id, h.path, h.score) for h in result.hits] == [
                (h.id, h.path, h.score) for h in reference.hits], (text, k)
            assert result.total == reference.total and gone not in {h.id for h in result.hits}
    assert SearchEngine(catalog).search("", k=1, category="kick").total == 5  # k × 5 present candidates
