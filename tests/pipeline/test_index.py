"""The indexing job on real audio with the tiny real-format CLAP."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CORPUS, DIRT, catalog_snapshot, copy_library
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index

N_AUDIO = 13  # audio files in tests.helpers.MIXED


def index(library, db, model, **options):
    with Catalog(db) as catalog:
        return run_index([library], catalog, IndexOptions(model=str(model) if model else None, **options))


def test_catalogs_every_decodable_file_and_reports_the_rest(library, db, tiny_model):
    (library / "empty.wav").write_bytes(b"")
    (library / "notes.txt").write_text("not audio")
    report = index(library, db, tiny_model)
    assert report.indexed == N_AUDIO and report.failed == 1 and report.skipped == 3
    with Catalog(db) as catalog:
        counts = catalog.counts()
        assert counts["indexed"] == N_AUDIO and counts["pending"] == 0
        assert catalog.stem_count(embedded_only=True) == N_AUDIO
        failed = {p: e for p, s, e in catalog.failures() if s == "failed"}
    assert "empty.wav" in next(iter(failed)) and "not decodable" in next(iter(failed.values()))
    snap = catalog_snapshot(db)
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 and v.shape == (512,) for v in snap["vectors"].values())
    # The 12 s pad and the 14 s speech file have a vector per window.
    assert snap["windows"] == 4


def test_rerun_over_unchanged_library_does_nothing(library, db, tiny_model):
    index(library, db, tiny_model)
    before = catalog_snapshot(db)
    report = index(library, db, tiny_model)
    assert report.unchanged == report.files_seen == N_AUDIO + 2
    assert report.stage_seconds["decode"] == report.stage_seconds["infer"] == report.stage_seconds["hash"] == 0
    assert report.model is None  # not even loaded
    after = catalog_snapshot(db)
    assert before["status"] == after["status"] and before["stems"] == after["stems"]


def test_changed_files_are_reprocessed_and_deleted_ones_marked_missing(library, db, tiny_model):
    index(library, db, tiny_model)
    changed = library / "dirt-samples/bd/BT0A0A7.wav"
    shutil.copy(DIRT / "sn/ST0T0S3.wav", changed)
    gone = library / "dirt-samples/sn/ST0T0S0.wav"
    gone.unlink()
    report = index(library, db, tiny_model)
    assert report.indexed == 1 and report.missing == 1
    with Catalog(db) as catalog:
        assert catalog.file_state(str(gone)).status == "missing"
        state = catalog.file_state(str(changed))
        assert state.status == "indexed"
        expected = sf.info(str(DIRT / "sn/ST0T0S3.wav")).duration
        assert catalog.stem(state.file_hash)["duration"] == pytest.approx(expected)
        # The old content of the changed file is not searchable any more; the missing file neither.
        paths = [s["path"] for s in catalog.stems()]
        assert str(gone) not in paths and paths.count(str(changed)) == 1


def test_identical_content_is_embedded_once_and_catalogued_at_both_paths(library, db, tiny_model):
    twin = library / "copies" / "same kick.wav"
    twin.parent.mkdir()
    shutil.copy(library / "dirt-samples/bd/BT0A0A7.wav", twin)
    report = index(library, db, tiny_model)
    assert report.indexed == N_AUDIO and report.linked == 1
    with Catalog(db) as catalog:
        a = catalog.file_state(str(twin))
        b = catalog.file_state(str(library / "dirt-samples/bd/BT0A0A7.wav"))
        assert a.file_hash == b.file_hash and a.status == b.status == "indexed"
        assert len(catalog.paths_of(a.file_hash)) == 2


def test_moved_library_costs_no_decoding(library, db, tiny_model, tmp_path):
    index(library, db, tiny_model)
    moved = tmp_path / "moved"
    library.rename(moved)
    report = index(moved, db, tiny_model)
    assert report.linked == N_AUDIO and report.indexed == 0
    assert report.stage_seconds["infer"] == 0 and report.windows_embedded == 0
    # A run checks the folders it is given: the old paths are marked missing once their parent is indexed.
    assert index(tmp_path, db, tiny_model).missing == N_AUDIO + 2
    with Catalog(db) as catalog:
        assert all(s["path"].startswith(str(moved)) for s in catalog.stems())


def test_without_a_model_everything_is_catalogued_and_embedded_later(library, db, tiny_model):
    report = index(library, db, "laion/larger_clap_general")  # a known id never cached in tests
    assert "not available offline" in report.model_error
    assert report.indexed == N_AUDIO and report.pending == N_AUDIO
    with Catalog(db) as catalog:
        assert catalog.counts()["pending"] == N_AUDIO and catalog.stem_count() == N_AUDIO
        assert catalog.stem_count(embedded_only=True) == 0
    (library / "new.wav").write_bytes((DIRT / "cp/HANDCLP0.wav").read_bytes())
    report = index(library, db, tiny_model)
    assert report.indexed == N_AUDIO + 1 and report.pending == 0
    assert report.stage_seconds["hash"] > 0  # only the new file was hashed …
    with Catalog(db) as catalog:
        assert catalog.stem_count(embedded_only=True) == N_AUDIO + 1


def test_a_new_model_reembeds_everything(library, db, tiny_model, tmp_path):
    from traum.testing import build_random_clap

    index(library, db, tiny_model)
    other = build_random_clap(tmp_path / "other", seed=1)
    report = index(library, db, other)
    assert report.indexed == N_AUDIO
    with Catalog(db) as catalog:
        assert list(catalog.embedding_models()) == [catalog.get_meta("model")["id"]]


def test_transient_errors_are_retried_then_recorded(library, db, tiny_model, monkeypatch):
    from traum.pipeline import prepare

    calls = []
    real = prepare.content_hash

    def flaky(path):
        calls.append(path)
        if str(path).endswith("BT0A0A7.wav"):
            raise OSError(5, "Input/output error")
        return real(path)

    monkeypatch.setattr(prepare, "content_hash", flaky)
    monkeypatch.setattr(prepare, "BACKOFF_SECONDS", 0.001)
    report = index(library, db, tiny_model)
    assert report.failed == 1 and sum(str(c).endswith("BT0A0A7.wav") for c in calls) == prepare.ATTEMPTS
    monkeypatch.setattr(prepare, "content_hash", real)
    assert index(library, db, tiny_model).indexed == 1  # transient: tried again by the next run


def test_corrupt_files_are_not_retried_forever(library, db, tiny_model):
    (library / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert index(library, db, tiny_model).failed == 1
    assert index(library, db, tiny_model).failed == 0
    with Catalog(db) as catalog:
        assert catalog.file_state(str(library / "broken.wav")).status == "failed"


def test_sigkill_mid_run_then_rerun_gives_the_same_catalog(tmp_path, tiny_model):
    from tests.cli.conftest import traum

    # 40 files: a run at ~30 files/s is still going well after its 10th (the kill must land mid-run).
    files = sorted(str(p.relative_to(CORPUS)) for folder in ("bd", "sn", "hh", "cp", "808", "jvbass", "arpy")
                   for p in (DIRT / folder).iterdir() if p.suffix.lower() == ".wav")[:40]
    library = copy_library(tmp_path / "lib", files)
    killed, clean = tmp_path / "killed.db", tmp_path / "clean.db"
    args = ["index", str(library), "--model", str(tiny_model), "--batch-size", "2", "--workers", "1",
            "--precision", "fp32"]
    proc = subprocess.Popen([sys.executable, "-m", "traum.cli.main", *args, "--db", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    committed = _wait_for_rows(killed, 10, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 10 <= committed < len(files), "the kill should land mid-run"
    # The rerun and the reference run go through the same CLI in this process: only the killed run needs
    # a process of its own (another would only import torch again).
    traum(*args, "--db", killed)
    traum(*args, "--db", clean)
    a, b = catalog_snapshot(killed), catalog_snapshot(clean)
    assert a["status"] == b["status"] and a["stems"] == b["stems"] and len(a["stems"]) == len(set(files))
    for stem_id, vector in b["vectors"].items():
        np.testing.assert_allclose(a["vectors"][stem_id], vector, atol=1e-5)


def _wait_for_rows(db, n, proc, timeout=120.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with sqlite3.connect(db, timeout=1) as conn:
                rows = conn.execute("SELECT count(*) FROM processing_status").fetchone()[0]
            if rows >= n:
                return rows
        except sqlite3.OperationalError:
            pass
        time.sleep(0.02)
    return -1


def test_a_new_catalog_of_a_known_library_costs_no_inference(library, tmp_path, tiny_model):
    first = index(library, tmp_path / "one.db", tiny_model)
    assert first.windows_embedded > 0
    second = index(library, tmp_path / "two.db", tiny_model)
    assert second.indexed == N_AUDIO and second.windows_embedded == 0 and second.stage_seconds["infer"] == 0
    a, b = catalog_snapshot(tmp_path / "one.db"), catalog_snapshot(tmp_path / "two.db")
    assert a["stems"] == b["stems"] and a["windows"] == b["windows"]
    for stem_id, vector in a["vectors"].items():
        np.testing.assert_array_equal(b["vectors"][stem_id], vector)
