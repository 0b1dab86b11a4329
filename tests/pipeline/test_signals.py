"""Ctrl+C and kill -9 of `traum index`: one clear line, exit 130, and no analysis worker left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from tests.helpers import CORPUS, DIRT, copy_library


@pytest.fixture
def running_index(tmp_path, tiny_model):
    files = sorted(str(p.relative_to(CORPUS)) for folder in ("bd", "sn", "hh", "cp", "808", "jvbass", "arpy")
                   for p in (DIRT / folder).iterdir() if p.suffix.lower() == ".wav")[:60]
    library = copy_library(tmp_path / "lib", files)
    cmd = [sys.executable, "-m", "traum.cli.main", "index", str(library), "--model", str(tiny_model),
           "--db", str(tmp_path / "c.db"), "--batch-size", "2", "--workers", "2", "--precision", "fp32"]
    # A session of its own: Ctrl+C in a terminal signals the whole foreground process group.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    workers = _wait_for_workers(proc)
    yield proc, workers
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    for worker in workers:
        if worker.is_running():
            worker.kill()


def _wait_for_workers(proc, deadline_seconds=120.0) -> list[psutil.Process]:
    parent = psutil.Process(proc.pid)
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline and proc.poll() is None:
        children = parent.children(recursive=True)
        # Workers are forked by the fork server, so they are grandchildren; it and its resource tracker
        # are children and are waited for too.
        forked = [c for c in children if _ppid(c) != proc.pid]
        if forked and all(_ignores_sigint(child) for child in children):
            return children
        time.sleep(0.05)
    pytest.fail("the index run never started analysis workers")


def _ppid(process: psutil.Process) -> int | None:
    try:
        return process.ppid()
    except psutil.Error:
        return None


def _ignores_sigint(worker: psutil.Process) -> bool:
    """The worker ran its initializer (watch_parent): a Ctrl+C before that is the fork's, not ours."""
    try:
        with open(f"/proc/{worker.pid}/status") as status:
            ignored = next(line for line in status if line.startswith("SigIgn:"))
    except (OSError, StopIteration):
        return False
    return bool(int(ignored.split()[1], 16) & (1 << (signal.SIGINT - 1)))


def _gone(workers: list[psutil.Process], within: float = 10.0) -> bool:
    _, alive = psutil.wait_procs(workers, timeout=within)
    return not alive


def test_analysis_workers_exit_when_the_index_run_is_killed(running_index):
    proc, workers = running_index
    proc.send_signal(signal.SIGKILL)  # the parent only, as the OOM killer or `kill -9` would
    proc.wait()
    assert _gone(workers), f"orphaned workers: {[w.pid for w in workers if w.is_running()]}"


def test_ctrl_c_prints_one_line_and_exits_130(running_index):
    proc, workers = running_index
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err, err
    assert _gone(workers)


def test_ctrl_c_while_the_workers_warm_up_is_one_line_too(tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", ["dirt-samples/arpy/arpy01.wav", "dirt-samples/bd/BT0A0A7.wav"])
    cmd = [sys.executable, "-m", "traum.cli.main", "index", str(library), "--model", str(tiny_model),
           "--db", str(tmp_path / "c.db")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    parent, deadline = psutil.Process(proc.pid), time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if any(_loading_fork_server(c) for c in parent.children()):
            break  # the fork server is loading the analysis modules: no worker yet
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    # The fork server's loading overlaps torch's import in the indexer: a Ctrl+C inside code that exec()
    # runs there once ended the interpreter by SIGINT (-2) after our line (tests/cli/test_interrupt_start_up).
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err and "KeyboardInterrupt" not in err, err


def _loading_fork_server(process: psutil.Process) -> bool:
    try:
        # Half a second of CPU: past the interpreter's own start, inside the imports.
        return "multiprocessing.forkserver" in " ".join(process.cmdline()) and sum(process.cpu_times()[:2]) > 0.5
    except psutil.Error:
        return False


@pytest.fixture
def running_analyze(tmp_path):
    files = sorted(str(p) for folder in ("bd", "sn", "hh", "cp", "808", "jvbass", "arpy")
                   for p in (DIRT / folder).iterdir() if p.suffix.lower() == ".wav")[:200]
    code = f"import traum; traum.analyze({files!r}, workers=2)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    workers = _wait_for_workers(proc)
    yield proc, workers
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    for worker in workers:  # first: an orphaned worker holds the pipes open, communicate() would wait for it
        if worker.is_running():
            worker.kill()
    proc.communicate()


def test_analyze_workers_exit_when_the_caller_is_killed(running_analyze):
    proc, workers = running_analyze
    assert proc.poll() is None, "the kill should land mid-run"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _gone(workers), f"orphaned workers: {[w.pid for w in workers if w.is_running()]}"
