"""Indexing throughput: Traum's pipeline against the seed's naive loop, same files, same run.

    python benchmarks/index.py [--files 1000] [--sizes 1000,10000]

Model: the full-size CLAP architecture (``ClapConfig()``) with random weights (real weights cannot be
downloaded here; speed depends on the architecture, not the weights).

Baseline (the seed's way): sequential ``librosa.load(sr=48000)``, batches of 32 through
``ClapProcessor`` (the model folder's config), fp32 ``get_audio_features``, no overlap.
Each side runs in its own process so peak RSS is its own. Fidelity: cosine between the two sides'
vectors for files up to 10 s (longer ones are cropped at random by the baseline), raw and after
removing the mean (random weights map everything to similar vectors).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import build_library, full_size_model, log, table  # noqa: E402


def baseline(model_dir: str, files: list[str], out: str) -> dict:
    import librosa
    import torch
    from transformers import ClapModel, ClapProcessor

    from traum.pipeline.report import peak_rss_mb

    # The clock starts before loading the model, as Traum's does (run_index loads it).
    start = time.perf_counter()
    model = ClapModel.from_pretrained(model_dir).eval()
    processor = ClapProcessor.from_pretrained(model_dir)
    t_load = t_feat = t_infer = 0.0
    vectors = []
    for i in range(0, len(files), 32):
        t0 = time.perf_counter()
        audio = [librosa.load(f, sr=48_000, mono=True)[0] for f in files[i:i + 32]]
        t1 = time.perf_counter()
        inputs = processor(audio=audio, sampling_rate=48_000, return_tensors="pt")
        t2 = time.perf_counter()
        with torch.inference_mode():
            result = model.get_audio_features(**inputs)
        vectors.append(getattr(result, "pooler_output", result).numpy())
        t3 = time.perf_counter()
        t_load, t_feat, t_infer = t_load + t1 - t0, t_feat + t2 - t1, t_infer + t3 - t2
    elapsed = time.perf_counter() - start
    np.save(out, np.vstack(vectors))
    return {"elapsed": elapsed, "files_per_second": len(files) / elapsed, "peak_rss_mb": peak_rss_mb(),
            "stages": {"decode": t_load, "features": t_feat, "infer": t_infer}}


def ours(model_dir: str, folder: str, db: str, files: list[str], out: str, analyse: bool = True) -> dict:
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    start = time.perf_counter()
    with Catalog(db) as catalog:
        # No embedding cache: a warm cache would make this run free and the comparison meaningless.
        report = run_index([folder], catalog, IndexOptions(model=model_dir, cache=False, analyse=analyse))
        elapsed = time.perf_counter() - start
        by_path = {}
        for row in catalog.conn.execute("SELECT p.file_path, s.clap_embedding FROM processing_status p JOIN stems s "
                                        "ON s.id = p.file_hash"):
            by_path[row[0]] = np.frombuffer(row[1], np.float32)
    np.save(out, np.stack([by_path[f] for f in files]))
    return {"elapsed": elapsed, "files_per_second": len(files) / elapsed, "peak_rss_mb": report.peak_rss_mb,
            "stages": {k: v for k, v in report.stage_seconds.items() if v}, "precision": report.precision,
            "windows": report.windows_embedded, "indexed": report.indexed, "failed": report.failed}


def _child(args: list[str]) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def _cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    def rows(x, y):
        return np.sum(x * y, 1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))

    mean = b.mean(axis=0)
    return float(rows(a, b).min()), float(rows(a - mean, b - mean).min())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--sizes", default="", help="extra library sizes for Traum alone, e.g. 10000")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        kind, *rest = args.child
        files = json.loads(Path(rest[-2]).read_text())
        if kind == "baseline":
            result = baseline(rest[0], files, rest[-1])
        else:
            result = ours(rest[0], rest[1], rest[2], files, rest[-1], analyse=kind == "ours")
        print(json.dumps(result))
        return
    import soundfile as sf

    model = str(full_size_model())
    work = Path(tempfile.mkdtemp(prefix="traum-bench-"))
    lib = work / "lib"
    files = [str(f) for f in build_library(lib, args.files)]
    listing = work / "files.json"
    listing.write_text(json.dumps(files))
    log(f"library: {len(files)} files in {lib}; model {model}")
    log("running baseline …")
    base = _child(["baseline", model, str(listing), str(work / "base.npy")])
    log("running traum (embeddings only, --no-analyse) …")
    mine = _child(["embed-only", model, str(lib), str(work / "ours.db"), str(listing), str(work / "ours.npy")])
    log("running traum (embeddings + full analysis) …")
    full = _child(["ours", model, str(lib), str(work / "full.db"), str(listing), str(work / "full.npy")])
    short = np.array([sf.info(f).duration <= 10 for f in files])
    raw, centred = _cosines(np.load(work / "ours.npy")[short], np.load(work / "base.npy")[short])
    stages = sorted(set(base["stages"]) | set(mine["stages"]) | set(full["stages"]))
    rows = [["files/s", base["files_per_second"], mine["files_per_second"], full["files_per_second"]],
            ["elapsed s", base["elapsed"], mine["elapsed"], full["elapsed"]],
            ["peak RSS MB", base["peak_rss_mb"], mine["peak_rss_mb"], full["peak_rss_mb"]]]
    rows += [[f"{s} s (summed over threads)", base["stages"].get(s, 0.0), mine["stages"].get(s, 0.0),
              full["stages"].get(s, 0.0)] for s in stages]
    print(f"\nIndexing {len(files)} files, full-size CLAP (random weights), precision {mine['precision']}, "
          f"{mine['windows']} windows for Traum vs {len(files)} for the baseline (long files: one random crop)\n")
    print(table(rows, ["", "baseline (seed)", "traum --no-analyse", "traum (with analysis)"]))
    print(f"\nspeed-up: {mine['files_per_second'] / base['files_per_second']:.2f}x embeddings only, "
          f"{full['files_per_second'] / base['files_per_second']:.2f}x with full analysis (which the baseline lacks)")
    print(f"fidelity on {int(short.sum())} files <= 10 s: min raw cosine {raw:.5f}, min mean-removed cosine {centred:.4f}")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        scale_rows = [[len(files), mine["elapsed"], mine["files_per_second"], mine["peak_rss_mb"]]]  # --no-analyse
        for n in sizes:
            big = work / f"lib{n}"
            big_files = [str(f) for f in build_library(big, n)]
            listing.write_text(json.dumps(big_files))
            r = _child(["embed-only", model, str(big), str(work / f"ours{n}.db"), str(listing), str(work / f"o{n}.npy")])
            scale_rows.append([n, r["elapsed"], r["files_per_second"], r["peak_rss_mb"]])
        print("\n" + table(scale_rows, ["files", "elapsed s", "files/s", "peak RSS MB"]))


if __name__ == "__main__":
    main()
