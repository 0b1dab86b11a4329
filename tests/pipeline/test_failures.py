"""A failed catalog write leaves nothing half-recorded; permission problems are retried once fixed."""

from __future__ import annotations

import os
import sqlite3

import pytest

from tests.helpers import copy_library
from traum.audio import Found
from traum.catalog import Catalog
from traum.catalog.store import FileState
from traum.errors import CatalogError, TransientAudioError
from traum.pipeline import IndexOptions, plan, prepare, run_index

FILES = ["dirt-samples/bd/BT0A0D0.wav", "dirt-samples/sn/ST0T0S0.wav", "dirt-samples/hh/000_hh3closedhh.wav",
         "dirt-samples/cp/HANDCLP0.wav", "dirt-samples/pad/alien-monolith-pad.wav",
         "dirt-samples/sugar/000_bark.wav"]


class DiskFullOnce(Catalog):
    """A real catalog whose disk fills up once two stems are written: the write that would add a third
    commits what still fitted, as earlier transactions would have, and fails. (Batches are not a fixed
    size: files whose analysis is still running are written by a later one.)"""

    room = 2
    failed = False

    def write_batch(self, stems, outcomes, embeddings):
        stems, outcomes, embeddings = list(stems), list(outcomes), list(embeddings)
        if DiskFullOnce.failed or len(stems) <= DiskFullOnce.room:
            DiskFullOnce.room -= len(stems)
            return super().write_batch(stems, outcomes, embeddings)
        keep = {s.id for s in stems[:DiskFullOnce.room]}
        if keep:
            super().write_batch([s for s in stems if s.id in keep], [o for o in outcomes if o.file_hash in keep],
                                [e for e in embeddings if e[0] in keep])
        DiskFullOnce.failed = True
        raise sqlite3.OperationalError("database or disk is full")


def _analysed(db) -> dict[str, bool]:
    conn = sqlite3.connect(db)
    rows = dict(conn.execute("SELECT path, spectral_features IS NOT NULL AND quality_ok IS NOT NULL FROM stems"))
    conn.close()
    return rows


def test_a_full_disk_mid_run_loses_nothing_and_the_rerun_analyses_every_stem(tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", FILES)
    options = {"model": str(tiny_model), "batch_size": 1, "workers": 1, "analysis_workers": 1}
    DiskFullOnce.room, DiskFullOnce.failed = 2, False
    with DiskFullOnce(tmp_path / "c.db") as catalog, pytest.raises(CatalogError, match="disk is full"):
        run_index([library], catalog, IndexOptions(**options))
    with Catalog(tmp_path / "c.db") as catalog:
        partial = catalog.counts()["indexed"]
    assert 0 < partial < len(FILES)
    # The failed batch's vectors may be in the embedding cache by now; its stems must still get analysis.
    with Catalog(tmp_path / "c.db") as catalog:
        report = run_index([library], catalog, IndexOptions(**options))
        assert catalog.counts()["indexed"] == len(FILES) and catalog.stem_count(embedded_only=True) == len(FILES)
    assert report.indexed == len(FILES) - partial
    assert _analysed(tmp_path / "c.db") == {str(library / f): True for f in FILES}


def test_permission_errors_are_transient_and_retried_whatever_the_retry_count(tmp_path):
    def denied():
        raise PermissionError(13, "Permission denied")

    with pytest.raises(TransientAudioError) as caught:
        prepare.with_retry(denied, "/x/a.wav")
    outcome = prepare.failure(caught.value, {"path": "/x/a.wav", "file_size": 10, "mtime_ns": 5})
    assert outcome.status == "failed" and outcome.checkpoint == {"transient": True, "permission": True}
    state = FileState("/x/a.wav", None, "failed", 10, 5, plan.MAX_RUN_RETRIES + 5, outcome.error,
                      outcome.checkpoint)
    assert plan.task_kind(Found("/x/a.wav", 10, 5), state) == "full"
    corrupt = FileState("/x/a.wav", None, "failed", 10, 5, 1, "bad", {"transient": False})
    assert plan.task_kind(Found("/x/a.wav", 10, 5), corrupt) is None


def test_libsndfile_permission_denied_is_transient(tmp_path):
    import soundfile as sf

    from traum.audio.decode import _classify

    err = _classify(str(tmp_path / "a.wav"), sf.LibsndfileError(2, "Error opening 'a.wav': System error : "
                                                                    "Permission denied."))
    assert isinstance(err, TransientAudioError) and "permission denied" in str(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_indexed_once_its_permissions_are_fixed(tmp_path):
    library = copy_library(tmp_path / "lib", FILES[:2])
    locked = library / FILES[0]
    locked.chmod(0)
    with Catalog(tmp_path / "c.db") as catalog:
        for _ in range(plan.MAX_RUN_RETRIES + 1):
            assert run_index([library], catalog, IndexOptions(analyse=False)).failed in (0, 1)
        locked.chmod(0o644)
        assert run_index([library], catalog, IndexOptions(analyse=False)).indexed == 1


def test_a_failed_run_releases_its_analysis_processes(tmp_path, tiny_model):
    import psutil

    library = copy_library(tmp_path / "lib", FILES)
    options = IndexOptions(model=str(tiny_model), batch_size=1, workers=1, analysis_workers=1)
    DiskFullOnce.room, DiskFullOnce.failed = 2, False
    with DiskFullOnce(tmp_path / "c.db") as catalog, pytest.raises(CatalogError, match="disk is full"):
        run_index([library], catalog, options)
    # Before: the pool lived on until the interpreter exited; a long-lived caller (the web app) kept it.
    # The fork server the workers come from and its resource tracker stay (idle, as multiprocessing keeps them).
    workers = [p for p in psutil.Process().children(recursive=True)
               if "from multiprocessing." not in " ".join(p.cmdline())]
    assert workers == [], [(p.pid, p.cmdline()) for p in workers]


def _no_setup(_parent: int) -> None:
    pass


def _slow_square(x: int) -> int:
    import time

    time.sleep(0.5)
    return x * x


def test_the_analysis_pool_shuts_down_with_analyses_in_flight():
    import threading

    from traum.pipeline.prepare import AnalysisPool

    pool = AnalysisPool(1, _no_setup)
    futures = [pool.submit(_slow_square, n) for n in range(3)]
    stopper = threading.Thread(target=pool.shutdown, daemon=True)
    stopper.start()
    stopper.join(30)
    assert not stopper.is_alive(), "shutdown hung: a done callback waited for the lock shutdown held"
    assert futures[0].result() == 0 and pool.busy() == 0
