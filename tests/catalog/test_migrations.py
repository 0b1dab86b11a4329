"""Schema v3 on a populated older catalog: facts columns, one search document per path, FTS5 that
folds accents and keeps any script's letters."""

from __future__ import annotations

import json

import pytest

from tests.catalog.conftest import assert_index_in_step, record, vector
from traum.catalog import Catalog, StemFilter, documents
from traum.catalog.db import MIGRATIONS, connect, migrate, schema_version


def _old_catalog(db, version: int) -> None:
    """A catalog as Traum left it at ``version``, with two paths of one kick and a tagged snare."""
    conn = connect(db)
    migrate(conn, MIGRATIONS[:version])
    stems = [("k" * 64, "/lib/Drums/Überkick 01.wav", None, None, "kick", 0.9),
             ("s" * 64, "/lib/ドラム/snare.wav", json.dumps(["café", "キック"]), json.dumps(["crisp"]), None, None)]
    for stem_id, path, tags, user_tags, category, confidence in stems:
        conn.execute("INSERT INTO stems (id, path, filename, duration, tags, user_tags, category, "
                     "category_confidence, imported_at, clap_embedding, embedding_model) "
                     "VALUES (?, ?, ?, 1.0, ?, ?, ?, ?, 'then', ?, 'm')",
                     (stem_id, path, path.rsplit("/", 1)[1], tags, user_tags, category, confidence,
                      vector(len(path)).tobytes()))
    for path, stem_id, status in [("/lib/Drums/Überkick 01.wav", "k" * 64, "indexed"),
                                  ("/lib/Copies/boom.wav", "k" * 64, "indexed"),
                                  ("/lib/gone/vanished kick.wav", "k" * 64, "missing"),
                                  ("/lib/ドラム/snare.wav", "s" * 64, "indexed"),
                                  ("/lib/readme.txt", None, "skipped")]:
        conn.execute("INSERT INTO processing_status (file_path, file_hash, status) VALUES (?, ?, ?)",
                     (path, stem_id, status))
    conn.close()


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_populated_catalog_migrates_to_the_current_version(db, version):
    _old_catalog(db, version)
    with Catalog(db) as catalog:
        assert schema_version(catalog.conn) == MIGRATIONS[-1][0]
        columns = {r[1] for r in catalog.conn.execute("PRAGMA table_info(stems)")}
        assert {"loudness_lufs", "true_peak_dbfs", "quality_issues"} <= columns
        assert catalog.counts()["indexed"] == 3 and catalog.stem_count() == 2

        def hits(query: str) -> list[tuple[str, str]]:
            return [(stem_id[0], path) for stem_id, _score, path in catalog.lexical(query)]

        assert hits('"überkick"') == hits('"uberkick"') == [("k", "/lib/Drums/Überkick 01.wav")]
        # Every present path is searchable and the hit says which one; a missing path is not.
        assert hits('"boom"') == [("k", "/lib/Copies/boom.wav")]
        assert hits('"vanished"') == [] and hits('"readme"') == []
        assert hits('"cafe"') == hits('"café"') == [("s", "/lib/ドラム/snare.wav")]
        assert hits('"キック"') == hits('"ドラム"') == hits('"crisp"') == [("s", "/lib/ドラム/snare.wav")]
        # The sure analysed category reaches every path of the stem.
        assert hits('"boom" AND "catkick"') == [("k", "/lib/Copies/boom.wav")]
        # One entry per stem: its best-matching path.
        assert hits('"boom" OR "überkick" OR "01"') == [("k", "/lib/Drums/Überkick 01.wav")]
        assert_index_in_step(catalog)


def test_loudness_facts_are_written_and_filtered(db, tmp_path):
    loud, _ = record("/lib/loud.wav", facts={"loudness_lufs": -8.0, "true_peak_dbfs": -0.1,
                                            "quality_issues": ["clipping"], "quality_ok": False})
    soft, _ = record("/lib/soft.wav", facts={"loudness_lufs": -30.0, "true_peak_dbfs": -12.0,
                                            "quality_issues": [], "quality_ok": True})
    soft.id = "0" * 64
    with Catalog(db) as catalog:
        outcomes = [record(s.path)[1].__class__(s.path, "indexed", s.id) for s in (loud, soft)]
        catalog.write_batch([loud, soft], outcomes, [(s.id, vector(i), [], "m") for i, s in enumerate((loud, soft))])
        assert catalog.select_ids(StemFilter(min_lufs=-12)) == [loud.id]
        assert catalog.select_ids(StemFilter(max_lufs=-12)) == [soft.id]
        assert catalog.select_ids(StemFilter(min_lufs=-40, max_lufs=-20, quality_ok=True)) == [soft.id]
        row = catalog.stem(loud.id)
        assert row["true_peak_dbfs"] == -0.1 and json.loads(row["quality_issues"]) == ["clipping"]


