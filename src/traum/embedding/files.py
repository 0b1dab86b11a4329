"""Embedding whole files: windows → model → one pooled vector plus the per-window vectors."""

from __future__ import annotations

import os

import numpy as np

from traum.embedding.base import EmbeddingModel, pool_windows
from traum.embedding.batching import embed_in_batches
from traum.embedding.windows import split_windows


def embed_samples(model: EmbeddingModel, samples: np.ndarray, *, batch_size: int = 16,
                  max_windows: int | None = None) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    """``samples``: mono float32 at ``model.sample_rate``. Returns (file vector, [(offset, window vector)]).
    ``max_windows``: the window budget, as ``traum index --windows`` (None: every window)."""
    clips = split_windows(samples, model.sample_rate, window=model.window_seconds, max_windows=max_windows)
    features = [model.prepare(clip)[0].features for _, clip in clips]
    vectors, _ = embed_in_batches(model, features, batch_size)
    return pool_windows(vectors), [(offset, v) for (offset, _), v in zip(clips, vectors, strict=True)]


def embed_file(model: EmbeddingModel, path: str | os.PathLike[str], *, max_windows: int | None = None
               ) -> tuple[np.ndarray, list[tuple[float, np.ndarray]]]:
    from traum.audio import load

    return embed_samples(model, load(path, model.sample_rate).samples, max_windows=max_windows)
