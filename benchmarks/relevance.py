"""Precision@10 of category queries on a labelled library, with and without a model.

    python benchmarks/relevance.py [--library ../shared/corpus] [--model DIR]

Relevance: a result is right when its folder's category in labels.csv is the query's category.
Without ``--model`` only names count (lexical + category); with the tiny or full-size random-weight
model the semantic side is noise, so that row shows the blend's robustness, not CLAP's quality.
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS, table

QUERIES = {"kick": "kick", "snare": "snare", "hi-hat": "hihat", "clap": "clap", "drum loop": "drum-loop",
           "bass": "bass", "pad": "pad", "speech": "speech", "birds": "field-recording", "noise": "noise"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--library", type=Path, default=CORPUS)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
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


def _label(path: str, root: Path, labels: dict[str, str]) -> str | None:
    rel = Path(path).resolve().relative_to(root.resolve())
    return labels.get(str(rel.parent))


if __name__ == "__main__":
    main()
