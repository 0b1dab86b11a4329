"""Text-query embeddings, cached in memory (LRU) and on disk, keyed by model and text: typing the
same query twice, or across restarts, costs no text-tower inference."""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from traum.catalog.db import connect
from traum.embedding.base import EmbeddingModel


class TextEmbeddingCache:
    def __init__(self, model: EmbeddingModel, path: Path | None = None, *, memory_items: int = 4096) -> None:
        self.model = model
        self.memory_items = memory_items
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._disk = None
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
                return self._memory[text]
            vector = self._from_disk(text)
        if vector is None:
            vector = self.model.embed_text([text])[0]
            self._to_disk(text, vector)
        with self._lock:
            self._memory[text] = vector
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
        return vector

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
                self._disk.execute("INSERT OR REPLACE INTO text_vectors VALUES (?, ?, ?)",
                                   (self.model.model_id, text, np.asarray(vector, np.float32).tobytes()))
            except sqlite3.Error:
                pass  # a full disk or a locked file only costs the cache
