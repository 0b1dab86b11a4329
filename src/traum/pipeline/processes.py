"""Worker processes that are safe to start from a process full of threads.

Indexing runs decoding, writing and inference threads. Forking such a process copies every lock one
of them holds at that instant (SQLite's, the allocator's) into a child that can never release it: an
analysis worker hung for good when its garbage collector finalised an inherited SQLite connection
whose mutex the writer thread held at the fork. So workers come from a fork server: a clean,
single-threaded process started once, with the analysis modules imported there, so each worker still
starts in milliseconds. Where there is no fork server (Windows), workers are spawned.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from multiprocessing.context import BaseContext

#: Imported once in the fork server, so workers forked from it start with them loaded: the first ignores
#: Ctrl+C (before anything slow is imported), the next analyses a synthetic loop, loading everything
#: analysis imports lazily.
PRELOAD = ["traum.ignore_interrupts", "traum.pipeline.worker_preload", "traum.pipeline.prepare"]

#: How often a worker checks that the process it works for is still there.
PARENT_POLL_SECONDS = 0.5


def worker_context() -> BaseContext:
    """The fork server's context with the server running, or spawn where there is no fork server."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    _ensure_fork_server()
    return context


def _ensure_fork_server() -> None:
    """Start the fork server (once) with Ctrl+C blocked in this thread: a signal mask survives exec, so
    the server cannot be interrupted before its first preload module ignores Ctrl+C; a Ctrl+C meant for
    this process meanwhile stays pending and is delivered when the mask is restored."""
    from multiprocessing import forkserver, resource_tracker

    if not hasattr(signal, "pthread_sigmask"):
        forkserver.ensure_running()
        return
    # The fork server starts the resource tracker, which unblocks SIGINT after starting it: first.
    resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def start_worker_server() -> None:
    """Start the fork server now (it returns at once; the server imports and warms up in the background),
    so its warm-up overlaps the model's loading instead of delaying the first analysis."""
    worker_context()


def analysis_worker(parent_pid: int) -> None:
    """Process-pool initializer: one thread for any BLAS/OpenMP pool (the processes are the parallelism;
    their own threads would oversubscribe the cores inference uses) and never outlive the parent."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # threadpoolctl comes with librosa's scikit-learn; without it, keep the defaults
        pass
    watch_parent(parent_pid)


def watch_parent(parent_pid: int) -> None:
    """Process-pool initializer: a worker never outlives the run that started it.

    After a ``kill -9`` of ``traum index`` the pool's workers would wait forever on their queue
    (0.5 GB each, orphaned). A daemon thread polls the process that started the pool — by pid and
    start time, as its parent is the fork server — and exits when it is gone or a zombie. Ctrl+C goes
    to the whole process group: workers ignore it and the parent shuts them down, so the user sees one
    "interrupted" line, not a traceback per worker.
    """
    import psutil

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        parent = psutil.Process(parent_pid)
    except psutil.NoSuchProcess:
        os._exit(1)

    def gone() -> bool:
        try:
            return not parent.is_running() or parent.status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    def poll() -> None:
        while not gone():
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=poll, name="traum-parent-watch", daemon=True).start()
