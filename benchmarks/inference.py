"""How close the audio tower runs to this CPU's floor: the arithmetic one window needs, the matrix-product
speed this CPU reaches, and what is left for anything else to win.

    python benchmarks/inference.py [--batch 4] [--repeats 3]

Model: the full-size CLAP architecture (``ClapConfig()``) with random weights; speed depends on the
architecture, not the weights. Traum's own path (``ClapEmbedder.embed_windows``: the torch log-mel front end,
HTSAT, the projection) on one thread, as one inference lane runs it, in the precision Traum picks on this
CPU. Baseline: the same CPU's matrix-product peak (``torch.mm`` on the tower's commonest shapes and on a
large square, one thread, same precision), measured in the same run.

The floor per window is its matrix-product arithmetic (counted by ``torch.profiler``) at that peak, with
every other operator free. No code running the same model in the same precision goes below it, so
``benchmarks/index.py`` uses it to print the best speed-up any scheduling could reach on this machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from common import full_size_model, log, table

#: Operators that are matrix products: what the profiler counts FLOPs for, and what the peak is measured on.
MATMUL_OPS = ("aten::addmm", "aten::mm", "aten::bmm", "aten::mkldnn_convolution", "aten::convolution")
#: (m, k, n) of the audio tower's largest products at batch 4 (stage 3's MLP and attention projections).
SHAPES = ((1024, 384, 1536), (1024, 1536, 384), (1024, 384, 384), (16384, 96, 384), (2048, 2048, 2048))


def matmul_peak(dtype_name: str, repeats: int = 5) -> float:
    """Best GFLOP/s of ``torch.mm`` on one thread over :data:`SHAPES`: this CPU's practical peak."""
    import torch

    dtype = getattr(torch, dtype_name)
    best = 0.0
    for m, k, n in SHAPES:
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        torch.mm(a, b)
        for _ in range(repeats):
            start = time.perf_counter()
            torch.mm(a, b)
            best = max(best, 2 * m * k * n / (time.perf_counter() - start) / 1e9)
    return best


def window_profile(model_dir: str, batch: int = 4, repeats: int = 3) -> dict:
    """Traum's forward pass on one thread: CPU seconds and matrix-product GFLOP per window, and the share of
    the time spent in matrix products."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from traum.embedding.clap import ClapEmbedder

    torch.set_num_threads(1)
    model = ClapEmbedder(model_dir, device="cpu")
    rng = np.random.default_rng(0)
    waves = (rng.standard_normal((batch, model._window_samples)) * 0.1).astype(np.float32)
    model.embed_windows(waves)
    start = time.process_time()
    for _ in range(repeats):
        model.embed_windows(waves)
    cpu_per_window = (time.process_time() - start) / (repeats * batch)
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        model.embed_windows(waves)
    events = prof.key_averages()
    total_us = sum(e.self_cpu_time_total for e in events)
    matmul_us = sum(e.self_cpu_time_total for e in events if e.key in MATMUL_OPS)
    flops = sum(e.flops or 0 for e in events)
    return {"precision": model.precision, "cpu_s": cpu_per_window, "gflop": flops / batch / 1e9,
            "matmul_share": matmul_us / total_us if total_us else 0.0,
            "matmul_gflops": flops / (matmul_us / 1e6) / 1e9 if matmul_us else 0.0}


def floor(model_dir: str, batch: int = 4, repeats: int = 3) -> dict:
    """:func:`window_profile` plus this CPU's peak and the floor per window (core-seconds)."""
    prof = window_profile(model_dir, batch, repeats)
    peak = matmul_peak("bfloat16" if prof["precision"] == "bf16" else "float32")
    return {**prof, "peak_gflops": peak, "floor_s": prof["gflop"] / peak}


def print_floor(result: dict) -> None:
    rows = [["matrix-product GFLOP per window", result["gflop"], result["gflop"]],
            ["CPU s per window (one thread)", result["gflop"] / result["peak_gflops"], result["cpu_s"]],
            ["matrix products, GFLOP/s", result["peak_gflops"], result["matmul_gflops"]],
            ["share of the time in matrix products", 1.0, result["matmul_share"]],
            ["window cost / floor", 1.0, result["cpu_s"] / result["floor_s"]]]
    print(f"\nfull-size HTSAT + projection, precision {result['precision']}, one thread\n")
    print(table(rows, ["", "floor (this CPU's torch.mm peak, all else free)", "traum (measured)"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = str(full_size_model())
    log(f"model {model}")
    print_floor(floor(model, args.batch, args.repeats))


if __name__ == "__main__":
    main()
