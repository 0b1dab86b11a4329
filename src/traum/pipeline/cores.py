"""How many cores an indexing run may use, and keeping torch from fighting over them.

A producer indexes while the DAW runs. Measured here: with another process keeping one of two cores
busy, two OpenMP threads that spin at every barrier made each inference batch wait for a thread the
scheduler had parked, and inference ran 3.5x slower than the seed's loop on the same machine. So the
job counts the cores that are actually free (affinity mask minus what other processes use), gives
torch that many intra-op threads minus the analysis processes, and makes OpenMP wait passively.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any

from traum.embedding.threads import set_torch_threads

log = logging.getLogger(__name__)

#: Shortest interval the machine's load is sampled over; shorter ones are noise.
MIN_SAMPLE_SECONDS = 0.1
#: A core counts as taken when others keep it this busy (a DAW at 40 % is still a core we would fight).
TAKEN_SHARE = 0.4


def passive_threads() -> None:
    """Before torch loads: OpenMP threads sleep at barriers instead of spinning (spinning threads steal
    the core from the thread they wait for when the machine is busy), one inter-op thread. Environment
    values the user set win; once torch is loaded this changes nothing, so it is called first thing."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("KMP_BLOCKTIME", "0")  # the Intel OpenMP runtime's name for the same


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, e.g. under ``taskset`` or a container)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # macOS and Windows have no affinity masks
        return os.cpu_count() or 1


#: CPU time that competes with an ordinary process. Niced processes ("nice" time: a batch job, a
#: `nice make`) yield the core whenever we want it, so they take nothing from the run; a DAW runs at
#: normal or raised priority and is counted.
_COMPETING = ("user", "system", "irq", "softirq", "steal")


def _niced() -> bool:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0) > 0
    except (AttributeError, OSError):  # not on this platform
        return False


class LoadProbe:
    """CPU time used by *other* processes since the probe started, in cores.

    System-wide busy time minus this process's own over the same interval: the start-up (imports,
    model load) is sampled for free, and our own work is never mistaken for a competitor's.
    """

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._system, self._own = _busy_seconds()

    def others_busy(self) -> float:
        elapsed = time.monotonic() - self._started
        if elapsed < MIN_SAMPLE_SECONDS:
            time.sleep(MIN_SAMPLE_SECONDS - elapsed)
            elapsed = time.monotonic() - self._started
        system, own = _busy_seconds()
        return max(0.0, (system - self._system) - (own - self._own)) / elapsed


def _busy_seconds() -> tuple[float, float]:
    import psutil

    system = psutil.cpu_times()
    busy = sum(getattr(system, name, 0.0) for name in _COMPETING)
    if _niced():  # a niced run competes with other niced work, and its own CPU time is counted there
        busy += getattr(system, "nice", 0.0)
    me = psutil.Process()
    own = me.cpu_times()
    return busy, own.user + own.system + own.children_user + own.children_system + _live_children_seconds(me)


def _live_children_seconds(me: Any) -> float:
    """CPU of our running child processes (the analysis fork server warming up): ours, not a competitor's."""
    import psutil

    total = 0.0
    for child in me.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


@dataclass(frozen=True, slots=True)
class CoreBudget:
    """Cores for the run: inference threads + analysis processes never exceed the free cores."""

    usable: int
    taken: int
    inference_threads: int
    analysis_processes: int
    decode_threads: int

    @property
    def free(self) -> int:
        return max(1, self.usable - self.taken)


def plan_cores(*, analyse: bool, others_busy: float = 0.0, usable: int | None = None,
               analysis_processes: int | None = None, decode_threads: int | None = None,
               inference_device: str | None = "cpu") -> CoreBudget:
    """With analysis on and the model on this CPU, one free core in four (at least one) goes to analysis
    processes and the rest to inference; on one free core both share it: one inference thread, one
    analysis process that sleeps while there is nothing to analyse. With the model on a GPU one core feeds
    it (decoding, batches) and analysis has the rest; without a model (not available: files are catalogued,
    embeddings pending) analysis has every free core. Decoding threads mostly wait on I/O and release the
    GIL: two per free core keep the model fed without taking a core from it."""
    usable = usable or usable_cores()
    taken = int(others_busy + (1 - TAKEN_SHARE))  # rounds 0.6 busy up to a core, 0.5 down
    taken = min(max(taken, 0), usable - 1)
    free = usable - taken
    if inference_device is None:
        feeding = 0
    elif inference_device == "cpu":
        feeding = free - free // 4
    else:
        feeding = 1  # decoding and batching for the GPU
    analysis = 0
    if analyse:
        analysis = analysis_processes or max(1, free - feeding)
    threads = 0
    if inference_device is not None:
        threads = max(1, free - analysis) if free > 1 else 1
    decode = decode_threads or max(2, 2 * free)
    return CoreBudget(usable, taken, threads, analysis, decode)


def apply_torch_threads(threads: int, *, interop: bool = False) -> None:
    """Set torch's intra-op threads (cheap, may change between batches); with ``interop``, also one
    inter-op thread (only possible before torch has run anything in parallel)."""
    set_torch_threads(threads)
    torch = sys.modules.get("torch")
    if torch is None or not interop:
        return
    with contextlib.suppress(RuntimeError):  # already started by an earlier run in this process
        torch.set_num_interop_threads(1)
