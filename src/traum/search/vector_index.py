"""Nearest neighbours by cosine over L2-normalised vectors, exact when small, FAISS when large.

    index = VectorIndex(512)
    index.add(["a", "b"], vectors)            # ids: any hashable values
    scores, ids = index.search(queries, k=10, allowed={"a"})
    index.save(path); VectorIndex.load(path)

Below ``exact_limit`` vectors (default 50,000) search is an exact float32 matmul: ~3 ms at 50k on two
cores, and no training. Above it, the vectors move to a FAISS IVF index with fp16 scalar quantisation
(the only copy of the vectors: half the memory of float32; recall@10 ≥ 0.95 on clustered embeddings at
nprobe 24, see benchmarks/search.py). Adding or removing a few vectors never rebuilds: IVF lists take
them as they come. ``allowed`` restricts results to a set of ids and still returns k results when k
exist: a small allowed set is searched exactly, a large one through a FAISS id selector.
"""

from __future__ import annotations

import json
import math
from collections.abc import Hashable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

EXACT_LIMIT = 50_000
#: An allowed set this small is cheaper to search exactly than through the IVF lists.
EXACT_SUBSET = 20_000
NPROBE = 24

#: (scores, ids) per query row, best first.
Neighbours = tuple[np.ndarray, list[list[Hashable]]]


def _faiss() -> Any:
    """FAISS, imported when first needed (its type stubs disagree with its Python API)."""
    import faiss

    return faiss


