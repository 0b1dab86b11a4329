"""Tempo only where there is one.

Sample-pack loops are cut to whole bars, so a loop's duration admits only a few tempos:
duration = beats × 60 / bpm for 2, 4, 8 … 64 beats, a factor of two apart. Which of them is the beat
is the hard part (80 or 160?). Each candidate is scored by a logistic model over how strongly five
onset envelopes repeat at its beat, half beat and two beats (full-band, kick band, snare-body band,
hat band, harmony changes), how many onsets fall per beat, whether the snares land on its 2 and 4,
and where it sits in the usual tempo range. A tempo written in the name, when it fits, wins.
One-shots and arrhythmic sounds get None. Longer material (more than ~16 bars) is not a loop: its
tempo comes from the onset tempogram.
"""

from __future__ import annotations

import numpy as np

from traum.analysis.frontend import HOP, RATE, chroma_basis, mel_basis

MIN_LOOP_SECONDS = 1.0
#: Loops longer than this are songs or stems, not bar-cut loops: their length says nothing of tempo.
MAX_LOOP_SECONDS = 32.0
BEATS = (2, 4, 8, 16, 32, 64)
#: Tempos are reported in the range sample packs use, 70–180 BPM (with a little slack for loops cut a
#: few ms short or long): a 60 BPM loop reads as 120, a 200 BPM one as 100. Each wider octave adds
#: a candidate that is wrong far more often than right (acc1 0.90 → 0.93 in cross-validation).
MIN_BPM, MAX_BPM = 69.0, 182.0
#: Below this normalised autocorrelation at beat, two-beat or bar period, nothing repeats: no tempo.
MIN_PERIODICITY = 0.12
#: When even the best tempo is this unlikely, the "loop" is a one-shot's ringing tail: a 3 s 808
#: kick's best scores 0.04–0.07, the least likely of 240 loops of benchmarks/loops.py 0.18.
MIN_LIKELIHOOD = 0.12
#: Onsets of a rhythm stand out: their flux averages at least this multiple of the mean flux (pads:
#: 1.7, loops of benchmarks/loops.py: 2.5 and up).
MIN_ATTACK_CONTRAST = 2.0
#: A name's tempo within this of a bar-length candidate is the tempo (a loop cut a few ms long).
NAME_FITS = 0.05
#: Bands (Hz) whose energy flux carries kick, snare body and hats.
_BANDS = ((0, 150), (150, 2500), (5000, 11025))
#: Logistic weights, in feature order: for each envelope (onset strength, kick, snare body, hats,
#: chroma flux) the autocorrelation at one beat, half a beat and two beats; log2(onsets per beat);
#: the backbeat in the snare-body band and in the kick band (see :func:`_backbeat`); log2(bpm/120)
#: and its square. Fitted by benchmarks/fit_tempo.py (scikit-learn, C=0.3) on 1,440 loops of
#: benchmarks/loops.py (seven grooves; chords, arpeggios and bass lines in several registers; seeds 0
#: and 100–110). On held-out seeds 2 and 3: acc1 0.94 (0.90 without the backbeat features, 0.76 for
#: the prior alone).
_WEIGHTS = np.array([-0.26, 3.954, -0.31, 0.664, -1.824, -1.353, 0.649, -1.884, -0.2, -1.214, 0.865, 2.159,
                     0.965, -0.194, -0.581, -0.819, 2.92, 0.016, 0.36, -3.063])
_BIAS = 1.192


def tempo(y: np.ndarray, rate: int = RATE, *, name_bpm: float | None = None,
          duration: float | None = None) -> tuple[float | None, float]:
    """(bpm or None, confidence 0–1). ``duration`` is the whole file's when ``y`` is an excerpt."""
    duration = duration or len(y) / rate
    if duration < MIN_LOOP_SECONDS:
        return None, 0.0
    envelopes, onsets = _onsets(y, rate)
    # A texture (a pad's slow swell) has onsets everywhere and none stands out: no beat to count.
    if len(onsets) < 3 or envelopes[0][onsets].mean() < MIN_ATTACK_CONTRAST * envelopes[0].mean():
        return _named_or_none(name_bpm)
    acs = [_normalised_ac(e) for e in envelopes]
    frame_rate = rate / HOP
    if duration > MAX_LOOP_SECONDS:
        return _free_tempo(envelopes[0], acs[0], rate, name_bpm)
    candidates = _candidates(duration)
    repeats = max((max(_at(acs[0], lag * 60 / bpm * frame_rate) for lag in (1, 2, 4)) for bpm, _ in candidates),
                  default=0.0)
    if name_bpm and any(abs(name_bpm - bpm) / bpm < NAME_FITS for bpm, _ in candidates):
        return round(name_bpm, 2), 0.95
    if repeats < MIN_PERIODICITY or not candidates:
        return _named_or_none(name_bpm)
    scored = sorted(((_score(envelopes, acs, bpm, beats, len(onsets), frame_rate), bpm) for bpm, beats in candidates),
                    reverse=True)
    best, bpm = scored[0]
    # How sure: the model's probability for the winner, less when the runner-up is close.
    margin = best - scored[1][0] if len(scored) > 1 else 4.0
    if _sigmoid(best) < MIN_LIKELIHOOD:
        return _named_or_none(name_bpm)
    confidence = _sigmoid(best) * min(1.0, 0.5 + margin / 4) * min(1.0, repeats / 0.3)
    if name_bpm and confidence < 0.7:
        # Breaks are often not cut to whole bars (the amen in "breaks152" is 11.9 beats long): the
        # name's tempo beats a hesitant reading of the audio.
        return round(name_bpm, 2), 0.6
    return round(float(bpm), 2), round(float(np.clip(confidence, 0.05, 0.95)), 2)


