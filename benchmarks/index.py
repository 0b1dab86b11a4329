"""Indexing throughput: Traum's pipeline against the seed's naive loop, same files, same run.

    python benchmarks/index.py [--files 120] [--mixed] [--busy] [--sizes 10000] [--windows N|all]
    python benchmarks/index.py --rss 256,1000 [--model full|tiny] [--before-src OLD/src] [--audio-mb MB]

Model: the full-size CLAP architecture (``ClapConfig()``) with random weights (real weights cannot be
downloaded here; speed depends on the architecture, not the weights).

Every side is a whole process, timed from spawn to exit by this script: interpreter, imports, model
load, all files, exit. Traum runs as a user runs it (``traum index --json``, embedding cache off via
``TRAUM_CACHE_MAX_MB=0``; the zero-shot prompt vectors are cached as after any earlier run, the cold
cost is printed). Baseline (the seed's way): sequential ``librosa.load(sr=48000)``, batches of 32
through ``ClapProcessor`` (the model folder's config), fp32 ``get_audio_features``, no overlap.

Windows: Traum embeds at most 3 windows per file by default (``--windows all``: every part of every
file); the table prints the budget, the windows embedded and windows per file for every side.

``--mixed``: a library shaped like a producer's (one-shots, bar loops, 30 s - 3 min files; see
:func:`common.build_mixed_library`) instead of corpus copies. ``--busy``: every side again while another
process keeps one core busy; the slowdown is reported per side. CPU seconds are the process tree's.
Fidelity: cosine between the two sides' vectors for files up to 10 s (longer ones are cropped at
random by the baseline), raw and after removing the mean (random weights map everything to similar
vectors).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CACHE, REPO, build_library, build_mixed_library, full_size_model, log, table

#: ``--windows`` for Traum's sides (None: Traum's default budget).
WINDOWS: str | None = None


def baseline(model_dir: str, files: list[str], out: str) -> dict:
    import librosa
    import torch
    from transformers import ClapModel, ClapProcessor

    from traum.pipeline.report import peak_rss_mb

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


def traum_index(model_dir: str, folder: str, db: str, env: dict[str, str], analyse: bool) -> dict:
    """``traum index`` as a user runs it, in its own process; returns its --json report plus the times."""
    cmd = [sys.executable, "-m", "traum.cli.main", "index", folder, "--db", db, "--model", model_dir, "--json"]
    cmd += ["--windows", WINDOWS] if WINDOWS else []
    wall, cpu, out = _timed(cmd + ([] if analyse else ["--no-analyse"]), env)
    report = json.loads(out)
    # The analysis processes are the fork server's children, and nobody here waits for the fork server:
    # their CPU is not in RUSAGE_CHILDREN. Each analysis measures its own CPU (the report's busy time).
    cpu += report["stage_seconds"].get("analyse", 0.0)
    return {"elapsed": wall, "cpu": cpu, "files_per_second": report["files_seen"] / wall, "report": report,
            "peak_rss_mb": report["peak_rss_mb"]}


def rss_runs(sizes: list[int], model_kind: str, work: Path, env: dict[str, str], before_src: str | None,
             audio_mb: str | None) -> None:
    """``--rss``: ``traum index`` with analysis (the default) on mixed libraries of each size: peak RSS of
    the main process and files/s, optionally side by side with another source tree (``--before-src``),
    run alternately on the same library so both see the same machine."""
    if model_kind == "tiny":
        from traum.testing import build_random_clap

        model = str(CACHE / "clap-tiny-random")
        if not (Path(model) / "config.json").exists():
            build_random_clap(model)
    else:
        model = str(full_size_model())
    sides = {"after": env}
    if before_src:
        sides = {"before": {**env, "PYTHONPATH": os.pathsep.join([before_src, os.environ.get("PYTHONPATH", "")])},
                 **sides}
    if audio_mb:
        sides["after"] = {**env, "TRAUM_INDEX_AUDIO_MB": audio_mb}
    # As after a user's first run: the prompt vectors are cached, the text tower is not loaded.
    build_library(work / "warm", 2)
    traum_index(model, str(work / "warm"), str(work / "warm.db"), env, analyse=False)
    rows = []
    for n in sizes:
        lib = work / f"mixed{n}"
        build_mixed_library(lib, n, compact=n > 2000)
        for side, side_env in sides.items():
            log(f"[rss] {n} files, {side} …")
            r = traum_index(model, str(lib), str(work / f"rss-{side}-{n}.db"), side_env, analyse=True)
            rows.append([n, side, r["peak_rss_mb"], r["files_per_second"], r["elapsed"],
                         r["report"]["wait_seconds"].get("decoders wait for the audio memory budget", "")])
            log(f"[rss] {rows[-1]}")
    print(f"\n[rss] traum index with analysis, {model_kind} CLAP (random weights), mixed library; load average "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + "\n")
    print(table(rows, ["files", "side", "peak RSS MB (main)", "files/s", "elapsed s", "budget wait s"]))


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode not in (0, 1):
        raise SystemExit(result.stderr[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout


def run_baseline(model: str, listing: Path, out: Path, env: dict[str, str]) -> dict:
    wall, cpu, stdout = _timed([sys.executable, __file__, "--child", "baseline", model, str(listing), str(out)], env)
    inner = json.loads(stdout.strip().splitlines()[-1])
    return {**inner, "elapsed": wall, "cpu": cpu, "files_per_second": len(json.loads(listing.read_text())) / wall}


class Busy:
    """Another process keeping one core busy (a DAW, a render) while a side runs."""

    def __enter__(self) -> Busy:
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.kill()
        self.proc.wait()


def _vectors(db: Path, files: list[str]) -> np.ndarray:
    import sqlite3

    conn = sqlite3.connect(db)
    by_path = {p: np.frombuffer(v, np.float32) for p, v in conn.execute(
        "SELECT p.file_path, s.clap_embedding FROM processing_status p JOIN stems s ON s.id = p.file_hash")}
    conn.close()
    return np.stack([by_path[f] for f in files])


def _cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    def rows(x, y):
        return np.sum(x * y, 1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))

    mean = b.mean(axis=0)
    return float(rows(a, b).min()), float(rows(a - mean, b - mean).min())


def _sides(model: str, lib: Path, listing: Path, work: Path, env: dict[str, str], tag: str) -> dict[str, dict]:
    log(f"[{tag}] baseline …")
    base = run_baseline(model, listing, work / f"base-{tag}.npy", env)
    log(f"[{tag}] traum --no-analyse …")
    mine = traum_index(model, str(lib), str(work / f"ours-{tag}.db"), env, analyse=False)
    log(f"[{tag}] traum (with analysis) …")
    full = traum_index(model, str(lib), str(work / f"full-{tag}.db"), env, analyse=True)
    return {"baseline": base, "no-analyse": mine, "analyse": full}


def _print_run(runs: dict[str, dict], files: list[str], tag: str) -> None:
    base, mine, full = runs["baseline"], runs["no-analyse"], runs["analyse"]
    rows = [["files/s (whole process)", base["files_per_second"], mine["files_per_second"], full["files_per_second"]],
            ["speed-up vs baseline", 1.0, mine["files_per_second"] / base["files_per_second"],
             full["files_per_second"] / base["files_per_second"]],
            ["elapsed s", base["elapsed"], mine["elapsed"], full["elapsed"]],
            ["CPU s (process tree)", base["cpu"], mine["cpu"], full["cpu"]],
            ["peak RSS MB (main process)", base["peak_rss_mb"], mine["peak_rss_mb"], full["peak_rss_mb"]],
            ["window budget per file", "1 random crop", mine["report"].get("windows_per_file", "all"),
             full["report"].get("windows_per_file", "all")],
            ["model windows", len(files), mine["report"]["windows_embedded"], full["report"]["windows_embedded"]],
            ["windows per file", 1.0, mine["report"]["windows_embedded"] / len(files),
             full["report"]["windows_embedded"] / len(files)],
            ["CPU s per window", base["cpu"] / len(files), mine["cpu"] / max(1, mine["report"]["windows_embedded"]),
             full["cpu"] / max(1, full["report"]["windows_embedded"])]]
    stages = sorted(set(base["stages"]) | set(mine["report"]["stage_seconds"]) | set(full["report"]["stage_seconds"]))
    rows += [[f"busy {s} s", base["stages"].get(s, 0.0), mine["report"]["stage_seconds"].get(s, 0.0),
              full["report"]["stage_seconds"].get(s, 0.0)] for s in stages]
    waits = sorted(set(mine["report"]["wait_seconds"]) | set(full["report"]["wait_seconds"]))
    rows += [[f"wait: {w} s", "", mine["report"]["wait_seconds"].get(w, 0.0),
              full["report"]["wait_seconds"].get(w, 0.0)] for w in waits]
    rows += [[f"start-up {k} s", "", mine["report"]["startup_seconds"].get(k, 0.0),
              full["report"]["startup_seconds"].get(k, 0.0)] for k in mine["report"]["startup_seconds"]]
    rows += [[f"cores: {k}", "", mine["report"]["cores"].get(k, ""), full["report"]["cores"].get(k, "")]
             for k in full["report"]["cores"]]
    print(f"\n[{tag}] {len(files)} files, full-size CLAP (random weights), precision {mine['report']['precision']}, "
          f"{mine['report']['windows_embedded']} windows for Traum vs {len(files)} for the baseline (long files: one "
          "random crop); load average at start " + ", ".join(f"{x:.1f}" for x in os.getloadavg()) + "\n")
    print(table(rows, ["", "baseline (seed)", "traum --no-analyse", "traum (with analysis)"]))


def _print_ceiling(model: str, runs: dict[str, dict]) -> None:
    """The best speed-up any pipeline could reach here: every window at this CPU's matrix-product floor
    (benchmarks/inference.py) on every core, analysis CPU as measured, nothing else costing anything."""
    from inference import floor

    result = floor(model)
    cores = len(os.sched_getaffinity(0))
    base = runs["baseline"]["elapsed"]
    rows = []
    for side in ("no-analyse", "analyse"):
        report = runs[side]["report"]
        inference = report["windows_embedded"] * result["floor_s"] / cores
        analysis = report["stage_seconds"].get("analyse", 0.0) / cores
        startup = report["startup_seconds"]
        started = startup.get("process", 0.0) + startup.get("imports", 0.0) + startup.get("model", 0.0)
        rows.append([side, runs[side]["elapsed"], base / runs[side]["elapsed"], inference + analysis,
                     base / (inference + analysis), started + inference + analysis,
                     base / (started + inference + analysis)])
    print(f"\nceiling on this CPU ({cores} cores, {result['precision']}): {result['gflop']:.1f} GFLOP per window at "
          f"{result['peak_gflops']:.0f} GFLOP/s a core (torch.mm peak) = {result['floor_s']:.3f} core-s per window; "
          f"Traum's window costs {result['cpu_s']:.3f}. Baseline elapsed {base:.1f} s.\n")
    print(table(rows, ["traum", "elapsed s", "speed-up", "floor s (windows + analysis)", "ceiling, no start-up",
                       "floor s + measured start-up", "ceiling"]))


def child_main(args: list[str]) -> None:
    _kind, model, listing, out = args
    files = json.loads(Path(listing).read_text())
    print(json.dumps(baseline(model, files, out)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=120)
    parser.add_argument("--mixed", action="store_true", help="a producer-shaped library, not corpus copies")
    parser.add_argument("--busy", action="store_true", help="also run every side with one core kept busy")
    parser.add_argument("--sizes", default="", help="extra library sizes for Traum alone, e.g. 10000")
    parser.add_argument("--ray", type=int, default=0, metavar="N",
                        help="also index N files with --executor ray and locally, side by side (issue 13)")
    parser.add_argument("--windows", default=None, help="traum index --windows for Traum's sides (default: "
                        "Traum's own default budget; all: every window)")
    parser.add_argument("--rss", default="", metavar="SIZES",
                        help="only peak RSS and files/s of traum index with analysis at these library sizes "
                        "(mixed libraries), e.g. 256,1000,10000")
    parser.add_argument("--model", choices=("full", "tiny"), default="full", help="--rss: the CLAP size")
    parser.add_argument("--before-src", default=None, help="--rss: also run this source tree (a src/ folder, "
                        "e.g. from `git archive`), alternately with this one")
    parser.add_argument("--audio-mb", default=None, help="--rss: TRAUM_INDEX_AUDIO_MB for this tree")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    global WINDOWS
    WINDOWS = args.windows
    if args.child is not None:
        child_main(args.child)
        return
    import soundfile as sf

    work = Path(tempfile.mkdtemp(prefix="traum-bench-"))
    env = {**os.environ, "TRAUM_CACHE_MAX_MB": "0", "TRAUM_CACHE_DIR": str(work / "cache"),
           "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    if args.rss:
        rss_runs([int(s) for s in args.rss.split(",")], args.model, work, env, args.before_src, args.audio_mb)
        return
    model = str(full_size_model())
    lib = work / "lib"
    files = [str(f) for f in (build_mixed_library(lib, args.files) if args.mixed else build_library(lib, args.files))]
    listing = work / "files.json"
    listing.write_text(json.dumps(files))
    seconds = sum(sf.info(f).duration for f in files)
    log(f"library: {len(files)} files, {seconds / 60:.1f} min of audio in {lib}; model {model}")
    # A user's first run computes the prompt vectors once; every later one reads them.
    warm = work / "warm"
    build_library(warm, 2)
    cold = traum_index(model, str(warm), str(work / "warm.db"), env, analyse=False)
    log(f"cold start: prompts {cold['report']['startup_seconds']['prompts']:.2f} s (cached from now on)")
    runs = {"idle": _sides(model, lib, listing, work, env, "idle")}
    _print_run(runs["idle"], files, "idle")  # at once: a busy pass on a loaded machine takes long
    if args.busy:
        with Busy():
            runs["busy"] = _sides(model, lib, listing, work, env, "busy")
        _print_run(runs["busy"], files, "busy")
    if "busy" in runs:
        print("\nslowdown with one core busy (busy elapsed / idle elapsed): " + ", ".join(
            f"{side} {runs['busy'][side]['elapsed'] / runs['idle'][side]['elapsed']:.2f}x" for side in runs["idle"]))
    short = np.array([sf.info(f).duration <= 10 for f in files])
    raw, centred = _cosines(_vectors(work / "ours-idle.db", files)[short], np.load(work / "base-idle.npy")[short])
    print(f"fidelity on {int(short.sum())} files <= 10 s: min raw cosine {raw:.5f}, "
          f"min mean-removed cosine {centred:.4f}")
    _print_ceiling(model, runs["idle"])
    print("cold start-up of the prompt vectors (first run on a machine): "
          f"{cold['report']['startup_seconds']['prompts']:.2f} s")
    if args.ray:
        from ray_index import compare, print_comparison

        print_comparison(compare(files=args.ray, work=work / "ray"))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if sizes:
        idle = runs["idle"]["no-analyse"]
        scale_rows = [[len(files), idle["elapsed"], idle["files_per_second"], idle["peak_rss_mb"]]]
        for n in sizes:
            big = work / f"lib{n}"
            (build_mixed_library if args.mixed else build_library)(big, n)
            r = traum_index(model, str(big), str(work / f"ours{n}.db"), env, analyse=True)
            scale_rows.append([n, r["elapsed"], r["files_per_second"], r["peak_rss_mb"]])
        print("\n" + table(scale_rows, ["files", "elapsed s", "files/s", "peak RSS MB"]))


if __name__ == "__main__":
    main()
