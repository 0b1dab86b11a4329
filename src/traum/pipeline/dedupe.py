"""Content de-duplication among files in flight: each content hash is decoded once; other files with the
same content wait for it and share its outcome (written with it, or failed with the same error)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from traum.catalog.store import PathOutcome

INFLIGHT = "inflight"
DONE = "done"


@dataclass(slots=True)
class Waiting:
    """Same content as a file still in flight: written with it, never decoded twice."""

    digest: str
    outcome: PathOutcome


class Claims:
    """Content hash → in flight, done, or the failure every file with that content shares (thread-safe)."""

    def __init__(self) -> None:
        self._claims: dict[str, str | PathOutcome] = {}
        self._waiting: dict[str, list[PathOutcome]] = {}
        self._lock = threading.Lock()

    def claim(self, digest: str) -> bool:
        """True if the caller is the first with this content and must decode it."""
        with self._lock:
            if digest in self._claims:
                return False
            self._claims[digest] = INFLIGHT
            return True

    def fail(self, digest: str, failure: PathOutcome) -> None:
        with self._lock:
            self._claims[digest] = failure

    def settle(self, waiting: Waiting) -> PathOutcome | None:
        """The outcome of a file whose content was claimed by another; None while that one is in flight
        (the file is parked and returned by :meth:`finish` or :meth:`drop`)."""
        with self._lock:
            claim = self._claims.get(waiting.digest)
            if claim == INFLIGHT:
                self._waiting.setdefault(waiting.digest, []).append(waiting.outcome)
                return None
        return same_failure(claim, waiting.outcome) if isinstance(claim, PathOutcome) else waiting.outcome

    def parked(self, digest: str) -> list[PathOutcome]:
        return list(self._waiting.get(digest, []))

    def drop(self, digest: str) -> list[PathOutcome]:
        """The files parked on a content that failed: they fail with it."""
        with self._lock:
            return self._waiting.pop(digest, [])

    def finish(self, digest: str) -> list[PathOutcome]:
        """The content is written: later files with it link to it; returns those parked on it."""
        with self._lock:
            self._claims[digest] = DONE
            return self._waiting.pop(digest, [])


def same_failure(failure: PathOutcome, other: PathOutcome) -> PathOutcome:
    return replace(failure, path=other.path, file_size=other.file_size, mtime_ns=other.mtime_ns)
