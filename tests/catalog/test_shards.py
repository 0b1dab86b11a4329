"""Parquet shards folded into a catalog: the same rows as a direct write, idempotent, in any order."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import replace

import pytest

from tests.catalog.conftest import SNARE, record, vector
from tests.helpers import catalog_snapshot
from traum.catalog import Catalog, shards
from traum.catalog.store import PathOutcome


def content_rows(tmp_path):
    # A name that is not UTF-8 (Latin-1 "é") must survive the Parquet round trip.
    odd_name = os.fsdecode(os.fsencode(tmp_path) + b"/caf\xe9/snare \xe9t\xe9.wav")
    kick_stem, kick = record(str(tmp_path / "kick.wav"), facts={"bpm": 120.0, "tags": ["punchy"], "key": "Am"})
    snare_stem, snare = record(odd_name, SNARE, facts={"category": "snare", "category_confidence": 0.8})
    windows = [(0.0, vector(3)), (5.0, vector(4))]
    return [(kick, kick_stem, (vector(1), [])), (snare, snare_stem, (vector(2), windows))]


def rows_of(content, model=("tiny", "tiny-id")):
    return [shards.to_row(outcome, stem, vectors, *model) for outcome, stem, vectors in content]


def state(db):
    with sqlite3.connect(db) as conn:
        attempts = conn.execute("SELECT file_path, last_attempt, retry_count FROM processing_status "
                                "ORDER BY id").fetchall()
        generation = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
    return catalog_snapshot(db), attempts, generation


def test_a_merge_writes_what_a_direct_write_writes_and_a_second_merge_nothing(tmp_path):
    content = content_rows(tmp_path)
    link = replace(content[0][0], path=str(tmp_path / "moved/kick.wav"))
    failed = PathOutcome(str(tmp_path / "broken.wav"), "failed", "f" * 64, 10, 1, error="not decodable",
                         checkpoint={"transient": False})
    # The link lands in a shard sorted before its content's: the merge still writes the stem first.
    shards.write_shard(shards.to_table([shards.to_row(link), shards.to_row(failed)]), "memory://shards", "a")
    shards.write_shard(shards.to_table(rows_of(content)), "memory://shards", "b")
    with Catalog(tmp_path / "direct.db") as direct:
        direct.write_batch([c[1] for c in content], [c[0] for c in content] + [link, failed],
                           [(c[0].file_hash, *c[2], "tiny-id") for c in content])
    merged = tmp_path / "merged.db"
    with Catalog(merged) as catalog:
        report = shards.merge(catalog, "memory://shards")
        assert (report.shards, report.rows, report.paths_written, report.stems_written) == (2, 4, 4, 2)
        assert catalog.get_meta("model") == {"name": "tiny", "id": "tiny-id"}
        assert catalog.paths_of(content[0][0].file_hash) == sorted([content[0][0].path, link.path])
        assert catalog.stem(content[0][0].file_hash)["bpm"] == 120.0
    expected, actual = catalog_snapshot(tmp_path / "direct.db"), catalog_snapshot(merged)
    assert expected["status"] == actual["status"] and expected["stems"] == actual["stems"]
    assert actual["windows"] == 2
    assert all((expected["vectors"][k] == actual["vectors"][k]).all() for k in expected["vectors"])
    before = state(merged)
    with Catalog(merged) as catalog:
        again = shards.merge(catalog, "memory://shards")
    assert again.unchanged == 4 and again.paths_written == again.stems_written == 0
    after = state(merged)
    assert before[1:] == after[1:] and before[0]["status"] == after[0]["status"]


def test_a_link_to_content_that_failed_fails_with_it(tmp_path):
    broken = PathOutcome(str(tmp_path / "a.wav"), "failed", "e" * 64, 10, 1, error="not decodable")
    twin = PathOutcome(str(tmp_path / "b.wav"), "indexed", "e" * 64, 10, 2)
    shards.write_shard(shards.to_table([shards.to_row(twin), shards.to_row(broken)]), str(tmp_path / "s"))
    with Catalog(tmp_path / "c.db") as catalog:
        shards.merge(catalog, str(tmp_path / "s"))
        assert {p: (s, e) for p, s, e in catalog.failures()} == {
            broken.path: ("failed", "not decodable"), twin.path: ("failed", "not decodable")}


def test_a_broken_shard_is_reported_and_the_rest_merged(tmp_path, capsys):
    from traum.cli.main import main

    folder = tmp_path / "shards"
    shards.write_shard(shards.to_table(rows_of(content_rows(tmp_path))), str(folder))
    (folder / "rows-killed-while-writing.parquet").write_bytes(b"PAR1 half a file")
    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "merge", str(folder), "--db", str(tmp_path / "c.db")])
    assert exit_.value.code == 1
    assert "rows-killed-while-writing" in capsys.readouterr().err
    with Catalog(tmp_path / "c.db") as catalog:
        assert catalog.stem_count(embedded_only=True) == 2
    assert shards.done_in_shards(str(folder)) == {(r[0].path, r[0].file_size, r[0].mtime_ns)
                                                  for r in content_rows(tmp_path)}


def test_no_shards_is_one_line(tmp_path, capsys):
    from traum.cli.main import main

    (tmp_path / "empty").mkdir()
    for folder in (str(tmp_path / "empty"), "memory://no-such-bucket/shards"):  # remote: known once listed
        with pytest.raises(SystemExit) as exit_:
            main(["catalog", "merge", folder, "--db", str(tmp_path / "c.db")])
        assert exit_.value.code == 1 and capsys.readouterr().err.startswith("error: no shards")


def test_a_local_folder_that_does_not_exist_is_a_usage_error_before_the_catalog_is_touched(tmp_path, capsys):
    from traum.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["catalog", "merge", str(tmp_path / "typo"), "--db", str(tmp_path / "c.db")])
    assert exit_.value.code == 2 and capsys.readouterr().err == f"error: {tmp_path / 'typo'} does not exist\n"
    assert not (tmp_path / "c.db").exists()
