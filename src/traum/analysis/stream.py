"""Whole-file measures computed block by block, so a one-hour file costs what a one-minute file does.

Loudness (BS.1770 with pyloudnorm's K-weighting filters, gated over 400 ms blocks), peaks, true peak,
frame RMS, clipping runs, DC and leading silence need every sample but never all at once: each block
updates running state. :func:`read_long` streams a file once for both analysis (these measures plus
the first :data:`~traum.analysis.ANALYSIS_SECONDS` for the descriptors) and the model's windows.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from traum.analysis.loudness import SILENCE_THRESHOLD_DB, LoudnessMeter, TruePeakMeter, db, first_above

#: Files longer than this are streamed (analysis and model windows) instead of decoded whole.
STREAM_SECONDS = 600.0
_SUB_BLOCK = 1 << 16


@dataclass
class WholeFile:
    """Running measures over a mono signal fed in blocks (picklable: it crosses to the analysis pool).
    Loudness and true peak come from the same meters as a file decoded whole, so they agree exactly."""

    rate: int
    frames: int = 0
    peak: float = 0.0
    total: float = 0.0
    clipped_runs: int = 0
    first_sound: int | None = None
    frame_rms: list[np.ndarray] = field(default_factory=list)
    _hot_run: int = 0
    _rms_carry: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    _loudness: LoudnessMeter = field(init=False)
    _true_peak: TruePeakMeter = field(default_factory=TruePeakMeter)

    def __post_init__(self) -> None:
        self._loudness = LoudnessMeter(self.rate)

    def add(self, block: np.ndarray) -> None:
        from traum.analysis import _blas_controller

        # The true peak's matrix products are small: BLAS threads would only spin against inference.
        with _blas_controller().limit(limits=1, user_api="blas"):
            # Sub-blocks keep the float64 temporaries at a few MB whatever the block.
            for start in range(0, len(block), _SUB_BLOCK):
                self._add(block[start:start + _SUB_BLOCK])

    def _add(self, block: np.ndarray) -> None:
        magnitude = np.abs(block)
        self.peak = max(self.peak, float(magnitude.max()))
        self.total += float(np.sum(block, dtype=np.float64))
        if self.first_sound is None:
            first = first_above(magnitude, 10 ** (SILENCE_THRESHOLD_DB / 20), -1)
            self.first_sound = self.frames + first if first >= 0 else None
        self._count_clipping(magnitude >= 0.999)
        self._add_frame_rms(block)
        self._loudness.add(block)
        self._true_peak.add(block)
        self.frames += len(block)

    def _count_clipping(self, hot: np.ndarray) -> None:
        """Runs of 3+ full-scale samples; a run open at the block's end carries into the next block."""
        if not hot.any():  # the common case: only an open run can end here
            self.clipped_runs += 1 if self._hot_run >= 3 else 0
            self._hot_run = 0
            return
        edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
        starts = np.flatnonzero(edges == 1)
        lengths = np.flatnonzero(edges == -1) - starts
        if self._hot_run:
            if len(starts) and starts[0] == 0:
                lengths[0] += self._hot_run
            elif self._hot_run >= 3:
                self.clipped_runs += 1
        if len(lengths) and hot[-1]:
            self._hot_run, lengths = int(lengths[-1]), lengths[:-1]
        else:
            self._hot_run = 0
        self.clipped_runs += int(np.sum(lengths >= 3))

    def _add_frame_rms(self, block: np.ndarray) -> None:
        size = max(1, int(0.02 * self.rate))
        y = np.concatenate([self._rms_carry, block]) if len(self._rms_carry) else block
        n = len(y) // size
        if n:
            self.frame_rms.append(np.sqrt(np.mean(y[: n * size].reshape(n, size).astype(np.float64) ** 2,
                                                  axis=1)).astype(np.float32))
        self._rms_carry = np.array(y[n * size:], dtype=np.float32)

    # -- results ------------------------------------------------------------------------------------

    def integrated_loudness(self) -> float | None:
        """BS.1770-4 gated loudness of a mono signal, in LUFS (None when everything is gated out)."""
        return self._loudness.integrated()

    def loudness(self) -> dict[str, float | None]:
        frames = np.concatenate(self.frame_rms) if self.frame_rms else np.zeros(1, np.float32)
        loud = frames[frames > 1e-5]
        lufs = self.integrated_loudness()
        return {
            "loudness_lufs": round(lufs, 2) if lufs is not None and math.isfinite(lufs) else None,
            "peak_dbfs": round(db(self.peak), 2),
            "true_peak_dbfs": round(db(max(self._true_peak.result(), self.peak)), 2),
            "dynamic_range": round(db(self.peak) - db(float(np.percentile(loud, 95))), 2) if len(loud) else 0.0,
            "noise_floor_dbfs": round(db(float(np.percentile(frames, 10))), 2),
        }

    def quality_evidence(self) -> dict[str, float | int]:
        lead = (self.first_sound if self.first_sound is not None else self.frames) / self.rate
        return {"peak": self.peak, "mean": self.total / max(self.frames, 1),
                "clipped_runs": self.clipped_runs + (1 if self._hot_run >= 3 else 0), "leading_silence": lead}


