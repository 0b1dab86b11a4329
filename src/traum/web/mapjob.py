"""The sample map behind ``GET /api/map``: laid out off the request thread.

A first fit of a big catalog takes minutes (PaCMAP, ~80 s per 100k samples on 2 cores), longer than a
browser waits for a response. So a request that finds the map out of step starts one background job
(its own catalog connection: the request threads keep theirs), waits briefly for it (placing a few new
samples takes milliseconds), and otherwise answers "laying out N samples" for the page to poll.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from traum.catalog import Catalog

log = logging.getLogger(__name__)

#: How long a request waits for a job before answering "still laying out": enough for an
#: incremental placement, short enough that the page shows progress for a fit.
WAIT_SECONDS = 1.5


@dataclass(frozen=True)
class MapState:
    ready: bool
    samples: int  # samples the running job lays out (0 when ready)
    seconds: float  # how long it has been running
    error: str | None = None


class MapJobs:
    """One background layout per model at a time; its last error is reported once, then retried."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[threading.Thread, int, float]] = {}
        self._errors: dict[str, str] = {}

    def ensure(self, model: str, counts: tuple[int, int], wait: float | None = None) -> MapState:
        """Ready when the model's map holds every present embedded sample (``counts`` is
        :func:`maps.unplaced_count`, read by the caller under its own lock); else a job runs (started
        here if none is) and its state is returned after up to ``wait`` seconds."""
        with self._lock:
            error = self._errors.pop(model, None)
            if error:
                return MapState(False, 0, 0.0, error)
            job = self._jobs.get(model)
            if job is None:
                unplaced, embedded = counts
                if not unplaced:
                    return MapState(True, 0, 0.0)
                thread = threading.Thread(target=self._run, args=(model,), name=f"traum-map-{model}", daemon=True)
                job = (thread, embedded, time.monotonic())
                self._jobs[model] = job
                thread.start()
        thread, samples, started = job
        thread.join(WAIT_SECONDS if wait is None else wait)
        if thread.is_alive():
            return MapState(False, samples, time.monotonic() - started)
        with self._lock:
            error = self._errors.pop(model, None)
        return MapState(error is None, 0, 0.0, error)

    def _run(self, model: str) -> None:
        from traum.search.layout import update_map

        try:
            with Catalog(self.db) as catalog:
                update_map(catalog, model)
        except Exception as err:  # a thread's boundary: the page gets one line, the log the details
            log.error("laying out the sample map failed", exc_info=err)
            with self._lock:
                self._errors[model] = f"the sample map could not be laid out ({err}); details in the log file"
        finally:
            with self._lock:
                self._jobs.pop(model, None)
