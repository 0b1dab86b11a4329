"""Bar-length loops at known tempo and key, built from the corpus's one-shots (benchmarks/analysis.py).

Drum loops put kick/snare/hat one-shots on a 16th grid in one of several common grooves; tonal loops
re-pitch Moog notes (pitch known from their names) into a progression in a random key, as held
chords (a chord per beat, half bar or bar), arpeggios or a bass line; mixed loops are both. Whole
bars (1, 2 or 4) at 70–180 BPM, so duration = bars × 4 × 60 / bpm.

Kits come from several families (:data:`KIT_FAMILIES`): the corpus's one-shots and kits synthesised
here: 808s (a pitched sine kick of 30–60 Hz with a long decay, noise snares, claps, rim shots),
distorted club kicks, and layered kicks (sub sine + click + saturated body). Whole families are held
out from fitting (:data:`HELD_OUT_KITS`): the tempo model and the analysis gates are fitted on the
others, and judged on the held-out ones. ``808bass`` loops are drums plus an 808 bass line (a sine
playing the progression's roots) as their only tonal part: they may carry a key.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import CORPUS

RATE = 44_100
NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
DIRT = CORPUS / "dirt-samples"

#: 16 steps per bar; each groove lists the steps each part plays (ghost notes at lower gain).
GROOVES = {
    "rock": {"kick": [0, 8], "snare": [4, 12], "hat": list(range(0, 16, 2))},
    "rock-push": {"kick": [0, 8, 10], "snare": [4, 12], "hat": list(range(0, 16, 2))},
    "rock-skip": {"kick": [0, 6, 8], "snare": [4, 12], "hat": list(range(0, 16, 2))},
    "hiphop": {"kick": [0, 7, 10], "snare": [4, 12], "hat": list(range(0, 16, 2))},
    "hiphop-16": {"kick": [0, 10], "snare": [4, 12], "hat": list(range(16))},
    "house": {"kick": [0, 4, 8, 12], "snare": [4, 12], "hat": [2, 6, 10, 14]},
    "break": {"kick": [0, 10], "snare": [4, 12], "ghost": [7, 15], "hat": list(range(0, 16, 2))},
}
PROGRESSIONS = {"major": [(0, "major"), (7, "major"), (9, "minor"), (5, "major")],
                "minor": [(0, "minor"), (8, "major"), (3, "major"), (10, "major")]}
TONAL_STYLES = ("chords", "arpeggio", "bass")


@dataclass
class Loop:
    kind: str
    style: str
    bpm: float
    bars: int
    tonic: str
    mode: str
    samples: np.ndarray
    kit: str = "corpus"


def load(path: Path) -> np.ndarray:
    from traum.audio import load as decode

    return decode(path, RATE).samples


def moog_notes() -> list[tuple[np.ndarray, int]]:
    """(samples, pitch class) from file names like '000_Mighty Moog C2.wav'."""
    return [(samples, midi % 12) for samples, midi in moog_midi()]


def moog_midi() -> list[tuple[np.ndarray, int]]:
    """(samples, MIDI note) from the names, C2 = 36 as in the names' convention."""
    out = []
    for path in sorted((DIRT / "moog").glob("*.wav")):
        m = re.search(r"([A-G]#?)(\d)\.wav$", path.name)
        if m:
            out.append((load(path), NOTES.index(m.group(1)) + 12 * (int(m.group(2)) + 1)))
    return out


#: Kit families; a loop's kit is drawn from one family.
KIT_FAMILIES = ("corpus", "club", "808", "808-long", "layered", "hybrid")
#: Families never used to fit the tempo model or tune a gate. ``hybrid`` was added after the drum
#: gates of traum.analysis.category were set, and never looked at while setting them.
HELD_OUT_KITS = ("808-long", "layered", "hybrid")
FIT_KITS = tuple(k for k in KIT_FAMILIES if k not in HELD_OUT_KITS)


def _env(n: int, tau: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (tau * RATE)).astype(np.float32)


def _noise(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n).astype(np.float32)


def _highpass(x: np.ndarray, hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(4, hz, "highpass", fs=RATE, output="sos"), x).astype(np.float32)


