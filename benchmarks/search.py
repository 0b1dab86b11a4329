"""Vector search: Traum's VectorIndex against numpy brute force and FAISS IndexFlatIP, same run.

    python benchmarks/search.py [--sizes 10000,100000,1000000] [--queries 200]

Data with the structure of real embeddings: a mixture of 1,000 clusters in a 32-dimensional
subspace plus small noise, normalised (judged on these); uniform random unit vectors are reported
too (they have no neighbours worth finding). Single-query latency p50/p95, recall@10 against exact,
memory of the vectors as held, build time, and the time to add 10 vectors to the built index.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from common import table

DIM = 512


def clustered(n: int, rng: np.random.Generator, clusters: int = 1000) -> np.ndarray:
    basis = rng.standard_normal((32, DIM)).astype(np.float32)
    centres = rng.standard_normal((clusters, 32)).astype(np.float32)
    out = np.empty((n, DIM), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        x = (centres[rng.integers(0, clusters, m)] + 0.25 * rng.standard_normal((m, 32), np.float32)) @ basis
        x += 0.05 * rng.standard_normal((m, DIM), np.float32)
        out[start:start + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def uniform(n: int, rng: np.random.Generator) -> np.ndarray:
    x = rng.standard_normal((n, DIM), np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def numpy_search(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = q @ x.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), 1), 1)


def latencies(fn, queries: np.ndarray) -> tuple[float, float]:
    times = []
    for row in queries:
        start = time.perf_counter()
        fn(row[None, :])
        times.append(time.perf_counter() - start)
    return float(np.percentile(times, 50) * 1e3), float(np.percentile(times, 95) * 1e3)


def recall(found, x: np.ndarray, q: np.ndarray, truth: np.ndarray) -> float:
    """Share of returned ids whose exact score reaches the exact k-th score (to 1e-5): tight clusters
    have near-ties that float summation order reshuffles, which set overlap would count as misses."""
    hits = 0
    for row, ids, exact in zip(q, found, truth):
        kth = float(np.min(x[exact] @ row))
        ids = [int(i) for i in ids if int(i) < len(x)]
        hits += int(np.sum(x[ids] @ row >= kth - 1e-5))
    return hits / truth.size


def run(name: str, x: np.ndarray, q: np.ndarray, k: int = 10) -> list[list]:
    import faiss

    from traum.search import VectorIndex

    truth = numpy_search(x, q, k)
    rows = []
    p50, p95 = latencies(lambda v: numpy_search(x, v, k), q[:50])
    rows.append([name, len(x), "numpy brute force (float32)", p50, p95, 1.0, x.nbytes / 2**20, 0.0, 0.0])
    start = time.perf_counter()
    flat = faiss.IndexFlatIP(DIM)
    flat.add(x)
    build = time.perf_counter() - start
    p50, p95 = latencies(lambda v: flat.search(v, k), q)
    flat_recall = recall(flat.search(q, k)[1], x, q, truth)
    t = time.perf_counter()
    flat.add(q[:10])
    upd = time.perf_counter() - t
    rows.append([name, len(x), "faiss IndexFlatIP", p50, p95, flat_recall, x.nbytes / 2**20, build, upd * 1e3])
    flat.reset()  # frees its memory before the next index is built
    start = time.perf_counter()
    ours = VectorIndex(DIM)
    ours.add(np.arange(len(x)).tolist(), x)
    build = time.perf_counter() - start
    p50, p95 = latencies(lambda v: ours.search(v, k), q)
    found = ours.search(q, k)[1]
    t = time.perf_counter()
    ours.add(list(range(len(x), len(x) + 10)), q[:10])
    upd = time.perf_counter() - t
    rows.append([name, len(x), f"traum VectorIndex ({ours.kind})", p50, p95, recall(found, x, q, truth),
                 ours.memory_bytes() / 2**20, build, upd * 1e3])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--uniform", action="store_true", help="also run uniform random vectors")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    header = ["data", "n", "method", "p50 ms", "p95 ms", "recall@10", "memory MiB", "build s", "add 10 ms"]
    for n in (int(s) for s in args.sizes.split(",")):
        rows = run("clustered", clustered(n, rng), clustered(args.queries, rng))
        if args.uniform:
            rows += run("uniform", uniform(n, rng), uniform(args.queries, rng))
        print(table(rows, header), flush=True)
        print(f"float16 size of the vectors: {n * DIM * 2 / 2**20:.0f} MiB\n", flush=True)


if __name__ == "__main__":
    main()
