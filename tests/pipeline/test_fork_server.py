"""The analysis fork server ignores Ctrl+C from its first instruction: a Ctrl+C while it loads the analysis
modules printed numpy's traceback from it under the indexer's one line."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

#: Ctrl+C to the fork server every few milliseconds from the moment it exists until it has loaded (its
#: SIGCHLD handler, installed right after the preload), then a worker forked from it runs a task.
SCRIPT = """
import os, signal, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import forkserver
from traum.pipeline.processes import start_worker_server, worker_context

start_worker_server()
context = worker_context()
server = forkserver._forkserver._forkserver_pid
sent, deadline = 0, time.monotonic() + 300

def status():
    with open(f"/proc/{server}/status") as lines:
        return dict(line.split(":", 1) for line in lines)

def loading():
    now = status()  # a server that died is a zombie until this process reaps it
    return now["State"].split()[0] != "Z" and not int(now["SigCgt"], 16) & (1 << (signal.SIGCHLD - 1))

while loading() and time.monotonic() < deadline:
    os.kill(server, signal.SIGINT)
    sent += 1
    time.sleep(0.005)
with ProcessPoolExecutor(1, mp_context=context) as pool:
    print(sent, pool.submit(os.getppid).result() == server)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_while_the_fork_server_loads_neither_stops_it_nor_prints_a_traceback():
    assert signal.getsignal(signal.SIGINT) != signal.SIG_IGN  # else the server would inherit it ignored
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600,
                          start_new_session=True)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    sent, forked_by_the_server = done.stdout.split()
    assert forked_by_the_server == "True" and int(sent) > 10
