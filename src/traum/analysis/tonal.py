"""Key (24 major/minor keys) of tonal material, and the root note of pitched one-shots."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from traum.vocabulary import note_name

# Krumhansl–Kessler probe-tone profiles. On 320 tonal and mixed loops of benchmarks/loops.py
# (constant-Q chroma) they scored 0.92 MIREX, against 0.91 for Sha'ath's, 0.88 for Faraldo's EDMA
# and lower for Temperley's.
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
#: Loops mostly start on their tonic chord: the first quarter of the loop counts twice. Without it a
#: bass line on I–V–vi–IV roots (no thirds) reads as its relative minor or the subdominant.
START_WEIGHT = 1.0
#: Seconds of audio for the key: a 4-bar loop at 80 BPM.
KEY_SECONDS = 12


def key_chroma(y: np.ndarray, rate: int, *, kick_aware: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(mean chroma, chroma of the first quarter), from a constant-Q transform down to C1.

    Constant-Q, not STFT: an STFT bin at 22 kHz is 11 Hz wide, two semitones at 40 Hz, so bass
    lines smear across pitch classes (STFT chroma scored 0.83 MIREX on the loops above, this 0.92).
    ``kick_aware`` (loops) leaves out the lowest octave (C1–B1) when one pitch class holds a third
    of its energy and is weak in the octaves above: a kick ringing there outweighs the music, and
    its pitch was read as the key's; a bass line walks the roots, and a chord's root is doubled above.
    """
    y = y[: KEY_SECONDS * rate]
    magnitude = np.abs(constant_q(y, rate))
    if kick_aware and _kick_below_c2(magnitude):
        magnitude[:_CQ_BINS_PER_OCTAVE] = 0.0
    chroma = _cq_to_chroma() @ magnitude
    return chroma.mean(axis=1), chroma[:, : max(1, chroma.shape[1] // 4)].mean(axis=1)


#: Share of the lowest octave's energy on its strongest pitch class above which it may be a kick's
#: (tonal loops of benchmarks/loops.py: at most 0.27), and the strength relative to the strongest
#: class above C2 under which the music does not share it.
KICK_PITCH_SHARE, KICK_PITCH_ABOVE = 0.3, 0.5


def _kick_below_c2(magnitude: np.ndarray) -> bool:
    to_chroma = _cq_to_chroma()
    lowest = to_chroma[:, :_CQ_BINS_PER_OCTAVE] @ magnitude[:_CQ_BINS_PER_OCTAVE].sum(axis=1)
    above = to_chroma[:, _CQ_BINS_PER_OCTAVE:] @ magnitude[_CQ_BINS_PER_OCTAVE:].sum(axis=1)
    pitch = int(np.argmax(lowest))
    return bool(lowest[pitch] >= KICK_PITCH_SHARE * max(float(lowest.sum()), 1e-12)
                and above[pitch] < KICK_PITCH_ABOVE * max(float(above.max()), 1e-12))


_CQ_FMIN = 32.703195662574764  # C1
_CQ_HOP, _CQ_BINS_PER_OCTAVE, _CQ_OCTAVES = 2048, 36, 7


def constant_q(y: np.ndarray, rate: int) -> np.ndarray:
    """``librosa.cqt(y, sr=rate, hop_length=2048, fmin=C1, n_bins=252, bins_per_octave=36, tuning=0)``,
    octave by octave as librosa does it, with each octave's filter basis built once per process
    (librosa builds it on every call: 120 ms of a 125 ms chroma for a 12 s loop)."""
    import librosa

    responses = []
    octave_y, octave_rate, hop = y, float(rate), _CQ_HOP
    for octave in range(_CQ_OCTAVES):
        basis, n_fft = _octave_basis(rate, octave)
        stft = librosa.stft(octave_y, n_fft=n_fft, hop_length=hop, window="ones", pad_mode="constant",
                            dtype=np.complex64)
        responses.append(basis.dot(stft))
        if octave < _CQ_OCTAVES - 1:
            hop //= 2
            octave_rate /= 2.0
            octave_y = librosa.resample(octave_y, orig_sr=2, target_sr=1, res_type="soxr_hq", scale=True)
    frames = min(r.shape[-1] for r in responses)
    # Lowest octave first, as librosa stacks them.
    stacked = np.concatenate([r[:, :frames] for r in reversed(responses)], axis=0)
    return stacked / np.sqrt(_lengths(rate))[:, None]


def _frequencies() -> np.ndarray:
    import librosa

    return librosa.cqt_frequencies(n_bins=_CQ_OCTAVES * _CQ_BINS_PER_OCTAVE, fmin=_CQ_FMIN,
                                   bins_per_octave=_CQ_BINS_PER_OCTAVE)


@lru_cache(maxsize=4)
def _lengths(rate: int) -> np.ndarray:
    import librosa

    freqs = _frequencies()
    lengths, _ = librosa.filters.wavelet_lengths(freqs=freqs, sr=rate, window="hann", filter_scale=1, gamma=0,
                                                 alpha=librosa.filters._relative_bandwidth(freqs=freqs))
    return lengths


@lru_cache(maxsize=16)
def _octave_basis(rate: int, octave: int) -> tuple[Any, int]:
    """The sparse frequency-domain filters of one octave (0 = the top), as librosa's vqt builds them."""
    import librosa

    freqs = _frequencies()
    alpha = librosa.filters._relative_bandwidth(freqs=freqs)
    n = _CQ_BINS_PER_OCTAVE
    part = slice(-n, None) if octave == 0 else slice(-n * (octave + 1), -n * octave)
    octave_rate = rate / 2.0 ** octave
    basis, lengths = librosa.filters.wavelet(freqs=freqs[part], sr=octave_rate, filter_scale=1, norm=1,
                                             pad_fft=True, window="hann", gamma=0, alpha=alpha[part])  # type: ignore[arg-type]  # librosa takes per-filter bandwidths; its stub says float
    n_fft = basis.shape[1]
    hop = _CQ_HOP // 2 ** octave
    if n_fft < 2.0 ** (1 + np.ceil(np.log2(hop))):
        n_fft = int(2.0 ** (1 + np.ceil(np.log2(hop))))
    basis *= lengths[:, np.newaxis] / float(n_fft)
    fft_basis = np.fft.fft(basis, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
    fft_basis = librosa.util.sparsify_rows(fft_basis, quantile=0.01, dtype=np.complex64)
    # Compensates for the downsampling, as librosa does.
    return fft_basis * np.sqrt(rate / octave_rate), n_fft


@lru_cache(maxsize=1)
def _cq_to_chroma() -> np.ndarray:
    import librosa

    return librosa.filters.cq_to_chroma(_CQ_OCTAVES * _CQ_BINS_PER_OCTAVE, bins_per_octave=_CQ_BINS_PER_OCTAVE,
                                        n_chroma=12, fmin=_CQ_FMIN)


def key_from_chroma(chroma: np.ndarray, start: np.ndarray | None = None) -> tuple[str, str, float]:
    """(tonic, mode, confidence) from a 12-bin chroma vector (C first) and that of the loop's start."""
    chroma = np.asarray(chroma, dtype=float)
    if start is not None:
        chroma = chroma + START_WEIGHT * np.asarray(start, dtype=float)
    chroma = chroma / max(chroma.max(), 1e-12)
    if chroma.sum() <= 0:
        return "C", "major", 0.0
    scores = []
    for mode, profile in (("major", _MAJOR), ("minor", _MINOR)):
        for tonic in range(12):
            scores.append((float(np.corrcoef(chroma, np.roll(profile, tonic))[0, 1]), tonic, mode))
    scores.sort(reverse=True)
    (best, tonic, mode), second = scores[0], scores[1][0]
    return note_name(tonic), mode, round(max(0.0, min(1.0, (best - second) * 5 + best * 0.5)), 2)


def pitch_classes_present(chroma: np.ndarray, share: float = 0.5) -> int:
    """Pitch classes with at least ``share`` of the strongest one's energy: 1–3 for a single note
    (root, fifth and third harmonics), 5 and more for chords and progressions."""
    chroma = np.asarray(chroma, dtype=float)
    return int(np.sum(chroma >= share * chroma.max())) if chroma.max() > 0 else 0


def root_note(y: np.ndarray, rate: int) -> tuple[str, float, float] | None:
    """(note like "C2", cents off, stable share) of a pitched one-shot, or None when unpitched.

    YIN over the first 1.5 s (30× cheaper than pYIN here); a sound is pitched when most frames agree
    with the median pitch within half a semitone.
    """
    import librosa

    clip = y[: int(1.5 * rate)]
    if len(clip) < 4096:
        return None
    f0 = librosa.yin(clip, fmin=30.0, fmax=2000.0, sr=rate, frame_length=4096, hop_length=512)
    f0 = f0[np.isfinite(f0) & (f0 > 0)]
    if not len(f0):
        return None
    midi = librosa.hz_to_midi(f0)
    centre = float(np.median(midi))
    stable = float(np.mean(np.abs(midi - centre) < 0.5))
    if stable < 0.5:
        return None
    pitch = float(np.median(midi[np.abs(midi - centre) < 0.5]))
    nearest = int(round(pitch))
    return f"{note_name(nearest)}{nearest // 12 - 1}", round((pitch - nearest) * 100, 1), round(stable, 2)
