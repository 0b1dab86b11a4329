"""Deterministic windows over long audio, and how many of them a file gets.

CLAP sees 10 s at a time. The reference feature extractor crops longer audio at a random offset
(``rand_trunc``), so the same file would give different vectors on every run. Traum instead places
windows of ``window`` seconds evenly, the first at the start and the last ending exactly at the end,
so the same file always gives the same windows.

Full coverage (``max_windows=None``, ``traum index --windows all``) puts them about ``hop`` seconds
apart (5 s; 10 s in files over 30 s): every part of the file is seen, and search can say where in a
long stem the best match starts. By default a file gets at most :data:`DEFAULT_MAX_WINDOWS`, spread the
same way over the whole file: the pooled file vector still hears its start, middle and end, while
inference (which dominates indexing on a CPU) no longer grows with the length of the few long files
of a producer's library. Files short enough to need no more windows than the budget are unchanged.
"""

from __future__ import annotations

import math

import numpy as np

WINDOW_SECONDS = 10.0
HOP_SECONDS = 5.0
#: Beyond this, windows tile rather than overlap: a loop or a 20 s phrase is searched at 5 s
#: resolution, while a 10-minute stem costs 60 windows instead of 119. On the 1,000-file benchmark
#: library, 8 % fewer windows, nearly all of them from the few songs.
LONG_FILE_SECONDS = 30.0
LONG_HOP_SECONDS = 10.0
#: Windows per file by default (``TRAUM_WINDOWS``). On the mixed benchmark library (10 % of files
#: 30 s - 3 min) full coverage embeds 2.4 windows per file, 3 embeds 1.3: the files up to 20 s (loops,
#: phrases) keep every window, and a long file is still heard at its start, middle and end.
DEFAULT_MAX_WINDOWS = 3
#: The smallest budget: one window would leave all but the first 10 s of a long file unheard, and the
#: catalog could no longer tell a sampled stem from a short one (it keeps window rows only for 2+).
MIN_WINDOWS = 2


def window_starts(n_samples: int, sample_rate: int, *, window: float = WINDOW_SECONDS,
                  hop: float | None = None, max_windows: int | None = None) -> list[int]:
    """Start samples of the windows; a file up to ``window`` long has one window starting at 0.
    ``max_windows``: at most that many, spread over the whole file (None: every ``hop``)."""
    if hop is None:
        hop = HOP_SECONDS if n_samples <= LONG_FILE_SECONDS * sample_rate else LONG_HOP_SECONDS
    size, step = int(round(window * sample_rate)), int(round(hop * sample_rate))
    if n_samples <= size:
        return [0]
    # A few percent of slack, so a 25.03 s file gets 4 windows, not a fifth for its last 30 ms.
    count = math.ceil((n_samples - size) / step - 0.05) + 1
    if max_windows is not None:
        count = min(count, max(MIN_WINDOWS, max_windows))
    return [int(round(x)) for x in np.linspace(0, n_samples - size, count)]


def split_windows(samples: np.ndarray, sample_rate: int, *, window: float = WINDOW_SECONDS,
                  hop: float | None = None, max_windows: int | None = None) -> list[tuple[float, np.ndarray]]:
    """``(offset_seconds, clip)`` pairs; clips are views, not copies."""
    size = int(round(window * sample_rate))
    return [(start / sample_rate, samples[start:start + size])
            for start in window_starts(len(samples), sample_rate, window=window, hop=hop, max_windows=max_windows)]


def parse_max_windows(text: str | int | None) -> int | None:
    """``"all"`` → None (every window); a whole number ≥ :data:`MIN_WINDOWS` → itself. ValueError otherwise."""
    if text is None:
        return DEFAULT_MAX_WINDOWS
    if isinstance(text, str) and text.strip().lower() == "all":
        return None
    value = int(text)
    if value < MIN_WINDOWS:
        raise ValueError(f"at least {MIN_WINDOWS} windows")
    return value


def window_budget(windows: int | str | None) -> int | None:
    """``windows`` (a number ≥ 2, "all", or None for ``TRAUM_WINDOWS``) as a budget; None: every window.
    :class:`~traum.errors.ConfigError` (exit 2) for anything else."""
    from traum.errors import ConfigError
    from traum.settings import get

    value = get("windows") if windows is None else windows
    try:
        return parse_max_windows(value)
    except ValueError:
        raise ConfigError(f"--windows {value}: give a whole number of at least {MIN_WINDOWS}, or all",
                          reason="bad windows") from None


def policy_label(max_windows: int | None) -> str:
    return "all" if max_windows is None else str(max_windows)


def needs_more_windows(duration: float, window_count: int, last_offset: float, max_windows: int | None,
                       window: float = WINDOW_SECONDS) -> bool:
    """Whether a stem embedded with ``window_count`` windows, the last at ``last_offset`` s, has fewer than
    ``max_windows`` asks for (a stem sampled by a budget, re-indexed with ``--windows all`` or a larger
    budget). More windows than asked is fine: a smaller budget never re-embeds.

    Only the stored windows and the duration are needed. The span is measured up to the end of the last
    window, so a file shorter than its header (whose planned windows past its end were dropped) is not
    re-embedded on every run; 10 ms of slack keeps the count's rounding from flipping."""
    covered = min(duration, last_offset + window) - 0.01
    wanted = len(window_starts(max(0, int(covered * 1000)), 1000, window=window, max_windows=max_windows))
    return window_count < wanted
