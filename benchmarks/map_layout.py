"""The sample map's layout: PaCMAP (what Traum uses) vs umap-learn on synthetic clustered CLAP-like
vectors, on 2 cores. Target: 100k samples laid out in <= 2 min.

    PYTHONPATH=src python benchmarks/map_layout.py [--n 100000] [--dim 512] [--skip-umap] [--skip-pacmap]

Also reports how well each keeps clusters apart (silhouette of the true cluster labels in 2-D, on a
5k subsample: higher is better) and the time to place 1000 new samples into the fit (traum's
nearest-neighbour placement, layout.place).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import time

import numpy as np

#: Measured when issue 15 was filed (same machine class, 100k × 512, 2 cores).
BASELINE = {"PaCMAP": 80.0, "umap-learn": 153.0}


def clustered(n: int, dim: int, clusters: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    labels = rng.integers(0, clusters, size=n)
    vectors = centres[labels] + rng.normal(scale=0.6, size=(n, dim))
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32), labels


def separation(coords: np.ndarray, labels: np.ndarray) -> float:
    from sklearn.metrics import silhouette_score

    pick = np.random.default_rng(1).choice(len(coords), size=min(5000, len(coords)), replace=False)
    return float(silhouette_score(coords[pick], labels[pick]))


def run_pacmap(vectors: np.ndarray) -> np.ndarray:
    from traum.search.layout import fit

    return fit(vectors)


def run_umap(vectors: np.ndarray) -> np.ndarray:
    import umap

    return np.asarray(umap.UMAP(n_components=2, n_neighbors=15, random_state=None, n_jobs=2,
                                low_memory=True).fit_transform(vectors))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--skip-umap", action="store_true")
    parser.add_argument("--skip-pacmap", action="store_true")
    args = parser.parse_args()
    vectors, labels = clustered(args.n + 1000, args.dim)
    new, vectors, labels = vectors[:1000], vectors[1000:], labels[1000:]
    rows = []
    for name, run in (("PaCMAP", run_pacmap), ("umap-learn", run_umap)):
        if (name == "umap-learn" and args.skip_umap) or (name == "PaCMAP" and args.skip_pacmap):
            continue
        started = time.perf_counter()
        coords = run(vectors)
        seconds = time.perf_counter() - started
        rows.append((name, seconds, separation(coords, labels)))
        print(f"{name}: {seconds:.1f} s", flush=True)
        if name == "PaCMAP":
            from traum.search.layout import _normalise, place

            coords = _normalise(coords)
            started = time.perf_counter()
            place(new, vectors, coords)
            placing = time.perf_counter() - started
    print(f"\n{args.n} vectors × {args.dim}, 40 clusters, {os.environ['NUMBA_NUM_THREADS']} threads")
    print(f"{'method':<12} {'seconds':>8} {'baseline':>9} {'silhouette':>11}")
    for name, seconds, sil in rows:
        base = BASELINE.get(name) if args.n == 100_000 else None
        print(f"{name:<12} {seconds:>8.1f} {(f'{base:.0f}' if base else '-'):>9} {sil:>11.2f}")
    if not args.skip_pacmap:
        print(f"placing 1000 new samples into the PaCMAP fit: {placing * 1000:.0f} ms (target: the fit in 120 s)")


if __name__ == "__main__":
    main()
