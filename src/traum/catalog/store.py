"""Sample-specific tables and queries on top of :mod:`traum.catalog.db`.

Two ideas shape the schema (docs/catalog.md): a *stem* is a distinct content (id = SHA-256), analysed
and embedded once; ``processing_status`` has a row per *path*, linking it to its stem and recording
how its processing went. Identical files at two paths share one stem.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import numpy as np

from traum.catalog import db
from traum.catalog import migrations as _migrations  # noqa: F401 - registers the migrations
from traum.catalog.documents import DOCUMENT_VERSION, path_document
from traum.catalog.facts import conditions_sql, write_stem_facts
from traum.catalog.filters import KEY_ORDER_SQL, StemFilter
from traum.catalog.paths import from_db, to_db
from traum.errors import CatalogError

STATUSES = ("indexed", "pending", "failed", "skipped", "missing")
#: A path whose content is in the catalog and on disk.
PRESENT = ("indexed", "pending")
EMBEDDING_DTYPE = np.float32


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def to_blob(vector: np.ndarray) -> bytes:
    return np.ascontiguousarray(vector, dtype=EMBEDDING_DTYPE).tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=EMBEDDING_DTYPE)


@dataclass(frozen=True, slots=True)
class FileState:
    """What the catalog remembers about a path."""

    path: str
    file_hash: str | None
    status: str
    file_size: int | None
    mtime_ns: int | None
    retry_count: int
    error_message: str | None
    checkpoint: dict[str, Any]


@dataclass(slots=True)
class StemRecord:
    """A new or re-analysed stem, as the pipeline hands it to :meth:`Catalog.write_batch`."""

    id: str
    path: str
    file_size: int
    duration: float
    sample_rate: int
    channels: int
    bit_depth: int | None
    format: str
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PathOutcome:
    """The status row to write for one path."""

    path: str
    status: str
    file_hash: str | None = None
    file_size: int | None = None
    mtime_ns: int | None = None
    error: str | None = None
    processing_time: float | None = None
    checkpoint: dict[str, Any] | None = None


#: Analysis columns a StemRecord's ``facts`` may fill (JSON-encoded when not scalar).
FACT_COLUMNS = ("bpm", "key", "tempo_confidence", "category", "category_confidence", "tags",
                "spectral_features", "temporal_features", "harmonic_features", "quality_ok",
                "quality_score", "noise_level", "dynamic_range", "loudness_lufs", "true_peak_dbfs",
                "quality_issues")
#: Matching paths a name query ranks by BM25, newest first (Catalog.lexical): a word in more paths
#: than this names a tenth of a 200,000-path library, and ranking all its matches costs ~3 µs each.
LEXICAL_RANK_AT_MOST = 20_000
#: Tables a Traum catalog has; a database with other tables but not these belongs to someone else.
OWN_TABLES = ("stems", "processing_status", "meta")


class Catalog:
    """A sample catalog in one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        if readonly and not self.path.exists():
            from traum.errors import InputNotFound

            # A usage error (exit 2), as grep's for a missing file: nothing was read, nothing to retry.
            raise InputNotFound(f"no catalog at {self.path}; run `traum index FOLDER` first or pass --db",
                                path=str(self.path), reason="does not exist")
        if readonly and self.path.is_file() and self.path.stat().st_size == 0:
            raise CatalogError(f"{self.path} is an empty file, not a catalog yet; run `traum index FOLDER --db "
                               f"{self.path}` to make it one, or pass the right --db")
        if not readonly and self.path.is_file() and self.path.stat().st_size > 0:
            # Look before writing: opening read-write switches the file to WAL, a change to someone
            # else's database.
            with contextlib.closing(db.connect(self.path, readonly=True)) as probe, db.sqlite_errors(self.path):
                _check_ours(probe, self.path)
        self.conn = db.connect(self.path, readonly=readonly)
        self.conn.isolation_level = None  # transactions are explicit (db.transaction)
        try:
            with db.sqlite_errors(self.path):
                _check_ours(self.conn, self.path)
                if readonly:
                    self._upgrade_elsewhere_if_needed()
                else:
                    db.migrate(self.conn)
                    if self.get_meta("document_version") != DOCUMENT_VERSION:
                        self.refresh_documents()
        except BaseException:
            self.conn.close()
            raise

    def _upgrade_elsewhere_if_needed(self) -> None:
        """A read-only open of a catalog from an older Traum: upgrade it once through a writable
        connection; where that is impossible, say so (its queries would fail on the old schema)."""
        current = db.schema_version(self.conn)
        if current == db.MIGRATIONS[-1][0] and self.get_meta("document_version") == DOCUMENT_VERSION:
            return
        try:
            Catalog(self.path).close()
        except CatalogError as err:
            raise CatalogError(f"catalog {self.path} is from an older Traum and cannot be upgraded here ({err}); "
                               "run `traum index` once with write access") from err

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a full disk or a read-only file becomes a :class:`CatalogError` line."""
        with db.sqlite_errors(self.path), db.transaction(self.conn) as conn:
            yield conn

    # -- meta --------------------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                          "excluded.value", (key, json.dumps(value)))

    # -- paths ------------------------------------------------------------------------------------

    def file_state(self, path: str) -> FileState | None:
        row = self.conn.execute("SELECT * FROM processing_status WHERE file_path = ?", (to_db(path),)).fetchone()
        if row is None:
            return None
        return FileState(from_db(row["file_path"]), row["file_hash"], row["status"], row["file_size"], row["mtime_ns"],
                         row["retry_count"], row["error_message"], json.loads(row["checkpoint_data"] or "{}"))

    def paths_under(self, roots: Iterable[str], statuses: Iterable[str] = STATUSES) -> Iterator[str]:
        """Paths at or below each root. Text rows compare by characters and BLOB rows (non-UTF-8
        names, :mod:`traum.catalog.paths`) by bytes, so a root finds both kinds."""
        statuses = tuple(statuses)
        marks = ",".join("?" * len(statuses))
        for root in roots:
            prefix = root.rstrip(os.sep) + os.sep
            text_root, text_prefix = to_db(root), to_db(prefix)
            byte_root, byte_prefix = os.fsencode(root), os.fsencode(prefix)
            rows = self.conn.execute(
                f"SELECT file_path FROM processing_status WHERE status IN ({marks}) AND ("
                "(typeof(file_path) = 'text' AND (file_path = ? OR substr(file_path, 1, ?) = ?)) OR "
                "(typeof(file_path) = 'blob' AND (file_path = ? OR substr(file_path, 1, ?) = ?)))",
                (*statuses, text_root, len(prefix), text_prefix, byte_root, len(byte_prefix), byte_prefix))
            yield from (from_db(r[0]) for r in rows)

    # -- stems ------------------------------------------------------------------------------------

    def stem_embedded_with(self, stem_id: str) -> str | bool | None:
        """False if there is no such stem; else the model id of its embedding (None if pending)."""
        row = self.conn.execute("SELECT embedding_model, clap_embedding IS NOT NULL FROM stems WHERE id = ?",
                                (stem_id,)).fetchone()
        if row is None:
            return False
        return row[0] if row[1] else None

    def pending_stems(self, model_id: str | None = None) -> list[tuple[str, str]]:
        """(stem id, a present path) for stems without an embedding from ``model_id``."""
        rows = self.conn.execute(
            "SELECT s.id, p.file_path FROM stems s JOIN processing_status p ON p.file_hash = s.id "
            "WHERE p.status IN ('indexed', 'pending') AND (s.clap_embedding IS NULL OR "
            "(? IS NOT NULL AND s.embedding_model IS NOT ?)) GROUP BY s.id", (model_id, model_id))
        return [(r[0], from_db(r[1])) for r in rows]

    def write_batch(self, stems: Iterable[StemRecord] = (), outcomes: Iterable[PathOutcome] = (),
                    embeddings: Iterable[tuple[str, np.ndarray, list[tuple[float, np.ndarray]], str]] = ()) -> None:
        """Write a batch of results in one transaction: all of it lands, or none of it.
        ``embeddings``: (stem id, pooled vector, window vectors, model id)."""
        with self.transaction():
            for stem in stems:
                self._upsert_stem(stem)
                write_stem_facts(self.conn, stem.id, stem.facts)
            for stem_id, vector, windows, model in embeddings:
                self._set_embedding(stem_id, vector, windows, model)
            for outcome in outcomes:
                self._write_outcome(outcome)
            self._bump_generation()

    def _bump_generation(self) -> None:
        """Search indexes compare this counter to know whether to sync with the catalog."""
        self.conn.execute("INSERT INTO meta(key, value) VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE "
                          "SET value = CAST(value AS INTEGER) + 1")

    @property
    def generation(self) -> int:
        return int(self.get_meta("generation", 0))

    def _upsert_stem(self, stem: StemRecord) -> None:
        from traum.settings import PROCESSING_VERSION

        facts = {k: _sql_value(stem.facts.get(k)) for k in FACT_COLUMNS}
        columns = ["id", "path", "filename", "file_size", "duration", "sample_rate", "channels", "bit_depth",
                   "format", *FACT_COLUMNS, "imported_at", "processing_version"]
        values = [stem.id, to_db(stem.path), to_db(os.path.basename(stem.path)), stem.file_size, stem.duration,
                  stem.sample_rate, stem.channels, stem.bit_depth, stem.format, *facts.values(), now(),
                  PROCESSING_VERSION]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:] if c != "imported_at")
        self.conn.execute(f"INSERT INTO stems ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                          f"ON CONFLICT(id) DO UPDATE SET {updates}", values)
        self._refresh_documents("p.file_hash = ?", (stem.id,))

    def refresh_documents(self) -> None:
        """Rebuild every path's lexical search document (after :data:`DOCUMENT_VERSION` changed)."""
        with self.transaction():
            self._refresh_documents("1", ())
            self.set_meta("document_version", DOCUMENT_VERSION)

    def _document(self, path: str, stem_id: str | None, status: str) -> str:
        if status not in PRESENT:
            return ""
        row = self.conn.execute("SELECT tags, user_tags, category, category_confidence FROM stems WHERE id = ?",
                                (stem_id,)).fetchone()
        return path_document(path, *(row or ()))

    def _refresh_documents(self, where: str, params: tuple[Any, ...]) -> None:
        """A present path's document is its words and its stem's tags and sure category; other paths
        have none, so lexical search never sees a missing or failed file."""
        rows = self.conn.execute(
            "SELECT p.id, p.file_path, p.status, p.search_text, s.tags, s.user_tags, s.category, "
            f"s.category_confidence FROM processing_status p LEFT JOIN stems s ON s.id = p.file_hash WHERE {where}",
            params).fetchall()
        for row_id, stored_path, status, old, *stem_fields in rows:
            text = path_document(from_db(stored_path), *stem_fields) if status in PRESENT else ""
            if text != old:
                self.conn.execute("UPDATE processing_status SET search_text = ? WHERE id = ?", (text, row_id))

    def _set_embedding(self, stem_id: str, vector: np.ndarray, windows: list[tuple[float, np.ndarray]],
                       model_id: str) -> None:
        self.conn.execute("UPDATE stems SET clap_embedding = ?, embedding_model = ? WHERE id = ?",
                          (to_blob(vector), model_id, stem_id))
        self.conn.execute("DELETE FROM stem_windows WHERE stem_id = ?", (stem_id,))
        if len(windows) > 1:
            self.conn.executemany("INSERT INTO stem_windows (stem_id, offset, embedding) VALUES (?, ?, ?)",
                                  [(stem_id, float(off), to_blob(vec)) for off, vec in windows])
        self.conn.execute("UPDATE processing_status SET status = 'indexed' WHERE file_hash = ? AND status = "
                          "'pending'", (stem_id,))

    def _write_outcome(self, o: PathOutcome) -> None:
        stored = to_db(o.path)
        previous = self.conn.execute("SELECT file_hash, retry_count FROM processing_status WHERE file_path = ?",
                                     (stored,)).fetchone()
        status = o.status
        if status == "indexed" and o.file_hash and self.stem_embedded_with(o.file_hash) is None:
            status = "pending"
        retries = (previous["retry_count"] + 1 if previous else 1) if status == "failed" else 0
        # The document goes in with the row: the FTS trigger indexes it once, not '' then the words.
        self.conn.execute(
            "INSERT INTO processing_status (file_path, file_hash, status, last_attempt, retry_count, "
            "error_message, processing_time, checkpoint_data, file_size, mtime_ns, search_text) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(file_path) DO UPDATE SET file_hash = excluded.file_hash, status = excluded.status, "
            "last_attempt = excluded.last_attempt, retry_count = excluded.retry_count, error_message = "
            "excluded.error_message, processing_time = excluded.processing_time, checkpoint_data = "
            "excluded.checkpoint_data, file_size = excluded.file_size, mtime_ns = excluded.mtime_ns, "
            "search_text = excluded.search_text",
            (stored, o.file_hash, status, now(), retries, o.error, o.processing_time,
             json.dumps(o.checkpoint) if o.checkpoint else None, o.file_size, o.mtime_ns,
             self._document(o.path, o.file_hash, status)))
        if previous and previous["file_hash"] and previous["file_hash"] != o.file_hash:
            self._forget_if_orphaned(previous["file_hash"])
        if o.file_hash and status in PRESENT:
            self.conn.execute(
                "UPDATE stems SET path = ?, filename = ? WHERE id = ? AND path NOT IN (SELECT file_path FROM "
                "processing_status WHERE file_hash = ? AND status IN ('indexed', 'pending'))",
                (stored, to_db(os.path.basename(o.path)), o.file_hash, o.file_hash))

    def _forget_if_orphaned(self, stem_id: str) -> None:
        """A path's content changed: drop the old stem unless another path still refers to it."""
        self.conn.execute("DELETE FROM stems WHERE id = ? AND NOT EXISTS (SELECT 1 FROM processing_status "
                          "WHERE file_hash = ?)", (stem_id, stem_id))

    def mark_missing(self, paths: Iterable[str]) -> int:
        """Files gone from disk: kept, marked missing, and no longer a stem's shown path."""
        paths = list(paths)
        with self.transaction():
            if paths:
                self._bump_generation()
            for path in paths:
                stored = to_db(path)
                row = self.conn.execute("UPDATE processing_status SET status = 'missing', last_attempt = ? "
                                        "WHERE file_path = ? RETURNING file_hash", (now(), stored)).fetchone()
                self._refresh_documents("p.file_path = ?", (stored,))
                if row and row[0]:
                    self._repoint_stem(row[0], stored)
        return len(paths)

    def _repoint_stem(self, stem_id: str, gone: str | bytes) -> None:
        alive = self.conn.execute("SELECT file_path FROM processing_status WHERE file_hash = ? AND status IN "
                                  "('indexed', 'pending') ORDER BY file_path LIMIT 1", (stem_id,)).fetchone()
        if alive:
            name = to_db(os.path.basename(from_db(alive[0])))
            self.conn.execute("UPDATE stems SET path = ?, filename = ? WHERE id = ? AND path = ?",
                              (alive[0], name, stem_id, gone))

    # -- reading ------------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for status, n in self.conn.execute("SELECT status, count(*) FROM processing_status GROUP BY status"):
            counts[status] = n
        return counts

    def stem_count(self, *, embedded_only: bool = False) -> int:
        where = "WHERE clap_embedding IS NOT NULL" if embedded_only else ""
        return int(self.conn.execute(f"SELECT count(*) FROM stems {where}").fetchone()[0])

    def stems(self, ids: Iterable[str] | None = None, *, present_only: bool = True) -> list[dict[str, Any]]:
        sql = "SELECT * FROM stems s"
        clauses: list[str] = []
        params: list[Any] = []
        if present_only:
            clauses.append(_PRESENT_SQL)
        if ids is not None:
            ids = list(ids)
            clauses.append(f"s.id IN ({','.join('?' * len(ids))})")
            params += ids
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        return [_stem_dict(r) for r in self.conn.execute(sql, params)]

    def stem(self, stem_id: str) -> dict[str, Any] | None:
        found = self.stems([stem_id], present_only=False)
        return found[0] if found else None

    def embeddings(self, model_id: str | None = None) -> tuple[list[str], np.ndarray]:
        """Ids and stacked vectors of every present, embedded stem (optionally of one model)."""
        sql = f"SELECT s.id, s.clap_embedding FROM stems s WHERE s.clap_embedding IS NOT NULL AND {_PRESENT_SQL}"
        params: tuple[Any, ...] = ()
        if model_id:
            sql += " AND s.embedding_model = ?"
            params = (model_id,)
        ids, vectors = [], []
        for stem_id, blob in self.conn.execute(sql, params):
            ids.append(stem_id)
            vectors.append(from_blob(blob))
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=EMBEDDING_DTYPE)
        return ids, matrix

    def embedding_models(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT embedding_model, count(*) FROM stems WHERE embedding_model IS NOT NULL "
                                 "GROUP BY embedding_model")
        return {r[0]: r[1] for r in rows}

    def embedded_ids(self) -> set[str]:
        """Ids of present stems that have an embedding."""
        rows = self.conn.execute(f"SELECT s.id FROM stems s WHERE s.clap_embedding IS NOT NULL AND {_PRESENT_SQL}")
        return {r[0] for r in rows}

    def vectors(self, ids: Iterable[str]) -> dict[str, tuple[np.ndarray, list[tuple[float, np.ndarray]]]]:
        """Pooled vector and window vectors (empty for files of one window) per stem id."""
        out: dict[str, tuple[np.ndarray, list[tuple[float, np.ndarray]]]] = {}
        ids = list(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for stem_id, blob in self.conn.execute(f"SELECT id, clap_embedding FROM stems WHERE id IN ({marks}) "
                                                   "AND clap_embedding IS NOT NULL", chunk):
                out[stem_id] = (from_blob(blob), [])
            for stem_id, offset, blob in self.conn.execute(f"SELECT stem_id, offset, embedding FROM stem_windows "
                                                           f"WHERE stem_id IN ({marks}) ORDER BY stem_id, offset",
                                                           chunk):
                if stem_id in out:
                    out[stem_id][1].append((offset, from_blob(blob)))
        return out

    def select_ids(self, filters: StemFilter, *, sort: str | None = None, descending: bool = False,
                   present_only: bool = True) -> list[str]:
        """Ids of present stems matching ``filters``; ordered by one of :data:`SORTS` (unknown samples last).
        ``present_only=False`` also gives stems whose every path is gone, for a caller that meets only
        present stems anyway: it saves a probe per matching stem (~4 µs; 0.1 s for 24,000 at 1M)."""
        where, params = _filter_sql(filters)
        order = ""
        if sort is not None:
            column = SORTS[sort]
            direction = "DESC" if descending else "ASC"
            order = f" ORDER BY {column} IS NULL, {column} {direction}, s.filename COLLATE NOCASE, s.id"
        present = f" AND {_PRESENT_SQL}" if present_only else ""
        return [r[0] for r in self.conn.execute(f"SELECT s.id FROM stems s WHERE ({where}){present}{order}", params)]

    # -- the producer's own marks -------------------------------------------------------------------

    def set_rating(self, stem_id: str, rating: int | None) -> None:
        """0 or None clears the rating."""
        with self.transaction():
            self.conn.execute("UPDATE stems SET user_rating = ? WHERE id = ?", (rating or None, stem_id))

    def set_user_tags(self, stem_id: str, tags: list[str]) -> list[str]:
        """Replace a stem's own tags (trimmed, de-duplicated, order kept); they join its search words."""
        clean = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
        with self.transaction():
            self.conn.execute("UPDATE stems SET user_tags = ? WHERE id = ?", (json.dumps(clean), stem_id))
            self._refresh_documents("p.file_hash = ?", (stem_id,))
        return clean

    def record_play(self, stem_id: str) -> None:
        with self.transaction():
            self.conn.execute("UPDATE stems SET usage_count = usage_count + 1, last_accessed = ? WHERE id = ?",
                              (now(), stem_id))

    def lexical(self, match: str, limit: int = 500, *,
                rank_at_most: int | None = LEXICAL_RANK_AT_MOST) -> list[tuple[str, float, str]]:
        """(stem id, BM25 relevance (higher is better), the path that matched best) for an FTS5 MATCH
        expression over the documents of present paths; one entry per stem, best first, equal scores
        newest path first. Only the newest ``rank_at_most`` matching paths are ranked (None: all):
        BM25 costs the same for every match, so a word in a tenth of a million paths took ~1 s to
        rank in full; FTS5 stops reading the matches at the cap (docs/scale.md)."""
        # The window is the inner query (FTS5 walks its rowids newest first and stops at the cap);
        # ranking after the join with the presence check would score every match first.
        rows = self.conn.execute(
            "SELECT p.file_hash, -m.score, p.file_path FROM (SELECT rowid, score FROM (SELECT rowid, rank AS score "
            "FROM paths_fts WHERE paths_fts MATCH ? ORDER BY rowid DESC LIMIT ?) ORDER BY score, rowid DESC LIMIT ?) m "
            "JOIN processing_status p ON p.id = m.rowid "
            "WHERE p.status IN ('indexed', 'pending') AND p.file_hash IS NOT NULL ORDER BY m.score, p.file_path",
            (match, -1 if rank_at_most is None else rank_at_most, limit))
        best: dict[str, tuple[float, str]] = {}
        for stem_id, score, stored in rows:
            best.setdefault(stem_id, (float(score), from_db(stored)))
        return [(stem_id, score, path) for stem_id, (score, path) in best.items()]

    def stem_by_path(self, path: str) -> str | None:
        row = self.conn.execute("SELECT file_hash FROM processing_status WHERE file_path = ? AND status IN "
                                "('indexed', 'pending')", (to_db(path),)).fetchone()
        return row[0] if row else None

    def exact_duplicates(self) -> list[list[str]]:
        """Groups of present paths with the same content, each sorted, groups by their first path."""
        groups: dict[str, list[str]] = {}
        for stem_id, stored in self.conn.execute("SELECT file_hash, file_path FROM processing_status WHERE status "
                                                 "IN ('indexed', 'pending') AND file_hash IN (SELECT file_hash FROM "
                                                 "processing_status WHERE status IN ('indexed', 'pending') "
                                                 "GROUP BY file_hash HAVING count(*) > 1)"):
            groups.setdefault(stem_id, []).append(from_db(stored))
        return sorted((sorted(paths) for paths in groups.values()), key=lambda paths: paths[0])

    def failures(self, limit: int = 20) -> list[tuple[str, str, str]]:
        rows = self.conn.execute("SELECT file_path, status, error_message FROM processing_status WHERE status IN "
                                 "('failed', 'skipped') ORDER BY status, file_path LIMIT ?", (limit,))
        return [(from_db(r[0]), r[1], r[2]) for r in rows]

    def paths_of(self, stem_id: str) -> list[str]:
        rows = self.conn.execute("SELECT file_path FROM processing_status WHERE file_hash = ? AND status IN "
                                 "('indexed', 'pending') ORDER BY file_path", (stem_id,))
        return [from_db(r[0]) for r in rows]

    def path_embeddings(self) -> tuple[list[str], list[str], np.ndarray]:
        """(paths, stem ids, vectors), one row per present path of an embedded stem, by path: a file
        at two paths is two rows with the same vector."""
        paths, ids, vectors = [], [], []
        for stored, stem_id, blob in self.conn.execute(
                "SELECT p.file_path, s.id, s.clap_embedding FROM processing_status p JOIN stems s ON s.id = "
                "p.file_hash WHERE p.status IN ('indexed', 'pending') AND s.clap_embedding IS NOT NULL "
                "ORDER BY p.file_path"):
            paths.append(from_db(stored))
            ids.append(stem_id)
            vectors.append(from_blob(blob))
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=EMBEDDING_DTYPE)
        return paths, ids, matrix


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse another program's database (Traum must never add its tables to it) and a catalog from a
    newer Traum, before anything is read or written."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and not set(OWN_TABLES) <= tables:
        shown = ", ".join(sorted(tables)[:5])
        raise CatalogError(f"{path} is not a Traum catalog (it holds other tables: {shown}); pass another --db")
    version, latest = db.schema_version(conn), db.MIGRATIONS[-1][0]
    if version > latest:
        raise CatalogError(f"catalog {path} has schema version {version}, newer than this Traum knows ({latest}); "
                           "upgrade Traum")


