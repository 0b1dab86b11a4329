"""Nearest neighbours by cosine over L2-normalised vectors."""

from __future__ import annotations

import numpy as np


class VectorIndex:
    """Exact inner-product search over unit vectors; ids are whatever the caller gives to ``add``."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids: list = []
        self._vectors = np.zeros((0, dim), dtype=np.float32)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self._ids.extend(ids)
        self._vectors = np.vstack([self._vectors, vectors])

    def search(self, queries: np.ndarray, k: int, allowed=None) -> tuple[np.ndarray, list[list]]:
        queries = np.asarray(queries, dtype=np.float32).reshape(-1, self.dim)
        if not len(self._ids):
            return np.zeros((len(queries), 0), np.float32), [[] for _ in queries]
        rows = np.arange(len(self._ids))
        if allowed is not None:
            allowed = set(allowed)
            rows = np.array([i for i, x in enumerate(self._ids) if x in allowed], dtype=np.int64)
        scores = queries @ self._vectors[rows].T
        k = min(k, len(rows))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k else np.zeros((len(queries), 0), int)
        order = np.take_along_axis(scores, top, 1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, 1)
        return np.take_along_axis(scores, top, 1), [[self._ids[rows[j]] for j in row] for row in top]
