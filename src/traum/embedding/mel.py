"""CLAP's log-mel front end in torch, batched: the same numbers as ``ClapFeatureExtractor`` (non-fusion).

The reference extractor computes one spectrogram at a time in float64 NumPy (~35 ms per 10 s window
here), which on a 2-core laptop costs as much as the model itself. This computes a whole batch with
``torch.stft`` in float32, on the model's device, matching the extractor to ~1e-3 dB
(tests/embedding/test_mel.py); the filter bank is the extractor's own, read from the model folder.
"""

from __future__ import annotations

import numpy as np


def repeat_pad(clip: np.ndarray, length: int) -> np.ndarray:
    """The extractor's ``repeatpad``: whole repeats of the clip, then zeros up to ``length``."""
    clip = np.asarray(clip, dtype=np.float32)
    if len(clip) >= length:
        return clip[:length]
    repeats = length // len(clip)
    out = np.zeros(length, dtype=np.float32)
    tiled = np.tile(clip, repeats)
    out[: len(tiled)] = tiled
    return out


class LogMel:
    """Batched log-mel spectrogram with a given extractor's settings."""

    def __init__(self, extractor, device: str) -> None:
        import torch

        self.n_fft = int(extractor.fft_window_size)
        self.hop = int(extractor.hop_length)
        self.window = torch.hann_window(self.n_fft, periodic=True, dtype=torch.float32, device=device)
        self.filters = torch.from_numpy(np.asarray(extractor.mel_filters_slaney, dtype=np.float32)).to(device)
        self.device = device

    def __call__(self, waveforms: np.ndarray):
        """(n, samples) float32 → (n, 1, frames, mels) log-mel in dB, as the extractor lays it out."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(waveforms, dtype=np.float32)).to(self.device)
        spec = torch.stft(x, self.n_fft, self.hop, window=self.window, center=True, pad_mode="reflect",
                          return_complex=True)
        power = spec.real.square() + spec.imag.square()             # (n, freq, frames)
        mel = torch.matmul(power.transpose(1, 2), self.filters)      # (n, frames, mels)
        return (10.0 * torch.log10(mel.clamp_min(1e-10))).unsqueeze(1)