def _candidates(duration: float) -> list[tuple[float, int]]:
    """(bpm, beats) for every whole number of beats in BEATS that lands in the tempo range."""
    return [(b * 60 / duration, b) for b in BEATS if MIN_BPM <= b * 60 / duration <= MAX_BPM]


def candidate_features(y: np.ndarray, rate: int = RATE) -> list[tuple[float, list[float]]]:
    """(bpm, model features) for each candidate of a loop: what benchmarks/fit_tempo.py fits on."""
    envelopes, onsets = _onsets(y, rate)
    acs = [_normalised_ac(e) for e in envelopes]
    return [(bpm, _features(envelopes, acs, bpm, beats, len(onsets), rate / HOP))
            for bpm, beats in _candidates(len(y) / rate)]


def _onsets(y: np.ndarray, rate: int) -> tuple[list[np.ndarray], np.ndarray]:
    """The five onset envelopes (see :func:`_envelopes`) and the onset frames of the first."""
    import librosa

    envelopes = _envelopes(np.abs(librosa.stft(y, n_fft=1024, hop_length=HOP)) ** 2, rate)
    return envelopes, librosa.onset.onset_detect(onset_envelope=envelopes[0], sr=rate, hop_length=HOP)


def _envelopes(power: np.ndarray, rate: int) -> list[np.ndarray]:
    import librosa

    n_fft = 2 * (power.shape[0] - 1)
    mel = librosa.power_to_db(mel_basis(rate, n_fft) @ power)
    envelopes = [librosa.onset.onset_strength(S=mel, sr=rate)]
    freqs = librosa.fft_frequencies(sr=rate, n_fft=n_fft)
    for low, high in _BANDS:
        # Linear (not log) flux: a hat's hiss must not register as a kick because the low band was quiet.
        band = np.sqrt(power[(freqs >= low) & (freqs < high)].sum(axis=0))
        envelopes.append(np.maximum(0.0, np.diff(band, prepend=0.0)))
    chroma = librosa.util.normalize(chroma_basis(rate, n_fft) @ power, norm=np.inf, axis=-2)
    envelopes.append(np.maximum(0.0, np.diff(chroma, axis=1, prepend=chroma[:, :1])).sum(axis=0))
    return envelopes


def _score(envelopes: list[np.ndarray], acs: list[np.ndarray], bpm: float, beats: int, n_onsets: int,
           frame_rate: float) -> float:
    return float(np.dot(_WEIGHTS, _features(envelopes, acs, bpm, beats, n_onsets, frame_rate)) + _BIAS)


def _features(envelopes: list[np.ndarray], acs: list[np.ndarray], bpm: float, beats: int, n_onsets: int,
              frame_rate: float) -> list[float]:
    period = 60.0 / bpm * frame_rate
    features = [_at(ac, lag) for ac in acs for lag in (period, period / 2, period * 2)]
    octave = float(np.log2(bpm / 120.0))
    return [*features, float(np.log2(max(n_onsets, 1) / beats)), _backbeat(envelopes[2], period, beats),
            _backbeat(envelopes[1], period, beats), octave, octave * octave]


def _backbeat(envelope: np.ndarray, period: float, beats: int) -> float:
    """How much more the band hits on beats 2 and 4 than on 1 and 3, from -1 to 1.

    A loop starts on its downbeat, so the beat grid's phase is known. Snares land on 2 and 4 at the
    true tempo; read at double tempo they fall on 3 and 7, i.e. on "1 and 3": the cue that tells a
    16th-hat groove at 80 BPM from an 8th-hat one at 160.
    """
    peaks: list[float] = []
    for k in range(beats):
        centre = int(round(k * period))
        peaks.append(envelope[max(0, centre - 2):centre + 3].max() if centre - 2 < len(envelope) else 0.0)
    hits = np.asarray(peaks, dtype=float)
    total = hits.sum()
    if beats < 2 or total <= 0:
        return 0.0
    return float((hits[1::2].sum() - hits[0::2].sum()) / total)


def _free_tempo(envelope: np.ndarray, ac: np.ndarray, rate: int, name_bpm: float | None) -> tuple[float | None, float]:
    """Tempo of longer material from librosa's tempogram estimate; the name's tempo when they agree."""
    import librosa

    estimate = float(librosa.feature.tempo(onset_envelope=envelope, sr=rate, hop_length=HOP)[0])
    if name_bpm and any(abs(name_bpm - estimate * f) / name_bpm < 0.04 for f in (0.5, 1, 2)):
        return round(name_bpm, 2), 0.9
    strength = _at(ac, 60.0 / estimate * rate / HOP)
    if strength < MIN_PERIODICITY:
        return _named_or_none(name_bpm)
    return round(estimate, 2), round(float(np.clip(0.3 + strength, 0.05, 0.8)), 2)


def _named_or_none(name_bpm: float | None) -> tuple[float | None, float]:
    """When the audio shows no tempo: the name's, with middling confidence, or none."""
    return (round(name_bpm, 2), 0.6) if name_bpm else (None, 0.0)


def _normalised_ac(envelope: np.ndarray) -> np.ndarray:
    import librosa

    ac = librosa.autocorrelate(envelope - envelope.mean())
    return ac / ac[0] if ac[0] > 0 else ac


def _at(ac: np.ndarray, lag: float) -> float:
    """Autocorrelation at a fractional lag (linear interpolation); 0 beyond the envelope."""
    i = int(lag)
    if i >= len(ac) - 1:
        return 0.0
    return float(ac[i] + (ac[i + 1] - ac[i]) * (lag - i))


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-x)))
