"""Drum loops whose kick rings at a pitch (an 808, a saturated club kick) are drums without a key;
the same drums under chords or a bass line still carry the music's key.

Loops are sequenced here from the corpus's snare, clap and hat one-shots and Moog notes, with
synthesised 808 kicks (a pitched sine with a long tail, which HPSS calls as harmonic as a bass
note), and read back from WAV with meaningless names, so only the acoustics decide.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import DIRT
from traum.analysis import analyse_path
from traum.analysis.category import DRUMS

RATE = 44_100
BPM = 120.0
SIXTEENTH = 60 / BPM / 4


def _decay(n: int, seconds: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (seconds * RATE))


def kick_808(hz: float = 45.0, seconds: float = 0.9, drive: float = 0.0) -> np.ndarray:
    """A sine gliding from twice ``hz`` down to it in ~30 ms, ringing for ``seconds``; ``drive``
    saturates it (tanh) as club kicks are, adding overtones above the fundamental."""
    t = np.arange(int(2.5 * seconds * RATE)) / RATE
    freq = hz * (1 + np.exp(-t / 0.03))
    y = np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _decay(len(t), seconds)
    return np.tanh(drive * y) / np.tanh(drive) if drive else y


def layered_kick(seed: int = 0) -> np.ndarray:
    """A sub sine (45 Hz, long tail) under a short body driven into saturation (90 Hz, gliding down
    from three times that) with a noise click, as producers layer kicks."""
    sub = kick_808(45.0, 0.5)
    t = np.arange(int(0.25 * RATE)) / RATE
    freq = 90.0 * (1 + 2 * np.exp(-t / 0.03))
    body = np.tanh(4 * np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _decay(len(t), 0.1)) / np.tanh(4)
    body[:441] += np.random.default_rng(seed).standard_normal(441) * _decay(441, 0.003)
    y = sub + 0.7 * np.pad(body, (0, len(sub) - len(body)))
    return y / np.abs(y).max()


def hat(rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    noise = rng.standard_normal(int(0.2 * RATE))
    return sosfilt(butter(4, 7000, "highpass", fs=RATE, output="sos"), noise) * _decay(len(noise), 0.03)


def ringing_hat(rng: np.random.Generator, seconds: float = 0.08) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    noise = rng.standard_normal(int(5 * seconds * RATE))
    y = sosfilt(butter(4, 7000, "highpass", fs=RATE, output="sos"), noise) * _decay(len(noise), seconds)
    return y / np.abs(y).max()


def noise_snare(rng: np.random.Generator, tone: float = 200.0, seconds: float = 0.15) -> np.ndarray:
    """Band-passed noise over a short sine body, as drum machines build snares."""
    from scipy.signal import butter, sosfilt

    n = int(4 * seconds * RATE)
    body = np.sin(2 * np.pi * tone * np.arange(n) / RATE) * _decay(n, seconds / 2)
    noise = sosfilt(butter(2, [1000, 8000], "bandpass", fs=RATE, output="sos"), rng.standard_normal(n))
    y = 0.5 * body + noise * _decay(n, seconds)
    return y / np.abs(y).max()


def clap(rng: np.random.Generator) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    noise = rng.standard_normal(int(0.3 * RATE))
    return sosfilt(butter(2, [800, 6000], "bandpass", fs=RATE, output="sos"), noise) * _decay(len(noise), 0.06)


def corpus_hit(relative: str) -> np.ndarray:
    from traum.audio import load

    return load(DIRT / relative, RATE).samples.astype(np.float64)


def sequence(parts: dict[str, tuple[list[int], np.ndarray, float]], bars: int) -> np.ndarray:
    """Each part's sound on its 16th steps, every bar."""
    out = np.zeros(int(round(bars * 16 * SIXTEENTH * RATE)))
    for bar in range(bars):
        for steps, sound, gain in parts.values():
            for step in steps:
                start = int(round((bar * 16 + step) * SIXTEENTH * RATE))
                piece = sound[: len(out) - start]
                out[start:start + len(piece)] += gain * piece
    return out


def drum_loop(bars: int = 2, seed: int = 0) -> np.ndarray:
    """808 kick on 1 and the "and" of 2, clap on 2 and 4, hats on eighths (all synthesised)."""
    rng = np.random.default_rng(seed)
    return sequence({"kick": ([0, 6, 8], kick_808(), 1.0), "clap": ([4, 12], clap(rng), 0.7),
                     "hat": (list(range(0, 16, 2)), hat(rng), 0.4)}, bars)


def corpus_drums(kick: np.ndarray, bars: int = 2) -> np.ndarray:
    """A synthesised pitched kick under the corpus's snare, clap and closed hat."""
    return sequence({"kick": ([0, 7, 10], kick, 1.0), "snare": ([4, 12], corpus_hit("sn/ST0T0S0.wav"), 0.8),
                     "clap": ([12], corpus_hit("cp/HANDCLP0.wav"), 0.5),
                     "hat": (list(range(0, 16, 2)), corpus_hit("hh/000_hh3closedhh.wav"), 0.4)}, bars)


def moog(semitones_from_c3: int, seconds: float) -> np.ndarray:
    """The corpus's Moog C3 re-pitched as a sampler does (resampled), cut to ``seconds``."""
    import soxr

    factor = 2 ** (semitones_from_c3 / 12)
    source = corpus_hit("moog/001_Mighty Moog C3.wav")
    y = soxr.resample(source, RATE, int(RATE / factor))[: int(seconds * RATE)]
    y = np.pad(y, (0, int(seconds * RATE) - len(y)))
    y[-256:] *= np.linspace(1, 0, 256)
    return y


#: C major's I–V–vi–IV, as semitones above C3 of each chord's tones.
PROGRESSION = [(0, 4, 7), (-5, -1, 2), (-3, 0, 4), (-7, -3, 0)]


