"""The sample map: a 2-D layout of one model's vectors, where neighbours sound alike.

The layout is PaCMAP (Apache-2.0). Measured on 100k synthetic clustered vectors on 2 cores, PaCMAP took
80 s, umap-learn 153 s and openTSNE 319 s (benchmarks/map_layout.py repeats it), and PaCMAP keeps
global structure (kicks far from pads) better than t-SNE. A fit is kept in the catalog; samples
indexed later are placed into it by their nearest placed neighbours in the model's space (the fitted
coordinates of the most similar sounds, weighted by similarity), which is instant and never moves
points a producer has learnt, until enough arrived that a refit is worth it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from traum.catalog import Catalog, maps

log = logging.getLogger(__name__)

#: Refit once the points placed into a fit outnumber this share of the points the fit itself laid out.
REFIT_GROWTH = 0.25
#: Below this many samples PaCMAP's neighbour graph is too thin; two principal components lay it out.
MIN_PACMAP = 60
#: Neighbours a new point is placed among.
PLACE_NEIGHBOURS = 8
#: Up to this many samples a fit runs on one thread with fewer iterations. A small fit's 450 gradient
#: steps are each far shorter than numba's thread hand-off, so on a loaded machine (2 cores, many
#: processes) two threads mostly wait for each other: 240 vectors took 26-40 s wall for ~1 s of work.
#: Half the iterations lay out a few thousand points as well (the clusters settle in the first phases).
SMALL_FIT = 5000
SMALL_ITERS = (50, 50, 100)


@dataclass(frozen=True)
class MapUpdate:
    points: int
    placed: int
    refit: bool
    seconds: float


def fit(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """(n, 2) coordinates in [-1, 1] for ``vectors`` (n, d); the same vectors give the same layout."""
    n = len(vectors)
    if n == 0:
        return np.zeros((0, 2))
    if n < MIN_PACMAP:
        coords = _principal_components(vectors)
    else:
        coords = _pacmap(np.asarray(vectors, dtype=np.float32), seed)
    return _normalise(np.asarray(coords, dtype=np.float64))


def place(new_vectors: np.ndarray, vectors: np.ndarray, coords: np.ndarray,
          neighbours: int = PLACE_NEIGHBOURS) -> np.ndarray:
    """Coordinates for ``new_vectors`` in an existing layout of ``vectors`` at ``coords``: the
    similarity-weighted mean of their nearest placed neighbours (cosine; CLAP vectors are unit length)."""
    k = min(neighbours, len(vectors))
    out = np.zeros((len(new_vectors), 2))
    for start in range(0, len(new_vectors), 1024):  # bounds the similarity matrix at 1024 × n
        sims = new_vectors[start:start + 1024] @ vectors.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.take_along_axis(sims, nearest, axis=1)
        # Sharpened: the closest sound pulls hardest, a far neighbour hardly at all.
        weights = np.exp((weights - weights.max(axis=1, keepdims=True)) * 20.0)
        weights /= weights.sum(axis=1, keepdims=True)
        out[start:start + 1024] = np.einsum("nk,nkd->nd", weights, coords[nearest])
    return out


def update_map(catalog: Catalog, model: str, *, refit: bool = False) -> MapUpdate:
    """Bring the model's map in step with the catalog: place new samples into the fit, or refit when
    there is none, when asked, or when the placed ones have grown past :data:`REFIT_GROWTH`."""
    started = time.perf_counter()
    new_ids, new_vectors = maps.unplaced_vectors(catalog, model)
    layout, fitted = maps.current_layout(catalog, model)
    placed_ids, vectors, coords = maps.placed_vectors(catalog, model)
    grown = len(placed_ids) - fitted + len(new_ids)
    if refit or not layout or not placed_ids or grown > REFIT_GROWTH * max(fitted, MIN_PACMAP):
        ids = placed_ids + new_ids
        if not ids:
            return MapUpdate(0, 0, False, 0.0)
        everything = np.vstack([v for v in (vectors, new_vectors) if len(v)])
        maps.replace_layout(catalog, model, ids, fit(everything))
        seconds = time.perf_counter() - started
        log.info("map for %s: laid out %d samples in %.1f s", model, len(ids), seconds)
        return MapUpdate(len(ids), len(ids), True, seconds)
    if new_ids:
        maps.add_points(catalog, model, new_ids, place(new_vectors, vectors, coords), layout)
    return MapUpdate(len(placed_ids) + len(new_ids), len(new_ids), False, time.perf_counter() - started)


def _pacmap(vectors: np.ndarray, seed: int) -> np.ndarray:
    import numba
    import pacmap

    small = len(vectors) <= SMALL_FIT
    threads = numba.get_num_threads()
    if small:
        numba.set_num_threads(1)  # per calling thread: a server's other work keeps its threads
    try:
        reducer = pacmap.PaCMAP(n_components=2, n_neighbors=10, random_state=seed, apply_pca=True,
                                num_iters=SMALL_ITERS if small else (100, 100, 250), verbose=False)
        return np.asarray(reducer.fit_transform(vectors, init="pca"))
    finally:
        numba.set_num_threads(threads)


def _principal_components(vectors: np.ndarray) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    if len(vectors) < 2:
        return np.zeros((len(vectors), 2))
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ axes[:2].T
    return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))


def _normalise(coords: np.ndarray) -> np.ndarray:
    """Centred and scaled into [-1, 1] so the page needs no knowledge of the fit's units."""
    coords = coords - np.median(coords, axis=0)
    scale = float(np.abs(coords).max()) or 1.0
    return coords / scale
