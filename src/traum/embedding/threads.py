"""torch's intra-op thread count, set without importing torch."""

from __future__ import annotations

import sys


def set_torch_threads(threads: int) -> None:
    """torch's intra-op threads for the calling thread. OpenMP keeps the count per thread, so every
    thread that runs the model (the job's main thread, each inference lane) sets its own, every time:
    what ``torch.get_num_threads()`` reports elsewhere says nothing about this thread. A model that
    does not use torch never imported it, and is left alone."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)
