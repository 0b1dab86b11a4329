"""Memory freed by a thread goes back to the system when the writer trims the heap (glibc keeps it in the
thread's arena otherwise: decoded audio freed by the decoding threads stayed resident)."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: 300 MB in 100 kB blocks (under glibc's mmap threshold, so they live in the arena) allocated and freed
#: by a thread, as a decoding thread does; the process's RSS in MB before and after trimming.
SCRIPT = """
import threading, psutil
from traum.pipeline.heap import trim_heap

def churn():
    blocks = [bytearray(100_000) for _ in range(3_000)]
    del blocks[:-1]  # the last block keeps the arena's top in use, as live data would

thread = threading.Thread(target=churn)
thread.start()
thread.join()
held = psutil.Process().memory_info().rss >> 20
trimmed = trim_heap()
print(held, psutil.Process().memory_info().rss >> 20, trimmed)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_memory_a_thread_freed_is_returned_by_trimming_the_heap():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    held, after, trimmed = done.stdout.split()
    assert trimmed == "True" and int(held) - int(after) > 200, done.stdout


def test_the_trim_runs_at_most_once_a_second(monkeypatch):
    from traum.pipeline import heap

    calls = []
    monkeypatch.setattr(heap, "trim_heap", lambda: calls.append(1) or True)
    trimmer = heap.HeapTrimmer()
    trimmer()
    trimmer()
    assert calls == [1]
