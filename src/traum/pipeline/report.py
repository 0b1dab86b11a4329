"""What an indexing run did, for the end-of-run summary, ``traum status`` and the log."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

STAGES = ("discover", "hash", "decode", "analyse", "features", "infer", "write")
#: Where the run's start-up goes, in order: the process until the job starts (interpreter, CLI
#: imports, catalog), finding and planning files, torch + transformers imports, loading the weights,
#: the zero-shot prompt vectors (zero when cached) and sampling the machine's load.
STARTUP = ("process", "discover", "plan", "imports", "model", "prompts", "load probe")


class Progress(Protocol):
    """Where the job reports progress; the CLI draws a bar, the API may pass nothing."""

    def start(self, total: int) -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def notice(self, text: str) -> None: ...


class NullProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def notice(self, text: str) -> None:
        pass


@dataclass
class IndexReport:
    files_seen: int = 0
    unchanged: int = 0
    indexed: int = 0
    #: Paths whose content was already catalogued (duplicates, moved or renamed files): no decoding.
    linked: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0
    missing: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    model: str | None = None
    model_error: str | None = None
    device: str | None = None
    precision: str | None = None
    windows_embedded: int = 0
    #: The run's window budget per file: "3", or "all" (:mod:`traum.embedding.windows`).
    windows_per_file: str = ""
    #: Stems re-embedded because they had fewer windows than this run's budget asks for.
    rewindowed: int = 0
    elapsed: float = 0.0
    #: Busy seconds per stage, summed over the threads (and analysis processes) doing it.
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    #: Seconds a stage spent waiting for another: what the timeline's gaps are made of.
    wait_seconds: dict[str, float] = field(default_factory=dict)
    startup_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STARTUP, 0.0))
    #: How the cores were shared: usable, taken by other processes, inference threads, analysis
    #: processes, decoding threads.
    cores: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float = 0.0
    #: On CUDA: peak memory the model allocated, and the GPU's utilisation at the end (needs pynvml).
    gpu_peak_mb: float | None = None
    gpu_utilisation: float | None = None
    #: Plugin name → hook calls that raised (each logged with the plugin's name; the run went on).
    plugin_errors: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add_busy(stage, time.perf_counter() - start)

    def count_plugin_error(self, plugin: str) -> None:
        with self._lock:
            self.plugin_errors[plugin] += 1

    @contextmanager
    def timed_wait(self, what: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add_wait(what, time.perf_counter() - start)

    def add_wait(self, what: str, seconds: float) -> None:
        with self._lock:
            self.wait_seconds[what] = self.wait_seconds.get(what, 0.0) + seconds

    def add_busy(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.stage_seconds[stage] += seconds

    @contextmanager
    def startup(self, step: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.startup_seconds[step] += time.perf_counter() - start

    def timeline(self) -> list[tuple[str, float, float]]:
        """(stage, busy seconds, share of the run's wall clock) — above 1.0 a stage ran on several cores."""
        return [(stage, busy, busy / self.elapsed if self.elapsed else 0.0)
                for stage, busy in self.stage_seconds.items() if busy]

    @property
    def files_per_second(self) -> float:
        processed = self.indexed + self.linked + self.skipped + self.failed
        return processed / self.elapsed if self.elapsed else 0.0

    @property
    def error_rate(self) -> float:
        attempted = self.indexed + self.linked + self.failed
        return self.failed / attempted if attempted else 0.0

    def finish(self, started: float) -> None:
        self.elapsed = time.perf_counter() - started
        self.peak_rss_mb = peak_rss_mb()
        if self.device and self.device.startswith("cuda"):
            import torch

            self.gpu_peak_mb = torch.cuda.max_memory_allocated() / (1 << 20)
            try:
                self.gpu_utilisation = float(torch.cuda.utilization())
            except Exception:  # noqa: BLE001 - pynvml missing or no permission: leave it out
                self.gpu_utilisation = None

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        data["skip_reasons"] = dict(self.skip_reasons)
        data["plugin_errors"] = dict(self.plugin_errors)
        data["files_per_second"] = round(self.files_per_second, 2)
        data["error_rate"] = round(self.error_rate, 4)
        data["stage_seconds"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        data["wait_seconds"] = {k: round(v, 3) for k, v in self.wait_seconds.items()}
        data["startup_seconds"] = {k: round(v, 3) for k, v in self.startup_seconds.items()}
        data["elapsed"] = round(self.elapsed, 3)
        data["failures"] = self.failures[:100]
        return data


@contextmanager
def interrupts_held() -> Iterator[None]:
    """Ctrl+C and SIGTERM wait until the block is done, then act as they would have: a batch's commit and
    its count in the report are one step, so an interrupted run's report counts what the catalog holds.
    Only on the main thread (the only one Python delivers signals to), and only around short work."""
    wanted = (signal.SIGINT, signal.SIGTERM)
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, object] = {sig: signal.getsignal(sig) for sig in wanted}
    caught: list[tuple[int, object]] = []
    for sig in wanted:
        signal.signal(sig, lambda signum, frame: caught.append((signum, frame)))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            # None: a handler not set from Python, which cannot be put back; the default is the closest.
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)  # type: ignore[arg-type]
        if caught:
            _deliver(previous[caught[0][0]], *caught[0])


def _deliver(handler: object, signum: int, frame: object) -> None:
    if callable(handler):
        handler(signum, frame)  # Python's own for SIGINT raises KeyboardInterrupt
    elif handler in (signal.SIG_DFL, None):
        os.kill(os.getpid(), signum)  # the default action, e.g. ending the process on SIGTERM


def peak_rss_mb() -> float:
    """Peak resident memory of this process (psutil: portable, no per-platform units)."""
    import psutil

    info = psutil.Process().memory_info()
    peak = getattr(info, "peak_wset", None) or _linux_peak_kb() * 1024 or info.rss
    return peak / (1 << 20)


def _linux_peak_kb() -> int:
    """VmHWM, the high-water mark; psutil exposes it only on Windows (peak_wset)."""
    try:
        with open("/proc/self/status") as fh:
            return next((int(line.split()[1]) for line in fh if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0
