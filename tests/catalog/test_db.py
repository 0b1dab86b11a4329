import sqlite3

import pytest

from traum.catalog import Catalog
from traum.catalog.db import MIGRATIONS, connect, migrate, migration, schema_version
from traum.errors import CatalogError, NotFound


def test_new_catalog_is_at_the_latest_version_with_the_seed_tables(db):
    with Catalog(db) as catalog:
        assert schema_version(catalog.conn) == MIGRATIONS[-1][0]
        stems = {r[1] for r in catalog.conn.execute("PRAGMA table_info(stems)")}
        assert {"id", "path", "bpm", "key", "quality_ok", "user_rating", "clap_embedding",
                "processing_version"} <= stems
        status = {r[1] for r in catalog.conn.execute("PRAGMA table_info(processing_status)")}
        assert {"file_path", "file_hash", "status", "retry_count", "error_message", "checkpoint_data"} <= status
        assert catalog.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrations_apply_in_order_and_roll_back_on_failure(tmp_path):
    conn = connect(tmp_path / "m.db")
    steps = [(1, "one", lambda c: c.execute("CREATE TABLE a (x)")),
             (2, "two", lambda c: (c.execute("CREATE TABLE b (x)"), c.execute("SELECT nonsense FROM nowhere")))]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, steps)
    assert schema_version(conn) == 1
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")] == ["a"]


def test_a_catalog_from_a_newer_traum_is_refused(db):
    Catalog(db).close()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(CatalogError, match="newer"):
        Catalog(db)


def test_versions_must_be_consecutive():
    with pytest.raises(RuntimeError):
        migration(MIGRATIONS[-1][0] + 2, "gap")(lambda c: None)


def test_reading_a_missing_catalog_says_what_to_do(tmp_path):
    with pytest.raises(NotFound, match="traum index") as missing:
        Catalog(tmp_path / "none.db", readonly=True)
    assert missing.value.exit_code == 2  # a usage error, as grep's for a missing file; 404 over HTTP


def test_garbage_file_is_a_clear_catalog_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError):
        Catalog(bad)
