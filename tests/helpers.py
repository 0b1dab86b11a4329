"""Shared test helpers: the real corpus, small libraries copied from it, catalog snapshots."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TRAUM_CORPUS", REPO.parent / "shared" / "corpus")).resolve()
DIRT = CORPUS / "dirt-samples"
EXAMPLES = CORPUS / "librosa-examples"

#: A cross-section of the corpus's formats and oddities (relative to the corpus).
MIXED = [
    "dirt-samples/bd/BT0A0D0.wav",             # 44101 Hz
    "dirt-samples/bd/BT0A0A7.wav",
    "dirt-samples/monsterb/002_tongue.wav",    # unsigned 8-bit
    "dirt-samples/sugar/000_bark.wav",         # unsigned 8-bit, 11025 Hz
    "dirt-samples/rs/rytm-rs.wav",             # 32-bit float
    "dirt-samples/pad/alien-monolith-pad.wav",  # 24-bit, 12 s (two windows)
    "dirt-samples/stomp/009_9.wav",            # the shortest file (18 ms)
    "dirt-samples/808/CB.WAV",                 # upper-case extension
    "dirt-samples/rave2/rave_choir01.ogg",     # OGG Vorbis
    "dirt-samples/baa/1.wav",                  # 48 kHz
    "dirt-samples/sn/ST0T0S0.wav",
    "dirt-samples/hh/000_hh3closedhh.wav",
    "dirt-samples/bassdm/000_BT0A0A7.WAV.ews",  # not audio, despite its name
    "dirt-samples/808/TR808.TXT",              # not audio
    "librosa-examples/198-209-0000.ogg",       # speech, 14 s
]


def copy_library(dest: Path, files: list[str] = MIXED) -> Path:
    """Copy corpus files into ``dest``, keeping their folder names."""
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(CORPUS / rel, target)
    return dest


def indexed_library(tmp_path_factory, name: str, files: list[str], model: Path) -> tuple[Path, Path]:
    """(catalog, library): ``files`` copied into a fresh folder, analysed and embedded with ``model``."""
    from traum.catalog import Catalog
    from traum.pipeline.indexer import IndexOptions, run_index

    library = copy_library(tmp_path_factory.mktemp(f"{name}lib") / "library", files)
    db = tmp_path_factory.mktemp(f"{name}db") / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(model=str(model), cache=False))
    return db, library


def catalog_snapshot(db: Path) -> dict:
    """Everything that defines a catalog's content, comparable between runs."""
    conn = sqlite3.connect(db)
    stems = {r[0]: r[1:] for r in conn.execute(
        "SELECT id, path, duration, sample_rate, channels, bit_depth, embedding_model FROM stems")}
    vectors = {r[0]: np.frombuffer(r[1], np.float32) for r in conn.execute(
        "SELECT id, clap_embedding FROM stems WHERE clap_embedding IS NOT NULL")}
    status = {r[0]: r[1:] for r in conn.execute("SELECT file_path, file_hash, status FROM processing_status")}
    windows = conn.execute("SELECT count(*) FROM stem_windows").fetchone()[0]
    conn.close()
    return {"stems": stems, "vectors": vectors, "status": status, "windows": windows}


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def install_bare_plugin(site: Path, name: str, source: str) -> None:
    """Plugin ``traum_<name>`` as pip would leave it in ``site``: the module and its dist-info's entry point
    (no build, no pip)."""
    (site / f"traum_{name}.py").write_text(source)
    info = site / f"traum_{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: traum-{name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[traum]\n{name} = traum_{name}\n")


#: `traum ARGS` for each ARGS (a JSON list in argv[1]) through the CLI's entry point, one after the other in
#: this process, printing [exit code, stdout, stderr] of each.
_CLI_RUNS = """
import contextlib, io, json, sys
from traum.cli.main import main
results = []
for args in json.loads(sys.argv[1]):
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
        except SystemExit as exit_:
            code = int(exit_.code or 0)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
"""


def traum_runs_in_one_process(runs: list[list[object]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    """(exit code, stdout, stderr) of `traum` with each argument list, in order, in one fresh process with
    ``env`` (e.g. a plugin on its PYTHONPATH, loaded as if installed). What the runs share (imports, the
    analysis workers and their warm-up, the model) is loaded once, not once per command."""
    argv = json.dumps([[str(a) for a in args] for args in runs])
    done = subprocess.run([sys.executable, "-c", _CLI_RUNS, argv], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    return [(code, out, err) for code, out, err in json.loads(done.stdout.strip().splitlines()[-1])]
