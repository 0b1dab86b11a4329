"""Batch sizes that fit the device, and backing off instead of crashing on out-of-memory."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import numpy as np

from traum.embedding.base import EmbeddingModel

log = logging.getLogger(__name__)

#: Working memory per 10 s window through full-size HTSAT in inference mode (activations), measured
#: with fp32 on CPU; generous so the estimate errs towards smaller batches.
BYTES_PER_WINDOW = 160 << 20
MAX_BATCH = 64
#: Measured on 2 cores with full-size HTSAT in bf16: 39 ms/window at 4, 42 at 8, 50 at 16, 52 at 32
#: (small batches stay in cache).
CPU_BATCH = 4


def default_batch_size(device: str) -> int:
    """Windows per batch: from free VRAM on CUDA, a fixed CPU size that keeps both cores busy."""
    if device.startswith("cuda"):
        import torch

        vram, _total = torch.cuda.mem_get_info()
        return int(max(1, min(MAX_BATCH, vram * 0.6 // BYTES_PER_WINDOW)))
    if device == "mps":
        return 16
    free = _available_ram()
    if free is None:
        return CPU_BATCH
    return int(max(1, min(CPU_BATCH, free * 0.25 // BYTES_PER_WINDOW)))


def _available_ram() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not on this platform
        return None


def embed_in_batches(model: EmbeddingModel, features: list[np.ndarray], batch_size: int,
                     before_batch: Callable[[], None] | None = None) -> tuple[np.ndarray, int]:
    """Embed all ``features``; halve the batch on out-of-memory. Returns vectors and the batch size used.

    Batches are cut by window count, whatever file the windows come from: a 3-minute file's 18 windows
    go through as several ordinary batches. ``before_batch`` runs before each (the indexer re-divides the
    cores there)."""
    out, start = [], 0
    while start < len(features):
        chunk = features[start:start + batch_size]
        if before_batch is not None:
            before_batch()
        try:
            out.append(model.embed_windows(np.stack(chunk)))
        except (RuntimeError, MemoryError) as err:
            if not _is_oom(err) or batch_size == 1:
                raise
            batch_size = max(1, batch_size // 2)
            log.warning("out of memory; batch size now %d", batch_size)
            _free_cache()
            continue
        start += len(chunk)
    return (np.vstack(out) if out else np.zeros((0, model.dim), np.float32)), batch_size


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or "out of memory" in str(err).lower()


def _free_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