def chords(bars: int = 2) -> np.ndarray:
    """One chord per half bar, the progression once per two bars."""
    half_bar = 8 * SIXTEENTH
    out = np.zeros(int(round(bars * 16 * SIXTEENTH * RATE)))
    for i in range(bars * 2):
        start = int(round(i * half_bar * RATE))
        for tone in PROGRESSION[i % 4]:
            note = moog(tone, half_bar)[: len(out) - start]
            out[start:start + len(note)] += note
    return out


def bass_line(bars: int = 2) -> np.ndarray:
    """Eighth notes on the chords' roots, an octave under C3."""
    eighth = 2 * SIXTEENTH
    out = np.zeros(int(round(bars * 16 * SIXTEENTH * RATE)))
    for i in range(bars * 8):
        root = PROGRESSION[(i // 4) % 4][0] - 12
        start = int(round(i * eighth * RATE))
        note = moog(root + (12 if i % 2 else 0), eighth)[: len(out) - start]
        out[start:start + len(note)] += note
    return out


def mix(*parts: np.ndarray, gains: tuple[float, ...]) -> np.ndarray:
    n = min(len(p) for p in parts)
    return sum(g * p[:n] / np.abs(p).max() for p, g in zip(parts, gains, strict=True))


@pytest.fixture
def plain_dir(tmp_path_factory):
    """A folder whose path says nothing: ``tmp_path`` is named after the test ("..._drum_loop_...",
    "..._kick_..."), and the folder names are category evidence that would decide for the audio."""
    return tmp_path_factory.mktemp("a")


def write(path, y: np.ndarray) -> str:
    sf.write(path, (0.9 * y / np.abs(y).max()).astype(np.float32), RATE, subtype="PCM_16")
    return str(path)


def test_an_808_drum_loop_is_drums_without_a_key(plain_dir):
    facts = analyse_path(write(plain_dir / "0001.wav", drum_loop()))
    assert facts["bpm"] == pytest.approx(120, rel=0.04)
    assert facts["category"] in DRUMS and facts["key"] is None


@pytest.mark.parametrize("kick", [kick_808(45.0, 1.2), kick_808(38.0, 0.8, drive=2.0), kick_808(55.0, 0.3, drive=6.0)],
                         ids=["long-808", "driven-808", "club"])
def test_corpus_drums_with_a_ringing_kick_are_drums_without_a_key(plain_dir, kick):
    facts = analyse_path(write(plain_dir / "7f3a.wav", corpus_drums(kick)))
    assert facts["bpm"] == pytest.approx(BPM, rel=0.04)
    assert facts["category"] in DRUMS and facts["key"] is None


@pytest.mark.parametrize("kick", [kick_808(50.0, 2.0, drive=8.0), kick_808(40.0, 2.0, drive=4.0),
                                  kick_808(60.0, 1.5, drive=50.0)],
                         ids=["long-hard-driven", "long-driven-sub", "driven-to-a-square"])
def test_a_long_driven_kick_is_drums_though_its_overtones_hold_like_a_bass_note(plain_dir, kick):
    # Its overtones above C3 ring through every bar (``upper_sustain`` reads them as held music), but
    # at one pitch, re-triggered at every hit: one spectrum all along, where music moves. Driven
    # to a square wave, a 60 Hz kick puts ~16 % of its harmonic energy in overtones above C3
    # (a square wave's overtones: under a fifth of its power), yet most of it stays below C3.
    facts = analyse_path(write(plain_dir / "7f3c.wav", corpus_drums(kick)))
    assert facts["harmonic_features"]["upper_sustain"] >= 0.2  # what called it music before
    assert facts["category"] in DRUMS and facts["key"] is None


def test_a_layered_kick_under_sixteenth_hats_is_drums_without_a_key(plain_dir):
    # Hats on every 16th with a ringing tail hold from hit to hit, so HPSS calls part of their noise
    # harmonic; counted above 2 kHz it made the kick's overtones look like a share of music
    # (``upper_share`` 0.07 instead of 0.02) and the loop read as a synth in F# minor.
    rng = np.random.default_rng(3)
    y = sequence({"kick": ([0, 7, 10], layered_kick(), 1.0), "snare": ([4, 12], noise_snare(rng), 1.0),
                  "hat": (list(range(16)), ringing_hat(rng), 0.8)}, bars=2)
    facts = analyse_path(write(plain_dir / "7f3e.wav", y))
    assert facts["bpm"] == pytest.approx(BPM, rel=0.04)
    assert facts["category"] in DRUMS and facts["key"] is None


@pytest.mark.parametrize("music", [chords, bass_line], ids=["chords", "bass-line"])
def test_the_same_drums_under_music_keep_its_key(plain_dir, music):
    # The music sits well under the kick, as in a mix (a third of its peak level), and the kick's
    # F#1 tail outweighs it: that pitch must not be read as the key.
    y = mix(corpus_drums(kick_808(45.0, 1.2)), music(), gains=(1.0, 0.3))
    facts = analyse_path(write(plain_dir / "7f3b.wav", y))
    assert facts["category"] not in DRUMS
    assert (facts["key"], facts["mode"]) == ("C", "major")


def test_a_bass_line_under_a_long_driven_kick_keeps_its_key(plain_dir):
    # The kick of the test above whose overtones are one spectrum all along; the bass line's move
    # between notes, so the loop is music.
    y = mix(corpus_drums(kick_808(40.0, 2.0, drive=4.0)), bass_line(), gains=(1.0, 0.3))
    facts = analyse_path(write(plain_dir / "7f3d.wav", y))
    assert facts["category"] not in DRUMS
    assert (facts["key"], facts["mode"]) == ("C", "major")
