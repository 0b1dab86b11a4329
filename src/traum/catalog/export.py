"""Embeddings out of the catalog, in the seed's formats."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np

from traum.catalog.store import Catalog
from traum.errors import TraumError

FORMATS = ("pkl", "npy", "parquet")


def export_embeddings(catalog: Catalog, out: Path, format: str) -> int:
    """``pkl``: the seed's ``embeddings.pkl``, a list of ``{"path", "embedding"}`` (float32, (512,)).
    ``npy``: an (n, 512) float32 matrix, with the paths in order in ``<out>.paths.json``.
    ``parquet``: columns ``id``, ``path``, ``embedding`` (list of float32)."""
    if format not in FORMATS:
        raise TraumError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    ids, matrix = catalog.embeddings()
    paths = [s["path"] for s in _in_order(catalog, ids)]
    out.parent.mkdir(parents=True, exist_ok=True)
    if format == "pkl":
        records = [{"path": p, "embedding": np.array(v, dtype=np.float32)} for p, v in zip(paths, matrix, strict=True)]
        with open(out, "wb") as fh:
            pickle.dump(records, fh, protocol=pickle.HIGHEST_PROTOCOL)
    elif format == "npy":
        np.save(out, matrix.astype(np.float32) if len(ids) else np.zeros((0, 512), np.float32))
        Path(str(out) + ".paths.json").write_text(json.dumps(paths, ensure_ascii=False, indent=0))
    else:
        _write_parquet(out, ids, paths, matrix)
    return len(ids)


def _in_order(catalog: Catalog, ids: list[str]) -> list[dict]:
    by_id = {s["id"]: s for s in catalog.stems(ids)}
    return [by_id[i] for i in ids]


def _write_parquet(out: Path, ids: list[str], paths: list[str], matrix: np.ndarray) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise TraumError("parquet export needs pyarrow: pip install 'traum[parquet]'") from err
    dim = matrix.shape[1] if len(ids) else 512
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(matrix.astype(np.float32).reshape(-1)), dim)
    pq.write_table(pa.table({"id": ids, "path": paths, "embedding": vectors}), out)
