"""What Traum needs from an embedding model, whatever it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True, slots=True)
class Window:
    """One model window of a file: where it starts and the model's input for it."""

    offset: float
    features: np.ndarray


@runtime_checkable
class EmbeddingModel(Protocol):
    #: Identity of the weights and preprocessing; part of every cache key.
    model_id: str
    #: The name the user gave (Hugging Face id or directory).
    name: str
    sample_rate: int
    window_seconds: float

    @property
    def dim(self) -> int:
        """Vector size (a property, so a model that is loaded on first use can learn it then)."""
        ...

    def prepare(self, samples: np.ndarray) -> list[Window]:
        """Model inputs for mono ``samples`` at ``sample_rate``. Thread-safe, CPU only."""
        ...

    def embed_windows(self, features: np.ndarray) -> np.ndarray:
        """A batch of stacked window features → (n, dim) float32, L2-normalised."""
        ...

    def embed_text(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, L2-normalised."""
        ...


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def pool_windows(vectors: np.ndarray) -> np.ndarray:
    """One vector for a whole file: the normalised mean of its window vectors."""
    return normalise(np.asarray(vectors, dtype=np.float32).mean(axis=0))
