"""The catalog schema, one named migration per version. Never edit a released migration: add one."""

from __future__ import annotations

import sqlite3

from traum.catalog.db import migration


@migration(1, "initial")
def _initial(conn: sqlite3.Connection) -> None:
    _run_script(conn, """
        -- One row per distinct content, id = SHA-256 of the file's bytes (docs/catalog.md).
        CREATE TABLE stems (
            id TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            filename TEXT NOT NULL,
            file_size INTEGER,
            duration REAL,
            sample_rate INTEGER,
            channels INTEGER,
            bit_depth INTEGER,
            format TEXT,
            bpm REAL,
            key TEXT,
            tempo_confidence REAL,
            category TEXT,
            category_confidence REAL,
            tags TEXT,
            spectral_features TEXT,
            temporal_features TEXT,
            harmonic_features TEXT,
            quality_ok INTEGER,
            quality_score REAL,
            noise_level REAL,
            dynamic_range REAL,
            user_rating INTEGER,
            user_tags TEXT,
            usage_count INTEGER NOT NULL DEFAULT 0,
            imported_at TEXT NOT NULL,
            last_accessed TEXT,
            processing_version INTEGER,
            clap_embedding BLOB,
            embedding_model TEXT
        );
        -- Files longer than one model window: a vector per window, for best-window search.
        CREATE TABLE stem_windows (
            stem_id TEXT NOT NULL REFERENCES stems(id) ON DELETE CASCADE,
            offset REAL NOT NULL,
            embedding BLOB NOT NULL,
            PRIMARY KEY (stem_id, offset)
        );
        -- One row per path ever seen: the indexing ledger, and the link from paths to content.
        CREATE TABLE processing_status (
            file_path TEXT PRIMARY KEY,
            file_hash TEXT,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'pending', 'failed', 'skipped', 'missing')),
            last_attempt TEXT,
            retry_count INTEGER NOT NULL DEFAULT 0,
            error_message TEXT,
            processing_time REAL,
            checkpoint_data TEXT,
            file_size INTEGER,
            mtime_ns INTEGER
        );
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE INDEX idx_stems_category ON stems(category);
        CREATE INDEX idx_stems_bpm ON stems(bpm);
        CREATE INDEX idx_stems_key ON stems(key);
        CREATE INDEX idx_stems_quality ON stems(quality_ok, quality_score);
        CREATE INDEX idx_stems_imported_at ON stems(imported_at);
        CREATE INDEX idx_stems_path ON stems(path);
        CREATE INDEX idx_status_status ON processing_status(status);
        CREATE INDEX idx_status_hash ON processing_status(file_hash);
        """)


@migration(2, "lexical search")
def _lexical_search(conn: sqlite3.Connection) -> None:
    """Full-text search (FTS5, BM25) over a per-stem document of name words, tags and category tokens,
    kept in step with ``stems`` by triggers."""
    _run_script(conn, """
        ALTER TABLE stems ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
        CREATE VIRTUAL TABLE stems_fts USING fts5(search_text, content='stems', content_rowid='rowid',
                                                  tokenize='unicode61')
        """)
    # Fill the documents, then build the index from them, before triggers start mirroring changes:
    # a trigger's 'delete' of a document the index never had corrupts an external-content table.
    _refresh_search_text(conn)
    conn.execute("INSERT INTO stems_fts(stems_fts) VALUES ('rebuild')")
    _run_script(conn, """
        CREATE TRIGGER stems_fts_insert AFTER INSERT ON stems BEGIN
            INSERT INTO stems_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
        END;
        CREATE TRIGGER stems_fts_delete AFTER DELETE ON stems BEGIN
            INSERT INTO stems_fts(stems_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
        END;
        CREATE TRIGGER stems_fts_update AFTER UPDATE OF search_text ON stems BEGIN
            INSERT INTO stems_fts(stems_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
            INSERT INTO stems_fts(rowid, search_text) VALUES (new.rowid, new.search_text);
        END
        """)


