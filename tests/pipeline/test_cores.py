"""Sharing the cores: inference threads + analysis processes never exceed the free cores, other
processes' load is measured (not our own), OpenMP waits passively, and a file's analysis never holds up
the files behind it."""

from __future__ import annotations

import subprocess
import sys
import time
from concurrent.futures import Future

import psutil
import pytest

from tests.pipeline.test_index import index
from traum.pipeline.cores import LoadProbe, plan_cores


@pytest.mark.parametrize("usable, busy", [(2, 0.0), (2, 1.0), (4, 0.0), (4, 2.0), (8, 1.0), (1, 0.0)])
def test_inference_threads_and_analysis_processes_fit_the_free_cores(usable, busy):
    for analyse in (True, False):
        cores = plan_cores(analyse=analyse, others_busy=busy, usable=usable)
        assert cores.free == max(1, usable - int(busy))
        assert cores.inference_threads >= 1
        if cores.free > 1:
            assert cores.inference_threads + cores.analysis_processes <= cores.free
        assert (cores.analysis_processes > 0) == analyse


def test_a_core_kept_busy_by_another_process_is_not_ours():
    assert plan_cores(analyse=False, others_busy=1.0, usable=2).inference_threads == 1
    assert plan_cores(analyse=False, others_busy=0.1, usable=2).inference_threads == 2
    # Other processes can never take every core from the run.
    assert plan_cores(analyse=False, others_busy=5.0, usable=2).free == 1


@pytest.mark.parametrize("usable", [2, 4, 8])
def test_without_inference_on_this_cpu_analysis_has_the_cores(usable):
    """No model (embeddings pending) leaves every free core to analysis; a GPU model keeps one to feed it."""
    none = plan_cores(analyse=True, usable=usable, inference_device=None)
    gpu = plan_cores(analyse=True, usable=usable, inference_device="gpu")
    cpu = plan_cores(analyse=True, usable=usable)
    assert none.analysis_processes == usable and none.inference_threads == 0
    assert gpu.analysis_processes == usable - 1 and gpu.inference_threads == 1
    assert cpu.analysis_processes == max(1, usable // 4)


def test_an_index_without_its_model_analyses_on_every_core(tmp_path):
    from tests.helpers import copy_library
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    with Catalog(tmp_path / "c.db") as catalog:
        report = run_index([copy_library(tmp_path / "library")], catalog,
                           IndexOptions(model="laion/larger_clap_general", cache=False))  # never cached in tests
    free = report.cores["usable"] - report.cores["taken by others"]
    assert report.model_error and report.cores["analysis processes"] == free
    assert report.cores["inference threads"] == 0


def test_the_probe_sees_another_process_busy_but_not_this_one():
    import psutil

    from traum.pipeline.cores import usable_cores

    # Not our child (a competitor never is: our own children's CPU counts as ours): started through a
    # shell that exits at once.
    launcher = subprocess.run(["sh", "-c", f"'{sys.executable}' -c 'while True: pass' >/dev/null 2>&1 & echo $!"],
                              capture_output=True, text=True, check=True)
    spinner = psutil.Process(int(launcher.stdout))
    try:
        time.sleep(0.3)  # the spinner is running
        spun = psutil.Process(spinner.pid).cpu_times()
        probe, start = LoadProbe(), time.monotonic()
        end = time.process_time() + 0.5
        while time.process_time() < end:  # this process keeps a core busy too
            pass
        seen = probe.others_busy()
        spinner_share = sum(psutil.Process(spinner.pid).cpu_times()[:2]) - sum(spun[:2])
        spinner_share /= time.monotonic() - start
        own_share = 0.5 / (time.monotonic() - start)
    finally:
        spinner.kill()
        spinner.wait(10)
    # The spinner is counted (whatever share of a core a shared machine gave it)...
    assert seen >= 0.8 * spinner_share
    # ...and this process's own work is not: counted, the two would exceed the machine.
    assert seen + own_share <= usable_cores() + 0.2


def test_torch_is_told_to_wait_passively_and_use_the_planned_threads(tmp_path):
    # A fresh process: OMP_WAIT_POLICY only counts before torch loads, as in `traum index`.
    code = ("import os\nfrom traum.pipeline.cores import passive_threads, apply_torch_threads\npassive_threads()\n"
            "import torch\napply_torch_threads(1, interop=True)\n"
            "print(os.environ['OMP_WAIT_POLICY'], torch.get_num_threads(), torch.get_num_interop_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": _src()})
    assert out.stdout.split() == ["PASSIVE", "1", "1"]


