"""Handing freed memory back to the system during a run.

glibc keeps what a thread's arena freed for that thread's next allocations: decoded audio freed by the
decoding threads stayed resident (~230 MB on a mixed library) until the run ended. ``malloc_trim``
returns it. Other C libraries (macOS, musl) have no such call and return memory their own way.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import time
from collections.abc import Callable

#: Trim at most this often: a trim walks every arena, and batches can follow each other quickly.
TRIM_SECONDS = 1.0


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        trim = ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Return the free pages of every malloc arena to the system; False where there is no such call."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class HeapTrimmer:
    """:func:`trim_heap`, at most once per :data:`TRIM_SECONDS`."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last >= TRIM_SECONDS:
            self._last = now
            trim_heap()