def _bandpass(x: np.ndarray, low: float, high: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(2, [low, high], "bandpass", fs=RATE, output="sos"), x).astype(np.float32)


def sine_kick(rng: np.random.Generator, f0: float, decay: float, drop: float = 2.0, drive: float = 0.0,
              click: float = 0.0) -> np.ndarray:
    """A pitched kick: a sine gliding from ``drop``× ``f0`` down to ``f0`` in ~30 ms, decaying over
    ``decay`` s; ``drive`` saturates it (tanh), ``click`` adds a noise transient."""
    n = int(min(2.5, 5 * decay) * RATE)
    t = np.arange(n) / RATE
    freq = f0 * (1 + (drop - 1) * np.exp(-t / 0.03))
    y = np.sin(2 * np.pi * np.cumsum(freq) / RATE) * _env(n, decay)
    if drive:
        y = np.tanh(drive * y) / np.tanh(drive)
    if click:
        m = int(0.01 * RATE)
        y[:m] += click * _highpass(_noise(rng, m), 2000) * _env(m, 0.003)
    return (y / np.abs(y).max()).astype(np.float32)


def noise_snare(rng: np.random.Generator, tone: float, decay: float) -> np.ndarray:
    n = int(4 * decay * RATE)
    body = np.sin(2 * np.pi * tone * np.arange(n) / RATE) * _env(n, decay / 2)
    y = 0.5 * body + _bandpass(_noise(rng, n), 1000, 8000) * _env(n, decay)
    return (y / np.abs(y).max()).astype(np.float32)


def clap(rng: np.random.Generator) -> np.ndarray:
    n = int(0.3 * RATE)
    y = np.zeros(n, np.float32)
    for k, gap in enumerate((0, 0.011, 0.022)):
        start = int(gap * RATE)
        y[start:] += _noise(rng, n - start) * _env(n - start, 0.004 if k < 2 else 0.06)
    y = _bandpass(y, 800, 6000)
    return y / np.abs(y).max()


def rim(rng: np.random.Generator) -> np.ndarray:
    n = int(0.08 * RATE)
    t = np.arange(n) / RATE
    y = (np.sin(2 * np.pi * 1700 * t) + 0.6 * np.sin(2 * np.pi * 820 * t)) * _env(n, 0.012)
    y[:64] += _noise(rng, 64)
    return (y / np.abs(y).max()).astype(np.float32)


def noise_hat(rng: np.random.Generator, decay: float) -> np.ndarray:
    n = int(5 * decay * RATE)
    y = _highpass(_noise(rng, n), 7000) * _env(n, decay)
    return y / np.abs(y).max()


def synth_kit(family: str, seed: int) -> dict[str, list[np.ndarray]]:
    """A kit of the named synthesised family; ``seed`` picks its members."""
    rng = np.random.default_rng(seed)
    u = rng.uniform
    if family == "808":
        kicks = [sine_kick(rng, u(30, 60), u(0.25, 0.6), drop=u(1.5, 2.5)) for _ in range(4)]
    elif family == "808-long":
        kicks = [sine_kick(rng, u(30, 60), u(0.6, 1.5), drop=u(1.2, 3.0), drive=u(0, 2)) for _ in range(4)]
    elif family == "club":
        kicks = [sine_kick(rng, u(45, 65), u(0.15, 0.4), drop=u(2.5, 4), drive=u(3, 10)) for _ in range(4)]
    elif family == "layered":
        kicks = []
        for _ in range(4):
            sub = sine_kick(rng, u(35, 55), u(0.3, 0.8), drop=1.3)
            body = sine_kick(rng, u(70, 110), u(0.06, 0.15), drop=3, drive=u(2, 6), click=1.0)
            kicks.append((sub + 0.7 * np.pad(body, (0, max(0, len(sub) - len(body))))[: len(sub)]) / 1.7)
    elif family == "hybrid":
        return hybrid_kit(rng)
    else:
        raise ValueError(family)
    snares = [noise_snare(rng, u(160, 260), u(0.08, 0.2)) for _ in range(2)] + [clap(rng), rim(rng)]
    return {"kick": kicks, "snare": snares, "hat": [noise_hat(rng, u(0.02, 0.08)) for _ in range(4)]}