def _refresh_search_text(conn: sqlite3.Connection) -> None:
    rows = conn.execute("SELECT id, path, tags, user_tags, category, category_confidence FROM stems").fetchall()
    for stem_id, *fields in rows:
        conn.execute("UPDATE stems SET search_text = ? WHERE id = ?", (_v2_document(*fields), stem_id))


def _v2_document(path: str, tags: str | None, user_tags: str | None, category: str | None,
                 confidence: float | None) -> str:
    """The per-stem document exactly as version 2 built it, frozen here: live documents live in
    :mod:`traum.catalog.documents` and may change without changing what this migration did."""
    import json
    import re

    from traum.vocabulary import categories_in, category_token

    def words(text: str) -> list[str]:
        return re.findall(r"[a-z]+|\d+", text.lower())

    def tag_list(value: str | None) -> list[str]:
        if not value:
            return []
        try:
            parsed = json.loads(value)
        except ValueError:
            return [value]
        return [str(t) for t in parsed] if isinstance(parsed, list) else [str(parsed)]

    parts = re.split(r"[\\/]", path)[-4:]
    tokens = words(" ".join([*parts[:-1], parts[-1].rsplit(".", 1)[0]]))
    for tag in tag_list(tags) + tag_list(user_tags):
        tokens += words(tag)
    sure = category if category and (confidence or 0) >= 0.7 else None
    cats = categories_in(tokens) + ([sure] if sure else [])
    return " ".join(tokens + [category_token(c) for c in dict.fromkeys(cats)])


@migration(3, "loudness facts, per-path search documents")
def _per_path_documents(conn: sqlite3.Connection) -> None:
    """Loudness and quality facts on stems; the lexical index moves from one document per stem to one
    per path (every present path's words are searchable, and a hit says which path matched), with a
    tokenizer that folds accents ("Überkick", "café") and keeps any script's letters.

    ``processing_status`` is rebuilt with an INTEGER PRIMARY KEY: an external-content FTS5 table
    points at rowids, and VACUUM may renumber the implicit rowid of a table without one. Documents
    start empty; the live code fills them after migrating (see ``documents.DOCUMENT_VERSION``)."""
    _run_script(conn, """
        ALTER TABLE stems ADD COLUMN loudness_lufs REAL;
        ALTER TABLE stems ADD COLUMN true_peak_dbfs REAL;
        ALTER TABLE stems ADD COLUMN quality_issues TEXT;
        CREATE INDEX idx_stems_loudness ON stems(loudness_lufs);
        DROP TRIGGER stems_fts_insert;
        DROP TRIGGER stems_fts_delete;
        DROP TRIGGER stems_fts_update;
        DROP TABLE stems_fts;
        ALTER TABLE stems DROP COLUMN search_text;
        CREATE TABLE processing_status_v3 (
            id INTEGER PRIMARY KEY,
            file_path TEXT NOT NULL UNIQUE,
            file_hash TEXT,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'pending', 'failed', 'skipped', 'missing')),
            last_attempt TEXT,
            retry_count INTEGER NOT NULL DEFAULT 0,
            error_message TEXT,
            processing_time REAL,
            checkpoint_data TEXT,
            file_size INTEGER,
            mtime_ns INTEGER,
            search_text TEXT NOT NULL DEFAULT ''
        );
        INSERT INTO processing_status_v3 (file_path, file_hash, status, last_attempt, retry_count, error_message,
                                          processing_time, checkpoint_data, file_size, mtime_ns)
            SELECT file_path, file_hash, status, last_attempt, retry_count, error_message, processing_time,
                   checkpoint_data, file_size, mtime_ns FROM processing_status ORDER BY rowid;
        DROP TABLE processing_status;
        ALTER TABLE processing_status_v3 RENAME TO processing_status;
        CREATE INDEX idx_status_status ON processing_status(status);
        CREATE INDEX idx_status_hash ON processing_status(file_hash, status);
        CREATE VIRTUAL TABLE paths_fts USING fts5(search_text, content='processing_status', content_rowid='id',
                                                  tokenize='unicode61 remove_diacritics 2');
        -- Every row needs its (empty) entry before triggers mirror changes: a trigger's 'delete' of a
        -- row the index never had reads as a corrupt external-content table.
        INSERT INTO paths_fts(paths_fts) VALUES ('rebuild');
        CREATE TRIGGER paths_fts_insert AFTER INSERT ON processing_status BEGIN
            INSERT INTO paths_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END;
        CREATE TRIGGER paths_fts_delete AFTER DELETE ON processing_status BEGIN
            INSERT INTO paths_fts(paths_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        END;
        CREATE TRIGGER paths_fts_update AFTER UPDATE OF search_text ON processing_status
                WHEN old.search_text IS NOT new.search_text BEGIN
            INSERT INTO paths_fts(paths_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);
            INSERT INTO paths_fts(rowid, search_text) VALUES (new.id, new.search_text);
        END;
        DELETE FROM meta WHERE key = 'document_version'
        """)


