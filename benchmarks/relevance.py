"""Precision@10 of category queries on a labelled library, with and without a model; and names
producers type, spelled out and abbreviated.

    python benchmarks/relevance.py [--library ../shared/corpus] [--model DIR]
    python benchmarks/relevance.py --names [--baseline main]

``--names``: two copies of corpus audio filed under instrument names, one library spelled out
("Saxophones/Saxophones 01.wav"), one abbreviated ("Sax/Sax 01.wav"); each instrument is searched
by both forms of its name on both libraries, names only. R-precision (the share of the top
``PER_NAME`` that are that instrument's files), on the code at ``--baseline`` (git) and on this tree.

Relevance: a result is right when its folder's category in labels.csv is the query's category.
Without ``--model`` only names count (lexical + category); with the tiny or full-size random-weight
model the semantic side is noise, so that row shows the blend's robustness, not CLAP's quality.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS, REPO, table

QUERIES = {"kick": "kick", "snare": "snare", "hi-hat": "hihat", "clap": "clap", "drum loop": "drum-loop",
           "bass": "bass", "pad": "pad", "speech": "speech", "birds": "field-recording", "noise": "noise"}


#: instrument: (spelled-out folder, abbreviated folder, spelled-out query, abbreviated query)
NAMES = {
    "kick": ("Kicks", "BD", "kick", "bd"),
    "snare": ("Snares", "SD", "snare", "sd"),
    "hi-hat": ("Hi-Hats", "HH", "hi-hat", "hh"),
    "clap": ("Claps", "CP", "clap", "cp"),
    "cymbal": ("Cymbals", "Cym", "cymbal", "cym"),
    "percussion": ("Percussion", "Perc", "percussion", "perc"),
    "guitar": ("Guitars", "Gtr", "guitar", "gtr"),
    "saxophone": ("Saxophones", "Sax", "saxophone", "sax"),
    "trumpet": ("Trumpets", "Tpt", "trumpet", "tpt"),
    "piano": ("Pianos", "Keys", "piano", "keys"),
    "rhodes": ("Rhodes", "EP", "rhodes", "ep"),
    "vocal": ("Vocals", "Vox", "vocal", "vox"),
    "effects": ("Effects", "FX", "effects", "fx"),
    "strings": ("Strings", "Str", "strings", "str"),
}
PER_NAME = 6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", type=Path, default=CORPUS)
    parser.add_argument("--model", default=None)
    parser.add_argument("--names", action="store_true", help="spelled-out vs abbreviated names, names only")
    parser.add_argument("--baseline", default="main", help="git revision for the --names baseline column")
    parser.add_argument("--names-json", type=Path, help=argparse.SUPPRESS)  # one side of --names, as JSON
    args = parser.parse_args()
    if args.names_json:
        print(json.dumps(names_side(args.names_json)))
        return
    if args.names:
        names(args.baseline)
        return
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index
    from traum.search import SearchEngine

    with open(args.library / "labels.csv") as f:
        labels = {r["folder"]: r["category"] for r in csv.DictReader(f)}
    db = Path(tempfile.mkdtemp()) / "relevance.db"
    with Catalog(db) as catalog:
        run_index([args.library], catalog, IndexOptions(model=args.model or "none/none", cache=False))
        engines = [("names only", SearchEngine(catalog))]
        if args.model:
            from traum.embedding import load_model

            engines.append((f"hybrid ({Path(args.model).name})", SearchEngine(catalog, load_model(args.model))))
        rows = []
        present = [_label(s["path"], args.library, labels) for s in catalog.stems()]
        for query, category in QUERIES.items():
            row = [query, min(10, present.count(category)) / 10]
            for _name, engine in engines:
                hits = engine.search(query, k=10).hits
                right = sum(_label(h.path, args.library, labels) == category for h in hits)
                row.append(right / 10)
            rows.append(row)
        means = ["mean"] + [sum(r[i] for r in rows) / len(rows) for i in range(1, len(engines) + 2)]
        print(table(rows + [means], ["query", "best possible"] + [f"P@10 {n}" for n, _ in engines]))


def names(baseline: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="names"))
    _name_libraries(work)
    sides = {}
    for side, src in (("baseline", _checkout(baseline, work / "baseline")), ("new", REPO / "src")):
        env = {**os.environ, "PYTHONPATH": str(src), "HF_HUB_OFFLINE": "1", "TRAUM_LOG_DIR": str(work / "logs")}
        done = subprocess.run([sys.executable, __file__, "--names-json", str(work)], env=env, check=True,
                              capture_output=True, text=True)
        sides[side] = json.loads(done.stdout.strip().splitlines()[-1])
    combos = [("spelled", "abbreviated"), ("abbreviated", "spelled"), ("spelled", "spelled"),
              ("abbreviated", "abbreviated")]
    rows = []
    for name in NAMES:
        rows.append([name, *(f"{sides['baseline'][name][q][lib]:.2f} → {sides['new'][name][q][lib]:.2f}"
                             for q, lib in combos)])
    means = ["mean"]
    for q, lib in combos:
        pair = [sum(sides[s][n][q][lib] for n in NAMES) / len(NAMES) for s in ("baseline", "new")]
        means.append(f"{pair[0]:.2f} → {pair[1]:.2f}")
    print(f"names only, R-precision@{PER_NAME} (baseline {baseline} → this tree); query form → library form")
    print(table([*rows, means], ["instrument", *(f"{q} → {lib}" for q, lib in combos)]))


def _name_libraries(work: Path) -> None:
    """Two libraries of the same distinct corpus files, filed under spelled-out and abbreviated names."""
    from common import audio_files

    files = [f for f in audio_files(CORPUS / "dirt-samples") if f.suffix.lower() == ".wav"]
    for i, (spelled, short, _q, _a) in enumerate(NAMES.values()):
        for j in range(PER_NAME):
            source = files[(i * PER_NAME + j) * 7 % len(files)]
            for form, folder in (("spelled", spelled), ("abbreviated", short)):
                target = work / form / folder / f"{folder} {j + 1:02d}.wav"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(source.read_bytes())


def names_side(work: Path) -> dict[str, dict[str, dict[str, float]]]:
    """{instrument: {query form: {library form: R-precision}}} with the code on PYTHONPATH."""
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index
    from traum.search import SearchEngine

    out: dict[str, dict[str, dict[str, float]]] = {n: {"spelled": {}, "abbreviated": {}} for n in NAMES}
    for form in ("spelled", "abbreviated"):
        db = Path(tempfile.mkdtemp()) / "names.db"
        with Catalog(db) as catalog:
            run_index([work / form], catalog, IndexOptions(model="none/none", cache=False, analyse=False))
            engine = SearchEngine(catalog)
            for name, (spelled, short, query, abbreviation) in NAMES.items():
                folder = spelled if form == "spelled" else short
                for query_form, text in (("spelled", query), ("abbreviated", abbreviation)):
                    hits = engine.search(text, k=PER_NAME).hits
                    right = sum(Path(h.path).parent.name == folder for h in hits)
                    out[name][query_form][form] = right / PER_NAME
    return out


def _checkout(revision: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", revision, "src"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest / "src"


def _label(path: str, root: Path, labels: dict[str, str]) -> str | None:
    rel = Path(path).resolve().relative_to(root.resolve())
    return labels.get(str(rel.parent))


if __name__ == "__main__":
    main()
