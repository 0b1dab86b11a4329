"""Text-query embeddings, cached in memory (LRU) and on disk, keyed by model and text: typing the
same query twice, or across restarts, costs no text-tower inference.

The disk cache keeps the ``TRAUM_TEXT_CACHE_ITEMS`` most recently used queries (default 20,000:
about 45 MB at 512 dimensions); older ones are dropped as new ones arrive.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from traum.catalog.db import connect
from traum.embedding.base import EmbeddingModel

DISK_ITEMS = 20_000


def disk_items() -> int:
    """The disk cache's size bound from ``TRAUM_TEXT_CACHE_ITEMS`` (a bad value keeps the default)."""
    try:
        return max(1, int(os.environ.get("TRAUM_TEXT_CACHE_ITEMS", DISK_ITEMS)))
    except ValueError:
        return DISK_ITEMS


class TextEmbeddingCache:
    def __init__(self, model: EmbeddingModel, path: Path | None = None, *, memory_items: int = 4096,
                 max_items: int | None = None) -> None:
        self.model = model
        self.memory_items = memory_items
        self.max_items = max_items or disk_items()
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._disk: sqlite3.Connection | None = None
        #: Whether the last :meth:`embed` was answered from memory or disk (no text tower ran).
        self.last_hit = False
        if path is not None:
            try:
                self._disk = connect(path)
                self._disk.isolation_level = None
                self._disk.execute("CREATE TABLE IF NOT EXISTS text_vectors (model TEXT, text TEXT, vector BLOB, "
                                   "PRIMARY KEY (model, text))")
            except (OSError, sqlite3.Error):
                self._disk = None

    def embed(self, text: str) -> np.ndarray:
        with self._lock:
            if text in self._memory:
                self._memory.move_to_end(text)
                self.last_hit = True
                return self._memory[text]
            vector = self._from_disk(text)
        self.last_hit = vector is not None
        if vector is None:
            vector = np.asarray(self.model.embed_text([text])[0], dtype=np.float32)
        self._to_disk(text, vector)  # also on a disk hit: rewriting the row marks it recently used
        with self._lock:
            self._memory[text] = vector
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
        return vector

    def disk_count(self) -> int:
        if self._disk is None:
            return 0
        return int(self._disk.execute("SELECT count(*) FROM text_vectors").fetchone()[0])

    def _from_disk(self, text: str) -> np.ndarray | None:
        if self._disk is None:
            return None
        row = self._disk.execute("SELECT vector FROM text_vectors WHERE model = ? AND text = ?",
                                 (self.model.model_id, text)).fetchone()
        return np.frombuffer(row[0], np.float32).copy() if row else None

    def _to_disk(self, text: str, vector: np.ndarray) -> None:
        if self._disk is None:
            return
        with self._lock:
            try:
                # REPLACE gives the row a new, highest rowid: rowid order is recency of use.
                self._disk.execute("INSERT OR REPLACE INTO text_vectors VALUES (?, ?, ?)",
                                   (self.model.model_id, text, np.asarray(vector, np.float32).tobytes()))
                self._disk.execute("DELETE FROM text_vectors WHERE rowid <= (SELECT rowid FROM text_vectors "
                                   "ORDER BY rowid DESC LIMIT 1 OFFSET ?)", (self.max_items,))
            except sqlite3.Error:
                pass  # a full disk or a locked file only costs the cache
