"""Ctrl+C at any moment of `traum index`'s start-up is one line and exit 130: while Python loads the CLI,
inside torch's import, and in code that exec() runs (where CPython 3.11 marks a caught KeyboardInterrupt
as unhandled and ends the interpreter by SIGINT, exit -2, after our line)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import traum
from tests.helpers import copy_library

INTERRUPTED = "error: interrupted; everything committed so far is kept — run the same command again to continue"


def test_a_ctrl_c_raised_inside_exec_code_still_exits_130(tmp_path):
    # Deterministic: what a Ctrl+C inside a dataclass's generated method during torch's import does. Run
    # with -m, as the mark is only read when the main module ends by SystemExit that way (a console script
    # exits inside SystemExit's handling, before reading it).
    (tmp_path / "boom_cli.py").write_text("from traum.cli import main as cli\n"
                                          "cli.app.command('boom')(lambda: exec('raise KeyboardInterrupt'))\n"
                                          "cli.main(['boom'])\n")
    here = str(Path(traum.__file__).parents[1])  # this traum, whatever the cwd (PYTHONPATH=src is relative)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "boom_cli"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env=env)
    assert done.returncode == 130 and done.stderr.strip() == INTERRUPTED, (done.returncode, done.stderr)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _torch_loaded(process: psutil.Process) -> bool:
    with open(f"/proc/{process.pid}/maps") as maps:
        return "libtorch_cpu" in maps.read()


#: Moments of the start-up: (what must have happened, CPU seconds of the process after it).
MOMENTS = {
    "loading the CLI": (lambda p: True, 0.12),  # the interpreter itself takes ~0.05 s, the CLI's imports ~0.3 s
    "torch's library just mapped": (_torch_loaded, 0.0),
    "torch's Python modules": (_torch_loaded, 0.3),
    "transformers' modules": (_torch_loaded, 0.8),
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("moment", MOMENTS)
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(moment, tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", ["dirt-samples/bd/BT0A0A7.wav"])
    cmd = [sys.executable, "-m", "traum.cli.main", "index", str(library), "--model", str(tiny_model),
           "--db", str(tmp_path / "c.db"), "--no-analyse"]  # no fork server: the main process's start-up only
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    reached, cpu_after = MOMENTS[moment]
    process, deadline, since = psutil.Process(proc.pid), time.monotonic() + 120, None
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if since is None and reached(process):
                since = _cpu(process)
            if since is not None and _cpu(process) >= since + cpu_after:
                break
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGINT)
    except (psutil.Error, OSError):
        pass  # the run ended first: then it must have succeeded
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip(f"the run finished before {moment}")
    assert proc.returncode == 130 and err.strip() == INTERRUPTED, (proc.returncode, err)
