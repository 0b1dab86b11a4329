"""Connections, transactions and versioned migrations for an SQLite file.

WAL journaling lets a reader (search, the web UI) work while an indexer writes, and together with one
transaction per batch makes a kill at any moment lose at most the batch in flight.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from traum.errors import CatalogError

log = logging.getLogger(__name__)

Migration = Callable[[sqlite3.Connection], None]
#: (version, name, function) in order; PRAGMA user_version records the last one applied.
MIGRATIONS: list[tuple[int, str, Migration]] = []


def migration(version: int, name: str) -> Callable[[Migration], Migration]:
    """Register a schema migration; versions must be consecutive."""

    def register(fn: Migration) -> Migration:
        if MIGRATIONS and MIGRATIONS[-1][0] != version - 1:
            raise RuntimeError(f"migration {version} {name!r} does not follow {MIGRATIONS[-1][0]}")
        MIGRATIONS.append((version, name, fn))
        return fn

    return register


def connect(path: str | Path, *, readonly: bool = False) -> sqlite3.Connection:
    path = Path(path)
    try:
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        if not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
            conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as err:
        raise CatalogError(f"cannot open catalog {path}: {err}") from err
    except OSError as err:
        raise CatalogError(f"cannot create catalog {path}: {err.strerror or err}") from err
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: list[tuple[int, str, Migration]] | None = None) -> int:
    """Apply pending migrations, each in its own transaction; returns the resulting version."""
    migrations = MIGRATIONS if migrations is None else migrations
    current = schema_version(conn)
    latest = migrations[-1][0] if migrations else 0
    if current > latest:
        raise CatalogError(f"catalog schema version {current} is newer than this Traum knows ({latest}); upgrade Traum")
    conn.isolation_level = None  # we manage transactions ourselves
    for version, name, fn in migrations:
        if version <= current:
            continue
        log.info("migrating catalog to version %d (%s)", version, name)
        with transaction(conn):
            fn(conn)
            conn.execute(f"PRAGMA user_version = {int(version)}")
        current = version
    return current
