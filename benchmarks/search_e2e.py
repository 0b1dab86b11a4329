"""End-to-end `traum search` latency on a synthetic catalog.

    python benchmarks/search_e2e.py [--n 100000] [--model DIR]
    python benchmarks/search_e2e.py --processes [--n 10000] [--runs 5] [--baseline REV]

Default: searches in one process with the model loaded, as in the server. ``--processes``: every
search is a new `traum search` process, as a producer runs it, timed whole (interpreter start to
exit), median of ``--runs`` queries: names only, and with the model through the warm text tower —
side by side with the same commands on the code at git revision ``--baseline`` (default: main),
which imported torch and loaded the model in every process.

The catalog is synthetic (clustered unit vectors, producer-style paths) but real: SQLite, FTS5,
the vector index, the full-size CLAP text tower (random weights) for query embeddings.
"""

from __future__ import annotations

import argparse
import os
import subprocess
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


def build(db: Path, n: int, model: tuple[str, str] | None = None) -> None:
    """``model``: (name, model id) the vectors are said to come from, so the text tower's space is theirs."""
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
                embeds.append((sid, vectors[i], [], model[1] if model else "bench"))
            catalog.write_batch(stems, outcomes, embeds)
        if model:
            catalog.set_meta("model", {"name": model[0], "id": model[1]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=None, help="catalog size (default 100000; 10000 with --processes)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--processes", action="store_true", help="time new `traum search` processes")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--baseline", default="main", help="git revision of the baseline side")
    args = parser.parse_args()
    if args.processes:
        processes(args.n or 10_000, args.model, args.runs, args.baseline)
    else:
        in_process(args.n or 100_000, args.model)


def in_process(n: int, model_dir: str | None) -> None:
    os.environ["TRAUM_CACHE_DIR"] = tempfile.mkdtemp()  # a cold text cache: "new text" must really be new
    from traum.catalog import Catalog
    from traum.embedding import load_model
    from traum.search import SearchEngine

    db = Path(tempfile.mkdtemp()) / "big.db"
    start = time.perf_counter()
    build(db, n)
    print(f"built {n} stems in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    model = load_model(model_dir or str(full_size_model()))
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


CLI = "import sys; from traum.cli.main import main; sys.argv[0] = 'traum'; main()"


def processes(n: int, model_dir: str | None, runs: int, baseline: str) -> None:
    from traum.embedding import load_model

    work = Path(tempfile.mkdtemp(prefix="e2e"))
    model_dir = model_dir or str(full_size_model())
    model = load_model(model_dir)
    named, embedded = work / "names.db", work / "model.db"
    build(named, n)
    build(embedded, n, (model_dir, model.model_id))
    del model
    old_src = _checkout(baseline, work / "baseline")
    new_src = Path(__file__).resolve().parents[1] / "src"
    # As on a producer's machine without the network: not told to stay offline, the Hub unreachable.
    env = {**{k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}, "HF_ENDPOINT": "http://127.0.0.1:9",
           "TRAUM_LOG_DIR": str(work / "logs"),
           "XDG_RUNTIME_DIR": str(work), "TRAUM_TEXT_TOWER_IDLE_S": "600"}
    queries = [f"{q} {i}" for i in range(runs) for q in QUERIES][:runs]  # new texts: no cached vectors
    cases = [("names only (no model available)", named, [], [])]
    cases.append(("names only, --names-only", embedded, [], ["--names-only"]))
    cases.append(("model, new text (warm tower / baseline: loads it)", embedded, ["--model", model_dir], []))
    rows: list[list[object]] = []
    cold = (0.0, 0.0)
    for label, db, extra, new_only in cases:
        row = [label]
        for side, src in (("baseline", old_src), ("new", new_src)):
            if new_only and side == "baseline":
                row += ["-", "-"]
                continue
            side_env = {**env, "PYTHONPATH": str(src), "TRAUM_CACHE_DIR": str(work / f"cache-{side}-{len(rows)}")}
            if extra and side == "new":  # the first search starts the tower: its cost, shown on a row of its own
                cold = _run(["search", "warm-up", "--db", db, *extra], side_env)
            times = [_run(["search", q, "--db", db, *extra, *new_only], side_env) for q in queries]
            row += [float(np.median([wall for wall, _ in times])), float(np.median([cpu for _, cpu in times]))]
        rows.append(row)
        if extra:
            rows.append(["model, first search (starts the tower)", "-", "-", *cold])
        log_row = "  ".join(str(c) for c in row)
        print(log_row, file=sys.stderr, flush=True)
    floor = [_run(["--help"], {**env, "PYTHONPATH": str(new_src)}) for _ in range(runs)]
    rows.append(["reference: `traum --help` (the CLI's own start-up)", "-", "-",
                 float(np.median([w for w, _ in floor])), float(np.median([c for _, c in floor]))])
    _stop_towers(work)
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; the first "
          "search's CPU is this process's only (the tower it starts is not its child)")
    print(f"new `traum search` processes on {n} stems, median of {runs}, seconds from start to exit: wall, "
          "and CPU (user + system; what a busy machine does not inflate)")
    print(table(rows, ["search", f"baseline ({baseline}) wall", "CPU", "new wall", "CPU"]))


def _run(args: list[object], env: dict[str, str]) -> tuple[float, float]:
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CLI, *map(str, args)], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"traum {' '.join(map(str, args))} failed: {done.stderr}")
    return elapsed, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _checkout(revision: str, dest: Path) -> Path:
    """The baseline's source tree, from git (never the working tree)."""
    dest.mkdir(parents=True)
    repo = Path(__file__).resolve().parents[1]
    archive = subprocess.run(["git", "-C", str(repo), "archive", revision, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def _stop_towers(runtime: Path) -> None:
    import json
    import signal
    import socket

    for path in (runtime / "traum").glob("*.sock"):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            os.kill(int(json.loads(sock.makefile("rb").readline())["pid"]), signal.SIGTERM)


if __name__ == "__main__":
    main()
