"""Bar-length loops at known tempo and key, built from the corpus's one-shots (benchmarks/analysis.py).

Drum loops put kick/snare/hat one-shots on a 16th grid in one of several common grooves; tonal loops
re-pitch Moog notes (pitch known from their names) into a progression in a random key, as held
chords (a chord per beat, half bar or bar), arpeggios or a bass line; mixed loops are both. Whole
bars (1, 2 or 4) at 70–180 BPM, so duration = bars × 4 × 60 / bpm.
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


def drum_loop(rng: random.Random, bpm: float, bars: int, kit: dict, groove: str) -> np.ndarray:
    step = 60 / bpm / 4
    out = np.zeros(int(round(bars * 16 * step * RATE)), np.float32)
    gains = {"kick": 1.0, "snare": 1.0, "ghost": 0.35, "hat": 0.6}
    for bar in range(bars):
        for part, steps in GROOVES[groove].items():
            hit = rng.choice(kit["snare" if part == "ghost" else part])
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


def make_loops(n: int, seed: int) -> list[Loop]:
    rng = random.Random(seed)
    kit, notes = drum_kit(), moog_midi()
    loops = []
    for i in range(n):
        kind = ("drum", "tonal", "mixed")[i % 3]
        bpm, bars = rng.uniform(70, 180), rng.choice([1, 2, 4])
        tonic, mode = rng.randrange(12), rng.choice(["major", "minor"])
        groove, style = rng.choice(sorted(GROOVES)), rng.choice(TONAL_STYLES)
        if kind == "drum":
            y, label = drum_loop(rng, bpm, bars, kit, groove), groove
        elif kind == "tonal":
            y, label = tonal_loop(rng, bpm, bars, tonic, mode, notes, style), style
        else:
            d, t = drum_loop(rng, bpm, bars, kit, groove), tonal_loop(rng, bpm, bars, tonic, mode, notes, style)
            y, label = d[: min(len(d), len(t))] + t[: min(len(d), len(t))], f"{groove}+{style}"
        y = (y / max(1e-9, np.abs(y).max()) * 0.9).astype(np.float32)
        loops.append(Loop(kind, label, bpm, bars, NOTES[tonic], mode, y))
    return loops
