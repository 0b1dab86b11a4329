"""A content-addressed embedding cache shared by every catalog on the machine.

Keyed by content hash + model fingerprint + processing version + window budget, so moving or renaming a library,
or indexing it into a second catalog, costs no inference. Bounded in size: least recently used
entries go first. One SQLite file in the user cache folder (``TRAUM_CACHE_DIR``).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

from traum.catalog.db import connect

#: Evict down to this share of the limit, so eviction runs rarely.
LOW_WATER = 0.9

Vectors = tuple[np.ndarray, list[tuple[float, np.ndarray]]]


class EmbeddingCache:
    def __init__(self, path: str | Path, *, max_bytes: int | None = None) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes if max_bytes is not None else max_cache_mb() << 20
        self._lock = threading.Lock()
        self._conn = connect(self.path)
        self._conn.isolation_level = None
        self._conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, offsets BLOB NOT NULL, "
                           "vectors BLOB NOT NULL, dim INTEGER NOT NULL, bytes INTEGER NOT NULL, "
                           "used REAL NOT NULL)")
        self._conn.execute("CREATE INDEX IF NOT EXISTS idx_vectors_used ON vectors(used)")

    @staticmethod
    def key(content_hash: str, model_id: str, version: int, max_windows: int | None = None) -> str:
        """Every window (``max_windows`` None) keeps the key entries had before window budgets; a budget
        has its own, so a file's sampled vectors are never served to a run that wants every window."""
        base = f"{content_hash}:{model_id}:{version}"
        return base if max_windows is None else f"{base}:w{max_windows}"

    def get(self, key: str) -> Vectors | None:
        with self._lock:
            row = self._conn.execute("SELECT offsets, vectors, dim FROM vectors WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            self._conn.execute("UPDATE vectors SET used = ? WHERE key = ?", (time.time(), key))
        offsets = np.frombuffer(row[0], np.float64)
        windows = np.frombuffer(row[1], np.float32).reshape(len(offsets) + 1, row[2])
        return windows[0], list(zip(offsets.tolist(), windows[1:], strict=True))

    def put_many(self, items: list[tuple[str, Vectors]]) -> None:
        rows = []
        for key, (pooled, windows) in items:
            offsets = np.array([o for o, _ in windows], np.float64)
            stacked = np.vstack([pooled[None, :], *[v[None, :] for _, v in windows]]).astype(np.float32)
            rows.append((key, offsets.tobytes(), stacked.tobytes(), stacked.shape[1],
                         offsets.nbytes + stacked.nbytes, time.time()))
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?, ?, ?)", rows)
                self._evict()
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _evict(self) -> None:
        total = self._conn.execute("SELECT coalesce(sum(bytes), 0) FROM vectors").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess = total - int(self.max_bytes * LOW_WATER)
        self._conn.execute("DELETE FROM vectors WHERE key IN (SELECT key FROM (SELECT key, bytes, sum(bytes) "
                           "OVER (ORDER BY used, key) AS running FROM vectors) WHERE running - bytes < ?)", (excess,))

    def size_bytes(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT coalesce(sum(bytes), 0) FROM vectors").fetchone()[0])

    def __len__(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        self._conn.close()


def default_cache() -> EmbeddingCache | None:
    """The machine-wide cache, or None if disabled (``TRAUM_CACHE_MAX_MB=0``) or unwritable."""
    from traum.settings import cache_dir

    if max_cache_mb() <= 0:
        return None
    try:
        return EmbeddingCache(cache_dir() / "embeddings.db")
    except (OSError, sqlite3.Error):
        return None


def max_cache_mb() -> int:
    """``TRAUM_CACHE_MAX_MB``, read when a cache opens (not at import, where a bad value would be a crash)."""
    from traum.settings import get

    return int(get("cache_max_mb"))
