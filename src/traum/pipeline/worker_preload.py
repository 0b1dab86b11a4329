"""Imported once by the analysis workers' fork server (see :mod:`traum.pipeline.processes`).

Importing this analyses one short synthetic loop, so every lazily imported module (librosa's
submodules, scipy.signal, pyloudnorm, plugins) and every cached filter bank is loaded in the fork server
and inherited by each worker it forks: a worker's first file then costs what its hundredth does
(without it each worker spent ~3 s on its first file, ~12 s on a busy machine).
"""

from __future__ import annotations

import logging

import numpy as np


def _warm_up() -> None:
    from threadpoolctl import threadpool_limits

    from traum.plugins.analysis import analyse_for_catalog

    # One BLAS thread in the server, as in its workers: a forked worker inherits no idle thread pool.
    threadpool_limits(1)
    rate = 44_100
    t = np.arange(2 * rate) / rate
    clicks = (np.sin(2 * np.pi * 60 * t) * np.exp(-20 * (t % 0.5))).astype(np.float32)
    tone = 0.2 * np.sin(2 * np.pi * 220 * t).astype(np.float32)
    analyse_for_catalog(clicks + tone, rate, "warm-up.wav", rate, 16, False)


try:
    _warm_up()
except Exception:  # a failed warm-up only costs the workers their first file's imports
    logging.getLogger(__name__).debug("analysis warm-up failed", exc_info=True)
