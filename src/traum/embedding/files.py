"""Embedding whole files: windows → model → one pooled vector plus the per-window vectors."""

from __future__ import annotations

import os

import numpy as np

from traum.embedding.base import EmbeddingModel, pool_windows
from traum.embedding.batching import embed_in_batches


def embed_samples(model: EmbeddingModel, samples: np.ndarray, *, batch_size: int = 16
                  ) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    """``samples``: mono float32 at ``model.sample_rate``. Returns (file vector, [(offset, window vector)])."""
    windows = model.prepare(samples)
    vectors, _ = embed_in_batches(model, [w.features for w in windows], batch_size)
    return pool_windows(vectors), [(w.offset, v) for w, v in zip(windows, vectors, strict=True)]


def embed_file(model: EmbeddingModel, path: str | os.PathLike[str]
               ) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    from traum.audio import load

    return embed_samples(model, load(path, model.sample_rate).samples)