def hybrid_kit(rng: np.random.Generator) -> dict[str, list[np.ndarray]]:
    """Any synthesised kick (glide, drive, click and tail all drawn wide) under the corpus's snares,
    claps and hats, as producers layer an 808 into a sampled kit."""
    u = rng.uniform
    kicks = [sine_kick(rng, u(28, 75), u(0.1, 2.0), drop=u(1.0, 4.0), drive=u(0, 8), click=u(0, 1))
             for _ in range(4)]
    corpus = drum_kit()
    snares = [corpus["snare"][i] for i in rng.choice(len(corpus["snare"]), 3, replace=False)]
    snares.append(load(sorted((DIRT / "cp").glob("*.wav"))[0]))
    return {"kick": kicks, "snare": snares, "hat": corpus["hat"]}


def kit(family: str, seed: int) -> dict[str, list[np.ndarray]]:
    return drum_kit() if family == "corpus" else synth_kit(family, seed)


def bass_808(rng: random.Random, bpm: float, bars: int, tonic: int, mode: str) -> np.ndarray:
    """An 808 bass line: long sine notes on the progression's roots (C1–B1), one chord per beat or two."""
    beat = 60 / bpm
    out = np.zeros(int(round(bars * 4 * beat * RATE)), np.float32)
    per = rng.choice((1, 2))
    gen = np.random.default_rng(rng.getrandbits(32))
    for i in range(bars * 4 // per):
        degree, _ = PROGRESSIONS[mode][i % 4]
        midi = 24 + (tonic + degree) % 12
        note = sine_kick(gen, 440 * 2 ** ((midi - 69) / 12), per * beat / 2, drop=1.05)
        start = int(round(i * per * beat * RATE))
        end = min(len(out), start + len(note), start + int(per * beat * RATE))
        out[start:end] += note[: end - start]
    return out


def drum_kit() -> dict[str, list[np.ndarray]]:
    return {"kick": [load(p) for p in sorted((DIRT / "bd").glob("*.wav"))[:8]],
            "snare": [load(p) for p in sorted((DIRT / "sn").glob("*.wav"))[:8]],
            "hat": [load(p) for p in sorted((DIRT / "hh").glob("*.wav"))[:4] + sorted((DIRT / "hc").glob("*.wav"))[:4]]}


def shift(samples: np.ndarray, semitones: float, length: int) -> np.ndarray:
    """Re-pitch by resampling (a sampler's way), cut or zero-padded to ``length``."""
    import soxr

    factor = 2 ** (semitones / 12)
    y = soxr.resample(samples[: int(length * factor) + 1024], RATE, int(RATE / factor))
    y = y[:length]
    fade = min(len(y), 256)
    y[-fade:] *= np.linspace(1, 0, fade)
    return np.pad(y, (0, length - len(y)))


def drum_loop(rng: random.Random, bpm: float, bars: int, kit: dict, groove: str,
              one_kick: bool = False) -> np.ndarray:
    """Each part plays a sound of the kit drawn anew every bar. With a synthesised kit that re-pitches
    the kick every bar (its kicks are 28–75 Hz, drawn independently): with long tails, a line of up
    to four unrelated pitches, which is what an 808 bass line is. ``one_kick``: the first bar's kick
    plays every bar, as a drum machine's kick pad does (same random draws, so the loop is otherwise
    the same)."""
    step = 60 / bpm / 4
    out = np.zeros(int(round(bars * 16 * step * RATE)), np.float32)
    gains = {"kick": 1.0, "snare": 1.0, "ghost": 0.35, "hat": 0.6}
    first_kick = None
    for bar in range(bars):
        for part, steps in GROOVES[groove].items():
            hit = rng.choice(kit["snare" if part == "ghost" else part])
            if part == "kick" and one_kick:
                first_kick = hit if first_kick is None else first_kick
                hit = first_kick
            for s in steps:
                start = int(round((bar * 16 + s) * step * RATE))
                end = min(len(out), start + len(hit))
                out[start:end] += hit[: end - start] * gains[part]
    return out


def _place(out: np.ndarray, source, source_midi: int, pitch: int, start: int, length: int, gain: float) -> None:
    """Play ``source`` re-pitched to MIDI note ``pitch``."""
    if start >= len(out):
        return
    piece = shift(source, pitch - source_midi, length) * gain
    end = min(len(out), start + length)
    out[start:end] += piece[: end - start]


def tonal_loop(rng: random.Random, bpm: float, bars: int, tonic: int, mode: str, notes, style: str) -> np.ndarray:
    beat = 60 / bpm
    out = np.zeros(int(round(bars * 4 * beat * RATE)), np.float32)
    source, source_midi = rng.choice(notes)
    chords = PROGRESSIONS[mode]
    beats_per_chord = {1: 1, 2: 2, 4: 4}[bars] if style == "chords" else rng.choice([b for b in (1, 2, 4) if b <= bars * 4 // 2] or [1])
    n_chords = bars * 4 // beats_per_chord
    # Bass lines from C1 or C2, chords and arpeggios from C2, C3 or C4: low chords are muddy, which
    # a tempo and key estimator must survive too.
    register = rng.choice((24, 36)) if style == "bass" else rng.choice((36, 48, 60))
    for i in range(n_chords):
        degree, quality = chords[i % len(chords)]
        root = register + (tonic + degree) % 12
        tones = [root, root + (3 if quality == "minor" else 4), root + 7, root + 12]
        start = int(round(i * beats_per_chord * beat * RATE))
        length = int(round(beats_per_chord * beat * RATE))
        if style == "chords":
            for j, tone in enumerate(tones):
                _place(out, source, source_midi, tone - (12 if j == 0 else 0), start, length, 0.7 if j == 0 else 0.5)
        else:  # eighth notes: arpeggio up the chord, or a bass line on the root and its octave
            eighth = int(round(beat / 2 * RATE))
            for k in range(beats_per_chord * 2):
                tone = tones[k % 4] if style == "arpeggio" else root + (12 if k % 2 else 0)
                _place(out, source, source_midi, tone, start + k * eighth, eighth, 0.7)
    return out


def make_loops(n: int, seed: int, *, kits: tuple[str, ...] = ("corpus",),
               kinds: tuple[str, ...] = ("drum", "tonal", "mixed"), one_kick: bool = False) -> list[Loop]:
    """``n`` loops cycling through ``kinds``, each drum part from a kit of one of ``kits`` (synthesised
    kits are drawn per loop from the seed, so no two seeds share their sounds). ``one_kick``: the
    same loops with one kick sound per loop (see :func:`drum_loop`)."""
    rng = random.Random(seed)
    notes = moog_midi()
    cache: dict[tuple[str, int], dict] = {}
    loops = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        bpm, bars = rng.uniform(70, 180), rng.choice([1, 2, 4])
        tonic, mode = rng.randrange(12), rng.choice(["major", "minor"])
        groove, style = rng.choice(sorted(GROOVES)), rng.choice(TONAL_STYLES)
        family = kits[(i // len(kinds)) % len(kits)] if len(kits) > 1 else kits[0]
        member = 0 if family == "corpus" else rng.randrange(1 << 30)
        drums = cache.setdefault((family, member), kit(family, seed * 7919 + member))
        if len(cache) > 8:
            cache.clear()
        if kind == "drum":
            y, label = drum_loop(rng, bpm, bars, drums, groove, one_kick), groove
        elif kind == "tonal":
            y, label = tonal_loop(rng, bpm, bars, tonic, mode, notes, style), style
        elif kind == "808bass":
            d, t = drum_loop(rng, bpm, bars, drums, groove, one_kick), bass_808(rng, bpm, bars, tonic, mode)
            y, label = d[: min(len(d), len(t))] + t[: min(len(d), len(t))], f"{groove}+808bass"
        else:
            d = drum_loop(rng, bpm, bars, drums, groove, one_kick)
            t = tonal_loop(rng, bpm, bars, tonic, mode, notes, style)
            y, label = d[: min(len(d), len(t))] + t[: min(len(d), len(t))], f"{groove}+{style}"
        y = (y / max(1e-9, np.abs(y).max()) * 0.9).astype(np.float32)
        loops.append(Loop(kind, label, bpm, bars, NOTES[tonic], mode, y, family))
    return loops