def _src() -> str:
    import traum

    return str(__import__("pathlib").Path(traum.__file__).resolve().parents[1])


def test_an_index_run_reports_its_cores_waits_and_start_up(library, db, tiny_model):
    report = index(library, db, tiny_model)
    cores = report.cores
    free = cores["usable"] - cores["taken by others"]
    assert cores["inference threads"] >= 1 and cores["analysis processes"] >= 1
    if free > 1:
        assert cores["inference threads"] + cores["analysis processes"] <= free
    assert report.stage_seconds["analyse"] > 0 and report.stage_seconds["infer"] > 0
    assert "writer waits for decoded files" in report.wait_seconds
    data = report.to_dict()
    assert set(data["startup_seconds"]) >= {"process", "imports", "model", "prompts", "plan"}
    assert data["startup_seconds"]["prompts"] > 0


def test_embedded_files_wait_for_their_analysis_without_holding_up_the_others(library, db, tiny_model):
    """The writer writes the files whose analysis is done and keeps the others for a later batch."""
    from traum.catalog import Catalog, StemRecord
    from traum.catalog.store import PathOutcome
    from traum.embedding import load_model
    from traum.pipeline.dedupe import Claims
    from traum.pipeline.prepare import Prepared
    from traum.pipeline.report import IndexReport, NullProgress
    from traum.pipeline.writer import Batch, BatchWriter

    model = load_model(str(tiny_model))
    samples = __import__("numpy").zeros(model.sample_rate, "float32")
    features = [model.prepare(samples)[0].features]

    def item(name: str, facts: Future) -> Prepared:
        stem = StemRecord(name * 8, f"/x/{name}.wav", 10, 1.0, 48000, 1, 16, "WAV/PCM_16")
        outcome = PathOutcome(status="indexed", file_hash=name * 8, path=f"/x/{name}.wav", file_size=10, mtime_ns=1)
        return Prepared(outcome, stem, name * 8, [0.0], list(features), None, facts)

    slow, quick = Future(), Future()
    quick.set_result(({"bpm": 120.0}, 0.01))
    with Catalog(db) as catalog:
        report = IndexReport()
        writer = BatchWriter(catalog, model, None, Claims(), report, NullProgress(), 4)
        batch = Batch()
        writer.accept(item("a", slow), batch)
        writer.accept(item("b", quick), batch)
        writer.flush(batch)
        assert report.indexed == 1 and writer.waiting_for_analysis == 1
        assert catalog.stem("b" * 8)["bpm"] == 120.0 and catalog.stem("a" * 8) is None
        slow.set_result(({"bpm": 90.0}, 0.01))
        writer.flush(Batch(), final=True)
        assert report.indexed == 2 and writer.waiting_for_analysis == 0
        assert catalog.stem("a" * 8)["bpm"] == 90.0


def _spinner(nice: int) -> psutil.Process:
    """A busy process that is not our child (a competitor never is: our own children's CPU counts as
    ours), started through a shell that exits at once."""
    command = f"nice -n {nice} '{sys.executable}' -c 'while True: pass' >/dev/null 2>&1 & echo $!"
    launcher = subprocess.run(["sh", "-c", command], capture_output=True, text=True, check=True)
    return psutil.Process(int(launcher.stdout))


def test_a_niced_process_yields_its_core_so_it_takes_none_from_the_run():
    niced, ordinary = _spinner(19), None
    try:
        time.sleep(0.3)
        quiet = LoadProbe().others_busy()
        ordinary = _spinner(0)
        time.sleep(0.3)
        busy = LoadProbe().others_busy()
    finally:
        for proc in (niced, ordinary):
            if proc is not None:
                proc.kill()
                proc.wait(10)
    assert quiet < 0.5 <= busy  # the ordinary spinner counts, the niced one beside it does not
