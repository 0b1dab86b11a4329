"""Decoded audio in flight is bounded by the run's audio budget (``TRAUM_INDEX_AUDIO_MB``), not by which
files happen to be queued: with analysis slower than decoding (the tiny model, long-ish loops), decoding
threads wait for the budget instead of piling decoded files up in front of the analysis processes."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import DIRT
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index
from traum.pipeline import prepare as prepare_module

FILES = 16
#: 6 s of 44.1 kHz stereo: 1.06 MB of mono float32 per decoded file.
SECONDS, RATE = 6.0, 44_100
BUDGET_MB = 4


@pytest.fixture
def loops(tmp_path):
    """Distinct ~6-s stereo loops tiled from a real break (each its own content hash)."""
    import soxr

    data, rate = sf.read(DIRT / "breaks125" / "015_sdstckbr.wav", dtype="float32", always_2d=True)
    mono = soxr.resample(data.mean(axis=1), rate, RATE)
    tiled = np.tile(mono, int(np.ceil(SECONDS * RATE / len(mono))))[: int(SECONDS * RATE)]
    lib = tmp_path / "library"
    lib.mkdir()
    for i in range(FILES):
        gain = 0.9 - 0.02 * i
        sf.write(lib / f"loop_{i:02d}.wav", np.stack([tiled * gain, tiled * gain * 0.98], axis=1), RATE,
                 subtype="PCM_24")
    return lib


class LiveSamples:
    """The decoded sample arrays still alive, watched through weak references to the real decodes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.peak_bytes = 0
        self.peak_files = 0
        self._files = 0

    def watch(self, samples: np.ndarray) -> None:
        with self._lock:
            self.bytes += samples.nbytes
            self._files += 1
            self.peak_bytes = max(self.peak_bytes, self.bytes)
            self.peak_files = max(self.peak_files, self._files)
        weakref.finalize(samples, self._gone, samples.nbytes)

    def _gone(self, nbytes: int) -> None:
        with self._lock:
            self.bytes -= nbytes
            self._files -= 1


def test_decoded_files_held_at_once_stay_within_the_audio_budget_while_analysis_is_slow(
        loops, db, tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "0")
    live = LiveSamples()
    real_decode = prepare_module.decode_source

    def watched_decode(*args, **kwargs):
        source = real_decode(*args, **kwargs)
        live.watch(source.samples)
        return source

    monkeypatch.setattr(prepare_module, "decode_source", watched_decode)
    with Catalog(db) as catalog:
        report = run_index([loops], catalog, IndexOptions(model=str(tiny_model), workers=4, analysis_workers=1,
                                                          audio_memory_mb=BUDGET_MB))
    assert report.indexed == FILES and report.failed == 0
    per_file = int(SECONDS * RATE) * 4
    # Without the budget, the 8 analysis slots and 4 decoding threads held ~12 of these at once.
    assert live.peak_bytes <= BUDGET_MB << 20
    assert live.peak_files <= (BUDGET_MB << 20) // per_file
    # The decoders did wait for the budget: analysis was the bottleneck, so the bound was tested.
    assert report.wait_seconds["decoders wait for the audio memory budget"] > 0


def test_a_file_larger_than_the_whole_budget_is_decoded_alone_not_refused(loops, db, tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "0")
    with Catalog(db) as catalog:
        report = run_index([loops], catalog, IndexOptions(model=str(tiny_model), audio_memory_mb=0))
    assert report.indexed == FILES and report.failed == 0
    with Catalog(db) as catalog:
        assert catalog.stem_count(embedded_only=True) == FILES