@migration(4, "plugin facts, collections, sample map, run history")
def _extensions(conn: sqlite3.Connection) -> None:
    """Tables for what grows around the catalog: facts that plugins add (one row per stem and fact name,
    so any plugin's fact can be filtered without a schema change), producers' named collections, the
    2-D sample map's coordinates (per model: a map is a layout of one model's vectors), and a history
    of indexing runs (``meta.last_run`` kept only the last). Rows of a stem go with it (ON DELETE
    CASCADE): a forgotten content has no facts, place on the map or collection membership."""
    _run_script(conn, """
        CREATE TABLE stem_facts (
            stem_id TEXT NOT NULL REFERENCES stems(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            value TEXT NOT NULL,               -- JSON
            plugin TEXT NOT NULL,
            PRIMARY KEY (stem_id, name)
        );
        CREATE INDEX idx_stem_facts_name ON stem_facts(name, value);
        CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE COLLATE NOCASE,
            created_at TEXT NOT NULL
        );
        CREATE TABLE collection_items (
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            stem_id TEXT NOT NULL REFERENCES stems(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            added_at TEXT NOT NULL,
            PRIMARY KEY (collection_id, stem_id)
        );
        CREATE INDEX idx_collection_items_stem ON collection_items(stem_id);
        CREATE TABLE map_points (
            stem_id TEXT NOT NULL REFERENCES stems(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            x REAL NOT NULL,
            y REAL NOT NULL,
            layout INTEGER NOT NULL,           -- which fit placed it; a refit starts a new layout
            PRIMARY KEY (stem_id, model)
        );
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            executor TEXT NOT NULL DEFAULT 'local',
            report TEXT NOT NULL DEFAULT '{}'  -- JSON: counts, per-stage timings, errors
        )
        """)


@migration(5, "fact filters at a million stems")
def _covering_fact_indexes(conn: sqlite3.Connection) -> None:
    """Tempo and category filters read only an index. A stems row carries its 2 KB vector, so each
    row a filter visits costs a page read; with one index per column and no statistics SQLite took
    the category index (an equality looks more selective than a range) and visited every drum
    sample to test its tempo: 5 s at 1M stems (docs/scale.md). (category, bpm, id) answers category
    + tempo, and category alone, from the index; (bpm, id) a tempo alone. Each replaces the index it
    begins with, so no query loses an index and the catalog grows by the ids only."""
    _run_script(conn, """
        CREATE INDEX idx_stems_category_bpm ON stems(category, bpm, id);
        DROP INDEX idx_stems_category;
        CREATE INDEX idx_stems_bpm_id ON stems(bpm, id);
        DROP INDEX idx_stems_bpm
        """)


def _run_script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it COMMITs first, which would break the migration's transaction.
    # complete_statement() knows that a trigger's BEGIN … END holds semicolons of its own.
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                conn.execute(pending)
            pending = ""
