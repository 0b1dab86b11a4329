"""Every way a catalog file can be wrong is one CatalogError line that says what to do."""

from __future__ import annotations

import os
import sqlite3

import pytest

from tests.catalog.conftest import record, vector
from traum.catalog import Catalog
from traum.catalog.db import MIGRATIONS, connect, sqlite_errors
from traum.errors import CatalogError


def _one_line(err: pytest.ExceptionInfo[CatalogError]) -> str:
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def _filled(db) -> str:
    stem, outcome = record("/lib/kick.wav")
    with Catalog(db) as catalog:
        catalog.write_batch([stem], [outcome], [(stem.id, vector(1), [], "m")])
    return stem.id


def test_an_empty_file_is_not_read_as_a_catalog_but_can_become_one(db):
    db.write_bytes(b"")
    with pytest.raises(CatalogError) as err:
        Catalog(db, readonly=True)
    assert "empty file" in _one_line(err) and "traum index" in _one_line(err)
    with Catalog(db) as catalog:
        assert catalog.stem_count() == 0


@pytest.mark.parametrize("readonly", [False, True])
def test_a_corrupt_file_is_one_line(db, readonly):
    db.write_bytes(os.urandom(8192))
    with pytest.raises(CatalogError) as err:
        Catalog(db, readonly=readonly)
    assert "not a Traum catalog or is damaged" in _one_line(err)


@pytest.mark.parametrize("readonly", [False, True])
def test_another_programs_database_is_refused_and_left_untouched(db, readonly):
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE moz_places (id INTEGER PRIMARY KEY, url TEXT)")
    conn.execute("INSERT INTO moz_places (url) VALUES ('https://example.org')")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(CatalogError) as err:
        Catalog(db, readonly=readonly)
    assert "not a Traum catalog" in _one_line(err) and "moz_places" in _one_line(err)
    assert db.read_bytes() == before  # no tables added, not even switched to WAL


@pytest.mark.parametrize("readonly", [False, True])
def test_a_catalog_from_a_newer_traum_is_refused_by_every_open(db, readonly):
    _filled(db)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {MIGRATIONS[-1][0] + 1}")
    conn.close()
    with pytest.raises(CatalogError) as err:
        Catalog(db, readonly=readonly)
    assert "newer" in _one_line(err) and "upgrade Traum" in _one_line(err)


def test_a_catalog_in_a_folder_named_with_hash_and_percent_reads_without_stray_files(tmp_path):
    folder = tmp_path / "take #2 100%"
    folder.mkdir()
    db = folder / "cat.db"
    stem_id = _filled(db)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with Catalog(db, readonly=True) as catalog:
        assert catalog.paths_of(stem_id) == ["/lib/kick.wav"]
    after = sorted(p.name for p in tmp_path.rglob("*"))
    assert [name for name in after if name not in before and not name.startswith("cat.db")] == []
    assert not (tmp_path / "take ").exists()


def test_a_catalog_whose_shared_memory_file_cannot_be_made_is_readable(tmp_path):
    """What a read-only folder does to a WAL catalog left with un-checkpointed commits (root ignores
    permissions, so the -shm path is blocked by a folder of that name instead)."""
    import shutil

    live = tmp_path / "live" / "cat.db"
    stem_id = _filled(live)
    writer = Catalog(live)
    writer.set_rating(stem_id, 4)  # lives only in the -wal while the writer is open
    copy = tmp_path / "copy"
    copy.mkdir()
    for suffix in ("", "-wal"):
        shutil.copy(str(live) + suffix, copy / f"cat.db{suffix}")
    writer.close()
    (copy / "cat.db-shm").mkdir()
    with Catalog(copy / "cat.db", readonly=True) as catalog:
        assert catalog.paths_of(stem_id) == ["/lib/kick.wav"]
        assert catalog.stem(stem_id)["user_rating"] == 4


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_a_catalog_in_a_read_only_folder_is_readable(db):
    stem_id = _filled(db)
    db.parent.chmod(0o555)
    try:
        with Catalog(db, readonly=True) as catalog:
            assert catalog.paths_of(stem_id) == ["/lib/kick.wav"]
    finally:
        db.parent.chmod(0o755)


def test_a_full_disk_is_one_line_and_loses_nothing_already_written(db):
    first = _filled(db)
    with Catalog(db) as catalog:
        pages = catalog.conn.execute("PRAGMA page_count").fetchone()[0]
        catalog.conn.execute(f"PRAGMA max_page_count = {pages}")
        stems, outcomes = zip(*[record(f"/lib/many/{i:05d} {'x' * 200}.wav") for i in range(300)], strict=True)
        for i, stem in enumerate(stems):
            stem.id = f"{i:064x}"
        outcomes = [o.__class__(o.path, "indexed", s.id) for o, s in zip(outcomes, stems, strict=True)]
        with pytest.raises(CatalogError) as err:
            catalog.write_batch(stems, outcomes, [(s.id, vector(i), [], "m") for i, s in enumerate(stems)])
        assert "full" in _one_line(err) and "free some space" in _one_line(err)
        assert not catalog.conn.in_transaction
        assert catalog.stem_count() == 1 and catalog.paths_of(first) == ["/lib/kick.wav"]


def test_a_write_refused_by_the_file_is_one_line(db):
    stem_id = _filled(db)
    with Catalog(db) as catalog:
        catalog.conn.execute("PRAGMA query_only = 1")  # what a read-only file answers to a write
        with pytest.raises(CatalogError) as err:
            catalog.set_rating(stem_id, 5)
        assert "read-only" in _one_line(err)


def test_a_querys_own_mistake_stays_a_bug(db):
    conn = connect(db)
    with pytest.raises(sqlite3.OperationalError), sqlite_errors(db):
        conn.execute("SELECT nonsense FROM nowhere")


def test_a_corrupt_cache_file_says_to_delete_it(tmp_path):
    from traum.catalog.db import sqlite_file

    cache = tmp_path / "cache.db"
    cache.write_bytes(os.urandom(8192))
    with pytest.raises(CatalogError) as err, sqlite_file(cache, kind="cache"):
        pass
    assert "delete it" in _one_line(err) and "--db" not in _one_line(err)
