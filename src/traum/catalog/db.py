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


def connect(path: str | Path, *, readonly: bool = False, kind: str = "catalog") -> sqlite3.Connection:
    """A connection for one SQLite file (the catalog, or a cache with ``kind="cache"``): WAL journal,
    30 s busy timeout, foreign keys on; errors about the file are :class:`CatalogError` lines. ``readonly``
    opens through a percent-encoded ``file:`` URI (a folder named
    ``#1`` or ``100%`` must not cut the name short) and never creates a file; in a folder it may
    not write to (no ``-shm`` can be made), it falls back to reading the file as immutable."""
    path = Path(path)
    with sqlite_errors(path, kind):
        try:
            if readonly:
                conn = _open_readonly(path)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, check_same_thread=False)
                conn.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a power cut may lose the last commits, never corrupt the file.
                conn.execute("PRAGMA synchronous = NORMAL")
        except OSError as err:
            raise CatalogError(f"cannot create {path}: {err.strerror or err}; {_elsewhere(kind)}") from err
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
    return conn


def file_uri(path: Path, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return path.absolute().as_uri() + (f"?{query}" if query else "")


def _open_readonly(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(file_uri(path, mode="ro"), uri=True, check_same_thread=False)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as err:
        conn.close()
        if "unable to open" not in str(err) and "readonly" not in str(err):
            raise
    # Reading a WAL database needs its -shm file; where none exists and none can be made (a read-only
    # folder or medium) the file is read as immutable: no locks, and commits not yet checkpointed
    # into the main file stay unseen, which a folder nothing can write to cannot have in flight.
    log.info("reading %s as immutable: its folder is not writable", path)
    return sqlite3.connect(file_uri(path, mode="ro", immutable="1"), uri=True, check_same_thread=False)


@contextmanager
def sqlite_file(path: str | Path, *, readonly: bool = False, kind: str = "catalog") -> Iterator[sqlite3.Connection]:
    """:func:`connect`, closed when the block ends."""
    conn = connect(path, readonly=readonly, kind=kind)
    try:
        yield conn
    finally:
        conn.close()


def _elsewhere(kind: str) -> str:
    return "pass another --db" if kind == "catalog" else f"delete it (the {kind} is rebuilt as needed)"


def _what_to_do(path: Path, err: sqlite3.Error, kind: str) -> str:
    text = str(err).lower()
    if "full" in text:
        return f"the disk holding {path} is full: free some space and rerun (work already saved is kept)"
    if "readonly" in text or "read-only" in text or "permission" in text:
        return f"cannot write {path}: the file or its folder is read-only; allow writing or {_elsewhere(kind)}"
    if "unable to open" in text:
        return f"cannot open {path}: check that it and its folder exist and are readable"
    if "locked" in text or "busy" in text:
        return f"{path} is busy (another Traum has been writing it for 30 s); try again when it is done"
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return f"{path} is not a Traum {kind} or is damaged: {_elsewhere(kind)}, or move it away to start anew"
    return f"{kind} {path}: {err}"


#: Errors about the file, the disk or permissions, as opposed to a mistake in a query (a bug).
_FILE_ERRORS = ("full", "readonly", "read-only", "permission", "unable to open", "locked", "busy",
                "not a database", "malformed", "corrupt", "disk i/o")


@contextmanager
def sqlite_errors(path: str | Path, kind: str = "catalog") -> Iterator[None]:
    """Turn SQLite's errors about the file (disk full, permissions, corruption, busy) into one
    :class:`CatalogError` line that says what to do; a query's own mistakes stay bugs."""
    try:
        yield
    except sqlite3.Error as err:
        text = str(err).lower()
        if type(err) is sqlite3.DatabaseError or any(kind in text for kind in _FILE_ERRORS):
            raise CatalogError(_what_to_do(Path(path), err, kind)) from err
        raise


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (a failed COMMIT included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (disk full, I/O error): a second ROLLBACK would hide
        # the real error behind "no transaction is active".
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


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
