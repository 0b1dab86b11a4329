"""An index run stopped by Ctrl+C or SIGTERM is in `traum status --runs` with what it did; the rerun finishes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import run_traum
from tests.helpers import CORPUS, DIRT, copy_library

#: Enough that a run is still going a moment after its first commit (~30 files/s here: 2 s); each one more
#: is one more for the rerun to do.
FILES = 60


@pytest.fixture
def library(tmp_path) -> Path:
    files = sorted(str(p.relative_to(CORPUS)) for folder in ("bd", "sn", "hh", "cp", "808", "arpy")
                   for p in (DIRT / folder).iterdir() if p.suffix.lower() == ".wav")[:FILES]
    return copy_library(tmp_path / "lib", files)


def index_until_some_are_written(library: Path, db: Path, model: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "traum.cli.main", "index", str(library), "--model", str(model), "--db", str(db),
           "--batch-size", "2", "--workers", "1"]
    # A session of its own, so a signal to its group reaches only this run (as Ctrl+C in a terminal).
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if _indexed(db):
            # Not at the very moment of a commit: its files are counted in the run's report just after it.
            time.sleep(0.3)
            if proc.poll() is None:
                return proc
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"the run wrote nothing before it ended: {proc.communicate()[1]}")


def _indexed(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return conn.execute("SELECT count(*) FROM processing_status WHERE status = 'indexed'").fetchone()[0]
    except sqlite3.Error:  # not created or migrated yet
        return 0


# Only the interrupted run needs a process of its own: status and the rerun go through the same CLI in this
# process (each process would import torch again for nothing these tests prove).
def runs(db: Path) -> list[dict]:
    return json.loads(run_traum("status", "--db", db, "--runs", "5", "--json").stdout)["runs"]


@pytest.mark.parametrize(("send", "why"), [
    (lambda proc: os.killpg(proc.pid, signal.SIGINT), "interrupted (SIGINT)"),  # Ctrl+C: the whole group
    (lambda proc: proc.send_signal(signal.SIGTERM), "interrupted (SIGTERM)"),  # kill, docker stop: the process
])
def test_an_interrupted_run_is_recorded_and_a_rerun_finishes_the_rest(library, tmp_path, tiny_model, send, why):
    db = tmp_path / "c.db"
    proc = index_until_some_are_written(library, db, tiny_model)
    send(proc)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130 and "interrupted" in err and "Traceback" not in err, err
    done = _indexed(db)
    [run] = runs(db)
    report = run["report"]
    assert report["interrupted"] == why and run["finished_at"]
    assert report["planned"] == FILES and 1 <= report["indexed"] <= done < FILES
    table = run_traum("status", "--db", db, "--runs", "5").stdout
    assert why in table and f"of {FILES}" in table
    if "SIGTERM" in why:  # the rest is the same after either signal
        return

    rerun = run_traum("index", library, "--model", tiny_model, "--db", db, "--json")
    assert rerun.code == 0, rerun.stderr
    assert json.loads(rerun.stdout)["indexed"] == FILES - done and _indexed(db) == FILES
    newest, interrupted = runs(db)
    assert "interrupted" not in newest["report"] and interrupted["report"]["interrupted"] == why
    assert "done" in run_traum("status", "--db", db, "--runs", "5").stdout


def test_a_run_refused_before_any_work_is_no_run(tmp_path):
    db = tmp_path / "c.db"
    refused = run_traum("index", tmp_path / "no-such-folder", "--db", db, "--no-analyse")
    assert refused.code == 2 and "does not exist" in refused.stderr and not db.exists()
    refused = run_traum("index", tmp_path, "--model", tmp_path / "no-such-model", "--db", db, "--no-analyse")
    assert refused.code == 2 and "does not exist" in refused.stderr
    assert runs(db) == []
