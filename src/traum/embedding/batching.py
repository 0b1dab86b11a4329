"""Batch sizes that fit the device, and backing off instead of crashing on out-of-memory."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from traum.embedding.base import EmbeddingModel
from traum.embedding.threads import set_torch_threads

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


#: Inference lanes at most: beyond four, more threads per lane use a big machine without holding
#: more batches of activations at once.
MAX_LANES = 4


def lanes_for(cores: int) -> tuple[int, int]:
    """(lanes, torch threads per lane) for ``cores`` CPU cores of inference.

    Batches side by side on single-threaded lanes instead of one batch on an OpenMP team: a team
    waits at every operator for its slowest thread, so a core taken for a moment (analysis, decoding,
    the DAW) stalls all of them. Full-size HTSAT, fp32, two cores, batches of 4: two lanes 0.25-0.28
    s/window against 0.34-0.35 for one batch on two threads with other work on the machine
    (benchmarks/index.py shows the whole runs)."""
    lanes = max(1, min(MAX_LANES, cores))
    return lanes, max(1, cores // lanes)


def embed_in_batches(model: EmbeddingModel, features: list[np.ndarray], batch_size: int,
                     *, inference_cores: Callable[[], int | None] | None = None) -> tuple[np.ndarray, int]:
    """Embed all ``features``; halve the batch on out-of-memory. Returns vectors and the batch size used.

    Batches are cut by window count, whatever file the windows come from: a 3-minute file's 18 windows
    go through as several ordinary batches. ``inference_cores`` (asked before each round; None on a
    GPU): how many CPU cores inference may use now (the indexer leaves out those its analysis
    processes are busy on); the batch is shared out between that many lanes running side by side
    (:func:`lanes_for`)."""
    out: list[np.ndarray] = []
    start = 0
    while start < len(features):
        cores = inference_cores() if inference_cores is not None else None
        lanes, threads = lanes_for(cores) if cores else (1, 0)
        # The lanes share the batch: as many windows in flight (and as much activation memory) as one
        # batch on a team, and a single-threaded lane runs a window as fast at 1, 2 or 4 per batch.
        per_lane = max(1, batch_size // lanes)
        ends = range(start, min(len(features), start + lanes * per_lane), per_lane)
        chunks = [features[s:s + per_lane] for s in ends]
        try:
            out += _embed_side_by_side(model, chunks, threads)
        except (RuntimeError, MemoryError) as err:
            if not _is_oom(err) or batch_size == 1:
                raise
            batch_size = max(1, batch_size // 2)
            log.warning("out of memory; batch size now %d", batch_size)
            _free_cache()
            continue
        start += sum(len(chunk) for chunk in chunks)
    return (np.vstack(out) if out else np.zeros((0, model.dim), np.float32)), batch_size


def _embed_side_by_side(model: EmbeddingModel, chunks: list[list[np.ndarray]], threads: int) -> list[np.ndarray]:
    """Each chunk on its own lane (a thread; torch releases the GIL inside its operators); in order."""
    def lane(chunk: list[np.ndarray]) -> np.ndarray:
        if threads:
            set_torch_threads(threads)
        return model.embed_windows(np.stack(chunk))

    if len(chunks) == 1:
        return [lane(chunks[0])]
    with ThreadPoolExecutor(len(chunks), thread_name_prefix="traum-infer") as lanes:
        return list(lanes.map(lane, chunks))


def _is_oom(err: BaseException) -> bool:
    return isinstance(err, MemoryError) or "out of memory" in str(err).lower()


def _free_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