class VectorIndex:
    def __init__(self, dim: int = 512, *, exact_limit: int = EXACT_LIMIT, nprobe: int = NPROBE) -> None:
        self.dim = dim
        self.exact_limit = exact_limit
        self.nprobe = nprobe
        self._ids: list[Hashable | None] = []              # row → id (exact) / label → id (faiss)
        self._rows: dict[Hashable, int] = {}        # id → row / label
        self._vectors = np.zeros((0, dim), dtype=np.float32)  # exact store; in FAISS mode a fp16 copy
        self._free: list[int] = []
        self._faiss: Any = None
        #: Saved and loaded with the index; the owner records where the vectors came from.
        self.meta: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, id_: Hashable) -> bool:
        return id_ in self._rows

    def ids(self) -> list[Hashable]:
        return list(self._rows)

    @property
    def kind(self) -> str:
        return "faiss-ivf-sqfp16" if self._faiss is not None else "exact"

    # -- updates ------------------------------------------------------------------------------------

    def add(self, ids: Sequence[Hashable], vectors: np.ndarray) -> None:
        """Add or replace vectors (an id already present gets the new vector). An empty index takes
        the dimension of the first vectors it gets (another model may have another)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if not self._ids and self._faiss is None and vectors.ndim == 2 and vectors.shape[1] != self.dim:
            self.dim = vectors.shape[1]
            self._vectors = np.zeros((0, self.dim), dtype=np.float32)
        vectors = vectors.reshape(-1, self.dim)
        if len(ids) != len(vectors):
            raise ValueError("ids and vectors differ in length")
        existing = [i for i in ids if i in self._rows]
        if existing:
            self.remove(existing)
        rows = self._allocate(list(ids))
        if self._faiss is not None:
            self._faiss.add_with_ids(vectors, np.asarray(rows, dtype=np.int64))
            return
        self._store(rows, vectors)
        if len(self._rows) > self.exact_limit:
            self._build_faiss()

    def remove(self, ids: Iterable[Hashable]) -> None:
        rows = [self._rows.pop(i) for i in ids if i in self._rows]
        if not rows:
            return
        for row in rows:
            self._ids[row] = None
        self._free.extend(rows)
        if self._faiss is not None:
            faiss = _faiss()

            ids64 = np.asarray(rows, dtype=np.int64)
            self._faiss.remove_ids(faiss.IDSelectorArray(len(ids64), faiss.swig_ptr(ids64)))

    def _allocate(self, ids: list[Hashable]) -> list[int]:
        rows = []
        for id_ in ids:
            row = self._free.pop() if self._free else len(self._ids)
            if row == len(self._ids):
                self._ids.append(id_)
            else:
                self._ids[row] = id_
            self._rows[id_] = row
            rows.append(row)
        return rows

    def _store(self, rows: list[int], vectors: np.ndarray) -> None:
        need = max(rows) + 1 if rows else 0
        if need > len(self._vectors):
            grown = np.zeros((max(need, int(len(self._vectors) * 1.5) + 1024), self.dim), dtype=self._vectors.dtype)
            grown[: len(self._vectors)] = self._vectors
            self._vectors = grown
        self._vectors[rows] = vectors.astype(self._vectors.dtype)

    def _build_faiss(self) -> None:
        faiss = _faiss()

        live = np.array(sorted(self._rows.values()), dtype=np.int64)
        data = np.ascontiguousarray(self._vectors[live], dtype=np.float32)
        # FAISS wants ≥ 39 training points per list; a small index (tests, exact_limit lowered) gets
        # fewer lists rather than a warning and badly trained centroids.
        nlist = int(min(16_384, max(64, 4 * math.sqrt(len(live))), max(1, len(live) // 39)))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)  # deterministic training sample
        sample = data[rng.choice(len(data), size=min(len(data), nlist * 40), replace=False)]
        index.train(sample)
        index.add_with_ids(data, live)
        index.nprobe = self.nprobe
        # A hash-table direct map lets filtered searches read vectors back (and survives removals),
        # so the IVF lists are the only copy of the vectors: memory ≈ n × dim × 2 bytes.
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        self._faiss = index
        self._vectors = np.zeros((0, self.dim), dtype=np.float32)

    def memory_bytes(self) -> int:
        """Bytes held for vectors (exact store or FAISS lists, codes and ids)."""
        if self._faiss is None:
            return int(self._vectors.nbytes)
        faiss = _faiss()

        return int(faiss.serialize_index(self._faiss).nbytes)

    # -- search --------------------------------------------------------------------------------------

    def search(self, queries: np.ndarray, k: int, allowed: Iterable[Hashable] | None = None
               ) -> Neighbours:
        """Top-``k`` by inner product for each row of ``queries`` (2-D float32) → (scores, ids)."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        rows = None
        if allowed is not None:
            rows = np.fromiter((self._rows[a] for a in allowed if a in self._rows), dtype=np.int64)
        if not len(self._rows) or k <= 0 or (rows is not None and not len(rows)):
            return np.zeros((len(queries), 0), np.float32), [[] for _ in queries]
        if self._faiss is None or (rows is not None and len(rows) <= EXACT_SUBSET):
            return self._exact(queries, k, rows)
        return self._approximate(queries, k, rows)

    def _exact(self, queries: np.ndarray, k: int, rows: np.ndarray | None) -> Neighbours:
        if rows is None:
            rows = np.array(sorted(self._rows.values()), dtype=np.int64) if self._free else None
        if self._faiss is not None:
            matrix = self._faiss.reconstruct_batch(rows)
        else:
            matrix = self._vectors[: len(self._ids)] if rows is None else self._vectors[rows]
        scores = queries @ matrix.astype(np.float32, copy=False).T
        k = min(k, scores.shape[1])
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, 1), axis=1), 1)
        labels = top if rows is None else rows[top]
        return np.take_along_axis(scores, top, 1), [[self._ids[r] for r in row] for row in labels]

    def _approximate(self, queries: np.ndarray, k: int, rows: np.ndarray | None) -> Neighbours:
        faiss = _faiss()

        params = None
        if rows is not None:
            params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBatch(rows), nprobe=self.nprobe * 4)
        scores, labels = self._faiss.search(queries, min(k, len(self._rows)), params=params)
        ids = [[self._ids[r] for r in row if r >= 0] for row in labels]
        if rows is not None and any(len(r) < min(k, len(rows)) for r in ids):
            return self._exact(queries, k, rows)  # a scattered filter: fall back rather than return fewer
        return scores[:, : max(len(r) for r in ids)], ids

    # -- persistence ---------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        live = np.array(sorted(self._rows.values()), dtype=np.int64)
        np.save(path / "vectors.npy", self._vectors[live] if self._faiss is None else self._vectors[:0])
        (path / "ids.json").write_text(json.dumps({"dim": self.dim, "exact_limit": self.exact_limit,
                                                   "nprobe": self.nprobe, "rows": live.tolist(),
                                                   "ids": [self._ids[r] for r in live], "meta": self.meta}))
        if self._faiss is not None:
            _faiss().write_index(self._faiss, str(path / "ivf.faiss"))

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        # faiss only for an approximate index: importing it costs a new search process ~0.3 s.
        path = Path(path)
        meta = json.loads((path / "ids.json").read_text())
        index = cls(meta["dim"], exact_limit=meta["exact_limit"], nprobe=meta["nprobe"])
        rows, ids = meta["rows"], [tuple(i) if isinstance(i, list) else i for i in meta["ids"]]
        vectors = np.load(path / "vectors.npy")
        size = (max(rows) + 1) if rows else 0
        if len(vectors):
            index._vectors = np.zeros((size, index.dim), dtype=vectors.dtype)
            index._vectors[rows] = vectors
        index._ids = [None] * size
        for row, id_ in zip(rows, ids, strict=True):
            index._ids[row] = id_
            index._rows[id_] = row
        index._free = [r for r in range(size) if index._ids[r] is None]
        index.meta = meta.get("meta", {})
        if (path / "ivf.faiss").exists():
            faiss = _faiss()
            index._faiss = faiss.read_index(str(path / "ivf.faiss"))
            index._faiss.nprobe = index.nprobe
            index._faiss.set_direct_map_type(faiss.DirectMap.Hashtable)
        return index
