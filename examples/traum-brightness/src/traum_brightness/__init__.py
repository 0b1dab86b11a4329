"""A Traum plugin: how bright a sample is, from its spectrum."""

from __future__ import annotations

import numpy as np

from traum.plugins import hookimpl

#: Above this a sample is tagged "bright" (a closed hi-hat is ~0.13, a kick or snare under 0.01).
BRIGHT = 0.1


@hookimpl
def analyze_file(samples: np.ndarray, rate: int) -> dict[str, object]:
    """Spectral centroid over Nyquist of the first 30 s, power-weighted."""
    head = samples[: 30 * rate].astype(np.float64)
    power = np.abs(np.fft.rfft(head)) ** 2
    total = float(power.sum())
    if total <= 0.0:
        return {"brightness": 0.0}
    frequencies = np.linspace(0.0, 1.0, len(power))
    brightness = round(float((frequencies * power).sum() / total), 4)
    return {"brightness": brightness, "tags": ["bright"] if brightness > BRIGHT else []}