@dataclass
class LongRead:
    """What one streaming pass over a long file gives: its head for descriptors and its whole-file measures."""

    head: np.ndarray
    whole: WholeFile
    truncated: bool
    #: Model-rate samples produced (may fall short of the header's promise in a truncated file).
    model_frames: int = 0


def read_long(path: str | os.PathLike[str], *, model_rate: int | None = None, window_seconds: float = 10.0,
              on_window: Callable[[float, np.ndarray], Any] | None = None,
              max_windows: int | None = None) -> LongRead:
    """Stream ``path`` once: whole-file measures, the first 30 s for descriptors, and (with
    ``model_rate``) each model window handed to ``on_window(offset_seconds, clip)`` as soon as it is
    complete, so no more than one window and one block are held at a time. ``max_windows``: the window
    budget (None: every window)."""
    import soxr

    from traum.analysis import ANALYSIS_SECONDS
    from traum.audio.decode import declared_bytes_missing, mono_blocks, probe
    from traum.embedding.windows import window_starts

    info = probe(path)
    whole = WholeFile(info.sample_rate)
    head_frames = ANALYSIS_SECONDS * info.sample_rate
    head: list[np.ndarray] = []
    kept = 0
    windows = None
    if model_rate is not None:
        expected = int(math.ceil(info.frames * (float(model_rate) / info.sample_rate)))
        windows = _WindowCollector(window_starts(expected, model_rate, window=window_seconds, max_windows=max_windows),
                                   int(round(window_seconds * model_rate)), model_rate, on_window, expected)
        resampler = soxr.ResampleStream(info.sample_rate, model_rate, 1, dtype="float32", quality="HQ")
    for block in mono_blocks(path):
        whole.add(block)
        if kept < head_frames:
            head.append(block[: head_frames - kept].copy())
            kept += len(head[-1])
        if windows is not None:
            windows.add(resampler.resample_chunk(block))
    if windows is not None:
        windows.add(resampler.resample_chunk(np.zeros(0, np.float32), last=True))
        windows.finish()
    if not whole.frames:
        from traum.errors import AudioError

        raise AudioError(f"{os.fspath(path)}: no audio frames")
    return LongRead(np.concatenate(head), whole, declared_bytes_missing(path),
                    windows.produced if windows is not None else 0)


class _WindowCollector:
    """Copies the model-rate stream into the planned windows; hands each on when full."""

    def __init__(self, starts: list[int], size: int, rate: int,
                 on_window: Callable[[float, np.ndarray], Any] | None, expected: int) -> None:
        self.expected = expected
        self.pending = list(starts)
        self.size, self.rate, self.on_window = size, rate, on_window
        self.open: list[tuple[int, np.ndarray]] = []
        self.produced = 0

    def add(self, chunk: np.ndarray) -> None:
        begin, end = self.produced, self.produced + len(chunk)
        while self.pending and self.pending[0] < end:
            self.open.append((self.pending.pop(0), np.zeros(self.size, np.float32)))
        still_open = []
        for start, buffer in self.open:
            lo, hi = max(start, begin), min(start + self.size, end)
            if hi > lo:
                buffer[lo - start:hi - start] = chunk[lo - begin:hi - begin]
            if start + self.size <= end:
                self._emit(start, buffer)
            else:
                still_open.append((start, buffer))
        self.open = still_open
        self.produced = end

    def finish(self) -> None:
        """The stream may end a few samples short of the planned length (the whole-file resample pads
        those with zeros, and so do these buffers); a file shorter than its header ends where it ends."""
        end = self.expected if self.produced >= self.expected - self.rate // 100 else self.produced
        for start, buffer in self.open:
            if start < end:
                self._emit(start, buffer[: end - start])
        self.open = []

    def _emit(self, start: int, clip: np.ndarray) -> None:
        if self.on_window is not None:
            self.on_window(start / self.rate, clip)