_PRESENT_SQL = ("EXISTS (SELECT 1 FROM processing_status p WHERE p.file_hash = s.id "
                "AND p.status IN ('indexed', 'pending'))")


#: Sort names → the column they order by (a whitelist: no caller text reaches ORDER BY).
SORTS = {"name": "s.filename COLLATE NOCASE", "duration": "s.duration", "bpm": "s.bpm", "key": KEY_ORDER_SQL,
         "loudness": "s.loudness_lufs", "rating": "s.user_rating", "added": "s.imported_at"}


def _filter_sql(f: StemFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = ["1"]
    params: list[Any] = []
    if f.bpm_spans:
        # Each span carries the category: SQLite then searches (category, bpm) once per span (half and
        # double time) instead of reading every sample of the category.
        also = ("s.category = ? AND ", [f.category]) if f.category is not None else ("", [])
        clauses.append("(" + " OR ".join(f"({also[0]}s.bpm BETWEEN ? AND ?)" for _ in f.bpm_spans) + ")")
        params += [x for span in f.bpm_spans for x in (*also[1], *span)]
    if f.keys:
        clauses.append(f"s.key IN ({','.join('?' * len(f.keys))})")
        params += list(f.keys)
    category = None if f.bpm_spans else f.category
    for column, op, value in (("s.category", "=", category), ("s.duration", ">=", f.min_duration),
                              ("s.duration", "<=", f.max_duration), ("s.loudness_lufs", ">=", f.min_lufs),
                              ("s.loudness_lufs", "<=", f.max_lufs)):
        if value is not None:
            clauses.append(f"{column} {op} ?")
            params.append(value)
    if f.loop is not None:
        clauses.append("s.bpm IS NOT NULL" if f.loop else "s.bpm IS NULL")
    if f.quality_ok is not None:
        clauses.append("s.quality_ok = ?")
        params.append(int(f.quality_ok))
    if f.id_prefix:
        clauses.append("s.id LIKE ?")
        params.append(f.id_prefix.lower().strip("%_") + "%")
    if f.collection is not None:
        clauses.append("s.id IN (SELECT i.stem_id FROM collection_items i JOIN collections c "
                       "ON c.id = i.collection_id WHERE c.name = ?)")
        params.append(f.collection)
    if f.facts:
        sql, values = conditions_sql(f.facts)
        clauses.append(sql)
        params += values
    return " AND ".join(clauses), params


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, (int, float, str, bytes)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    return json.dumps(value, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _stem_dict(row: sqlite3.Row) -> dict[str, Any]:
    record = dict(row)
    record.pop("clap_embedding", None)
    record["path"], record["filename"] = from_db(record["path"]), from_db(record["filename"])
    return record
