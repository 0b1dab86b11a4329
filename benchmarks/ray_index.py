"""The Ray executor's overhead against the local executor: same files, same model, same machine.

    python benchmarks/ray_index.py [--files 200] [--cpus 2] [--tiny]

Both sides index the same library into fresh catalogs without the embedding cache, with full analysis.
The local side is Traum's threads-and-processes job; the Ray side a local Ray on ``--cpus`` CPUs (what
``traum index --executor ray`` starts when given no ``--address``). Ray's start-up (seconds, once per
cluster) is reported on its own row: on a cluster it is paid once, not per run. Target: the Ray run
is at most 1.5× the local run's time on 2 cores. Model: the full-size CLAP architecture with random
weights (``--tiny``: the test suite's tiny CLAP, which makes the overhead look larger than it is).

:func:`compare` is importable (``benchmarks/index.py`` can run it in the same session).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import build_library, full_size_model, log, table

#: Ray must not be more than this many times slower than the local executor on 2 cores.
TARGET_RATIO = 1.5


def run(executor: str, model_dir: str, folder: str, db: str, cpus: int) -> dict:
    """One side, in this process: returns its times and counts."""
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    startup = 0.0
    if executor == "ray":
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        import ray

        t0 = time.perf_counter()
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        startup = time.perf_counter() - t0
    start = time.perf_counter()
    with Catalog(db) as catalog:
        report = run_index([folder], catalog, IndexOptions(model=model_dir, cache=False, executor=executor,
                                                           workers=cpus))
        elapsed = time.perf_counter() - start
        embedded = catalog.stem_count(embedded_only=True)
    return {"elapsed": elapsed, "startup": startup, "indexed": report.indexed, "failed": report.failed,
            "embedded": embedded, "files_per_second": report.files_per_second, "peak_rss_mb": report.peak_rss_mb}


def _child(args: list[str]) -> dict:
    """Each side in its own process: neither inherits the other's warm imports or page cache of models."""
    result = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(result.stderr[-4000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def compare(files: int = 200, cpus: int = 2, tiny: bool = False, work: Path | None = None) -> dict:
    """Index ``files`` files with both executors; returns both results and the ratio (ray / local)."""
    work = work or Path(tempfile.mkdtemp(prefix="traum-ray-bench-"))
    if tiny:
        from traum.testing import build_random_clap

        model = str(build_random_clap(work / "tiny-clap"))
    else:
        model = str(full_size_model())
    lib = work / "lib"
    build_library(lib, files)
    log(f"library: {files} files in {lib}; model {model}; {cpus} CPUs")
    results = {}
    for executor in ("local", "ray"):
        log(f"running the {executor} executor …")
        results[executor] = _child([executor, model, str(lib), str(work / f"{executor}.db"), str(cpus)])
    local, ray = results["local"], results["ray"]
    return {"files": files, "cpus": cpus, "model": "tiny" if tiny else "full-size", "local": local, "ray": ray,
            "ratio": ray["elapsed"] / local["elapsed"],
            "ratio_with_startup": (ray["elapsed"] + ray["startup"]) / local["elapsed"]}


def print_comparison(result: dict) -> None:
    local, ray = result["local"], result["ray"]
    rows = [["files/s", local["files_per_second"], ray["files_per_second"]],
            ["elapsed s", local["elapsed"], ray["elapsed"]],
            ["Ray start s (once per cluster)", 0.0, ray["startup"]],
            ["indexed / embedded", f"{local['indexed']} / {local['embedded']}",
             f"{ray['indexed']} / {ray['embedded']}"],
            ["driver peak RSS MB", local["peak_rss_mb"], ray["peak_rss_mb"]]]
    print(f"\nIndexing {result['files']} files on {result['cpus']} CPUs, {result['model']} CLAP (random weights), "
          "full analysis, no embedding cache\n")
    print(table(rows, ["", "local executor (baseline)", "ray executor"]))
    verdict = "meets" if result["ratio"] <= TARGET_RATIO else "MISSES"
    print(f"\nray / local: {result['ratio']:.2f}x ({verdict} the {TARGET_RATIO}x target); "
          f"{result['ratio_with_startup']:.2f}x counting Ray's start-up")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--tiny", action="store_true", help="the tests' tiny CLAP instead of the full-size one")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        executor, model, folder, db, cpus = args.child
        print(json.dumps(run(executor, model, folder, db, int(cpus))))
        return
    print_comparison(compare(args.files, args.cpus, args.tiny))


if __name__ == "__main__":
    main()
