"""Compile numba's kernels before the tests need them: `.ci/run` runs ``python -m tests.warm_numba``
beside mypy, before the tests (never beside them: two processes writing the same kernel into numba's
cache at once left a cache whose readers crashed with a segmentation fault).

librosa (analysis) and pacmap (the sample map) compile their numba kernels on first use and cache them
beside the packages (``cache=True``). A fresh venv has no cache, so the first test to analyse a file and
the first to lay out a map each paid ~35 s of one core compiling (measured with an empty
NUMBA_CACHE_DIR: 43 s of CPU for six kick one-shots, 6 s with the cache). Compiled here, once, on
the core mypy leaves idle. Nothing is asserted: the tests prove behaviour, this only fills the cache they read.
"""

from __future__ import annotations

import numpy as np

from tests.helpers import DIRT

#: A one-shot, a drum loop and tonal material: the analysis paths the first tests take (tempo, key, note).
FILES = ["bd/BT0A0A7.wav", "breaks125/016_bllstmp.wav", "pad/alien-monolith-pad.wav", "jvbass/000_01.wav"]


def main() -> None:
    from traum.api import analyze
    from traum.search import layout

    analyze([DIRT / f for f in FILES if (DIRT / f).is_file()], workers=1)
    # Above MIN_PACMAP points, so PaCMAP (not the principal components) lays them out.
    layout.fit(np.random.default_rng(0).normal(size=(240, 64)).astype(np.float32))


if __name__ == "__main__":
    main()