def test_released_migrations_do_not_run_live_document_code(db, monkeypatch):
    """Migrations 1–3 must do what they did when released, whatever documents.py becomes."""
    _old_catalog(db, 1)

    def broken(*args, **kwargs):
        raise AssertionError("a migration called live document code")

    monkeypatch.setattr(documents, "path_document", broken)
    monkeypatch.setattr("traum.vocabulary.words", broken)
    conn = connect(db)
    assert migrate(conn) == MIGRATIONS[-1][0]
    assert conn.execute("SELECT count(*) FROM paths_fts WHERE paths_fts MATCH 'drums'").fetchone()[0] == 0
    conn.close()


def test_changed_document_code_rebuilds_documents_on_open(db, monkeypatch):
    _old_catalog(db, 2)
    Catalog(db).close()
    monkeypatch.setattr(documents, "DOCUMENT_VERSION", documents.DOCUMENT_VERSION + 1)
    monkeypatch.setattr("traum.catalog.store.DOCUMENT_VERSION", documents.DOCUMENT_VERSION)
    monkeypatch.setattr("traum.catalog.store.path_document", lambda path, *a: "renamed")
    with Catalog(db, readonly=True) as catalog:  # a read-only open upgrades through a writable one
        assert {s[0] for s, _score, _p in catalog.lexical('"renamed"')} == {"k", "s"}
        documents_now = dict(catalog.conn.execute("SELECT file_path, search_text FROM processing_status"))
        assert documents_now == {"/lib/Drums/Überkick 01.wav": "renamed", "/lib/Copies/boom.wav": "renamed",
                                 "/lib/ドラム/snare.wav": "renamed", "/lib/gone/vanished kick.wav": "",
                                 "/lib/readme.txt": ""}


def test_a_forgotten_stem_takes_its_facts_map_point_and_collection_membership_with_it(db):
    _old_catalog(db, 2)
    with Catalog(db) as catalog, catalog.transaction() as conn:
        stem = "s" * 64
        conn.execute("INSERT INTO stem_facts VALUES (?, 'brightness', '0.5', 'example')", (stem,))
        conn.execute("INSERT INTO map_points VALUES (?, 'm', 0.1, 0.2, 1)", (stem,))
        conn.execute("INSERT INTO collections (id, name, created_at) VALUES (1, 'Kit', 'now')")
        conn.execute("INSERT INTO collection_items VALUES (1, ?, 0, 'now')", (stem,))
        conn.execute("DELETE FROM stems WHERE id = ?", (stem,))
        for table in ("stem_facts", "map_points", "collection_items"):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        assert conn.execute("SELECT count(*) FROM collections").fetchone()[0] == 1


@pytest.mark.parametrize("version", [1, 4])
def test_fact_indexes_are_upgraded_in_place(db, version):
    """Schema 5 replaces the tempo and category indexes by covering ones, keeping every other index,
    on a populated catalog of any older version; filters find the same stems through them."""
    _old_catalog(db, version)
    conn = connect(db)
    conn.execute("UPDATE stems SET bpm = 120, category = 'snare' WHERE id = ?", ("s" * 64,))
    conn.commit()
    conn.close()
    with Catalog(db) as catalog:
        indexes = {r[0] for r in catalog.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND "
                                                     "tbl_name = 'stems' AND sql IS NOT NULL")}
        assert indexes == {"idx_stems_category_bpm", "idx_stems_bpm_id", "idx_stems_key", "idx_stems_quality",
                           "idx_stems_imported_at", "idx_stems_path", "idx_stems_loudness"}
        assert catalog.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert catalog.select_ids(StemFilter(bpm_spans=((118.0, 122.0),), category="snare")) == ["s" * 64]
        assert catalog.select_ids(StemFilter(category="kick")) == ["k" * 64]
        assert catalog.select_ids(StemFilter(bpm_spans=((118.0, 122.0),))) == ["s" * 64]
