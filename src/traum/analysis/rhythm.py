"""Tempo only where there is one.

Sample-pack loops are cut to whole bars, so a loop's duration admits only a few tempos
(duration = beats × 60 / bpm for 4, 8, 16, 32 or 64 beats). Each candidate in 60–200 BPM is scored by
the onset envelope's autocorrelation at its beat period (and half of it); a tempo written in the
name, when it fits, wins. One-shots and arrhythmic sounds get None.
"""

from __future__ import annotations

import numpy as np

from traum.analysis.features import HOP, RATE

MIN_LOOP_SECONDS = 1.0
BEATS = (2, 4, 8, 16, 32, 64)
#: Below this normalised autocorrelation, periodicity is too weak to call a tempo.
MIN_PERIODICITY = 0.12


def tempo(y: np.ndarray, rate: int = RATE, *, name_bpm: float | None = None) -> tuple[float | None, float]:
    """(bpm or None, confidence 0–1)."""
    import librosa

    duration = len(y) / rate
    if duration < MIN_LOOP_SECONDS:
        return None, 0.0
    envelope = librosa.onset.onset_strength(y=y, sr=rate, hop_length=HOP)
    if len(librosa.onset.onset_detect(onset_envelope=envelope, sr=rate, hop_length=HOP)) < 3:
        return None, 0.0
    ac = _normalised_ac(envelope)
    # The beat is carried by kick and snare: onsets below ~1.5 kHz repeat once per beat, hats and
    # shakers every half beat. Weighing the low band's periodicity at one beat picks 80 over 160 BPM.
    low = _normalised_ac(librosa.onset.onset_strength(y=y, sr=rate, hop_length=HOP, fmax=1500, n_mels=32))
    frame_rate = rate / HOP
    candidates = sorted({round(b * 60 / duration, 2) for b in BEATS if 60 <= b * 60 / duration <= 200})
    if name_bpm:
        candidates.append(name_bpm)
    scored = [((0.5 * periodicity(ac, frame_rate, bpm) + 0.5 * periodicity(low, frame_rate, bpm, (1,)))
               * _prior(bpm), bpm) for bpm in candidates]
    if not scored:
        free = float(librosa.feature.tempo(onset_envelope=envelope, sr=rate, hop_length=HOP)[0])
        scored = [(periodicity(ac, frame_rate, free) * 0.8, free)]
    best, bpm = max(scored)
    if name_bpm and any(abs(name_bpm - c) / c < 0.02 for c in candidates[:-1] or [name_bpm]):
        return round(name_bpm, 2), 0.95
    if best < MIN_PERIODICITY:
        return (round(name_bpm, 2), 0.6) if name_bpm else (None, 0.0)
    fits_bars = bpm in candidates and bpm != name_bpm
    return round(float(bpm), 2), round(min(0.95, 0.4 + best + (0.2 if fits_bars else 0.0)), 2)


def _normalised_ac(envelope: np.ndarray) -> np.ndarray:
    import librosa

    ac = librosa.autocorrelate(envelope - envelope.mean())
    return ac / ac[0] if ac[0] > 0 else ac


def periodicity(ac: np.ndarray, frame_rate: float, bpm: float, beats_at: tuple[int, ...] = (1, 2, 4)) -> float:
    """Autocorrelation at whole beat periods (interpolated): how strongly the onsets repeat. The bar
    (4 beats) counts too: a pad loop that changes chord once a bar repeats only there."""
    values = []
    for beats in beats_at:
        lag = beats * 60.0 / bpm * frame_rate
        if lag < len(ac) - 1:
            i = int(lag)
            values.append(ac[i] + (ac[i + 1] - ac[i]) * (lag - i))
    return float(np.mean(values)) if values else 0.0


def _prior(bpm: float) -> float:
    """A gentle preference for common loop tempos (log-normal around 120 BPM, as librosa's prior)."""
    return float(np.exp(-0.5 * (np.log2(bpm / 120.0) / 1.0) ** 2))
