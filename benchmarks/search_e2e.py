"""Warm end-to-end `traum search` latency on a 100k-sample catalog (model loaded, as in the server).

    python benchmarks/search_e2e.py [--n 100000] [--model DIR]

The catalog is synthetic (clustered unit vectors, producer-style paths) but real: SQLite, FTS5,
the vector index, the full-size CLAP text tower (random weights) for query embeddings.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import full_size_model, table
from search import clustered

FOLDERS = ["Kicks", "Snares", "Hats", "Claps", "Loops/Drums", "Bass", "Pads", "Vox", "FX", "Field"]
QUERIES = ["punchy kick", "dusty snare 90 bpm", "open hat", "bright analog pad in F minor", "bass 125 bpm",
           "vocal chop", "riser fx", "birds", "drum loop 170 bpm", "warm pad"]


def build(db: Path, n: int) -> None:
    from traum.catalog import Catalog
    from traum.catalog.store import PathOutcome, StemRecord

    rng = np.random.default_rng(0)
    vectors = clustered(n, rng)
    with Catalog(db) as catalog:
        for start in range(0, n, 5000):
            stems, outcomes, embeds = [], [], []
            for i in range(start, min(n, start + 5000)):
                path = f"/lib/{FOLDERS[i % len(FOLDERS)]}/sample_{i:06d}.wav"
                sid = f"{i:064x}"
                facts = {"bpm": float(80 + i % 100) if i % 3 == 0 else None, "category": None}
                stems.append(StemRecord(sid, path, 1000, 1.0 + i % 7, 48000, 1, 16, "WAV/PCM_16", facts))
                outcomes.append(PathOutcome(path, "indexed", sid, 1000, 1))
                embeds.append((sid, vectors[i], [], "bench"))
            catalog.write_batch(stems, outcomes, embeds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    import os

    os.environ["TRAUM_CACHE_DIR"] = tempfile.mkdtemp()  # a cold text cache: "new text" must really be new
    from traum.catalog import Catalog
    from traum.embedding import load_model
    from traum.search import SearchEngine

    db = Path(tempfile.mkdtemp()) / "big.db"
    start = time.perf_counter()
    build(db, args.n)
    print(f"built {args.n} stems in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    model = load_model(args.model or str(full_size_model()))
    with Catalog(db, readonly=True) as catalog:
        engine = SearchEngine(catalog, model)
        t = time.perf_counter()
        engine.vector_index()
        first = time.perf_counter() - t
        rows = []
        for label, queries in (("new text (text tower runs)", [q + " x" for q in QUERIES]),
                               ("repeated text (cached vector)", QUERIES * 3)):
            times = []
            for q in queries:
                s = time.perf_counter()
                engine.search(q, k=10)
                times.append(time.perf_counter() - s)
            rows.append([label, len(times), np.percentile(times, 50) * 1e3, np.percentile(times, 95) * 1e3])
    print(f"first search builds/loads the vector index: {first:.1f} s")
    print(table(rows, ["queries", "n", "p50 ms", "p95 ms"]))


if __name__ == "__main__":
    main()
