"""A drum loop with a pitched kick (an 808), synthesised here and read back from WAV."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from traum.analysis import analyse_path
from traum.analysis.category import DRUMS

RATE = 44_100


def _decay(n: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (seconds * RATE))


def kick_808(hz: float = 45.0, seconds: float = 0.9) -> np.ndarray:
    """A sine gliding from twice ``hz`` down to it in ~30 ms, ringing for ``seconds``."""
    t = np.arange(int(2.5 * seconds * RATE)) / RATE
    freq = hz * (1 + np.exp(-t / 0.03))
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _decay(len(t), seconds)


def hat(rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    noise = rng.standard_normal(int(0.2 * RATE))
    return sosfilt(butter(4, 7000, "highpass", fs=RATE, output="sos"), noise) * _decay(len(noise), 0.03)


def clap(rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    noise = rng.standard_normal(int(0.3 * RATE))
    return sosfilt(butter(2, [800, 6000], "bandpass", fs=RATE, output="sos"), noise) * _decay(len(noise), 0.06)


def drum_loop(bpm: float = 120.0, bars: int = 2, seed: int = 0) -> np.ndarray:
    """808 kick on 1 and the "and" of 2, clap on 2 and 4, hats on eighths."""
    rng = np.random.default_rng(seed)
    sixteenth = 60 / bpm / 4
    out = np.zeros(int(round(bars * 16 * sixteenth * RATE)))
    parts = {"kick": ([0, 6, 8], kick_808(), 1.0), "clap": ([4, 12], clap(rng), 0.7),
             "hat": (list(range(0, 16, 2)), hat(rng), 0.4)}
    for bar in range(bars):
        for steps, sound, gain in parts.values():
            for step in steps:
                start = int(round((bar * 16 + step) * sixteenth * RATE))
                piece = sound[: len(out) - start]
                out[start:start + len(piece)] += gain * piece
    return out


def write(path, y: np.ndarray) -> str:
    sf.write(path, (0.9 * y / np.abs(y).max()).astype(np.float32), RATE, subtype="PCM_16")
    return str(path)


def test_an_808_drum_loop_is_drums_without_a_key(tmp_path):
    facts = analyse_path(write(tmp_path / "0001.wav", drum_loop()))
    assert facts["bpm"] == pytest.approx(120, rel=0.04)
    assert facts["category"] in DRUMS and facts["key"] is None
