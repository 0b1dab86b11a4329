"""Compile numba's kernels before the tests need them: `.ci/run` starts ``python -m tests.warm_numba``
beside the tests.

librosa (analysis) and pacmap (the sample map) compile their numba kernels on first use and cache them
beside the packages (``cache=True``). A fresh venv has no cache, so the first test to analyse a file and
the first to lay out a map each paid ~35 s of one core compiling (measured with an empty
NUMBA_CACHE_DIR: 43 s of CPU for six kick one-shots, 6 s with the cache). Compiled here, in a process of
its own, on the core the tests' first minutes leave idle; a test that gets there first compiles as it
always did, and numba's cache files are written atomically, so either way the tests run the same code.
Nothing is asserted: the tests prove behaviour, this only fills the cache they read.
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
