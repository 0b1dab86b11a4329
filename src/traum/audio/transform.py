"""Hear a sample at the project's tempo and key: time-stretch and pitch-shift for loops, varispeed for
one-shots.

Time-stretching is Signalsmith Stretch (MIT, via ``python-stretch``): Rubber Band and pedalboard are
GPL and SoundTouch LGPL, which an Apache-2.0 tool cannot ship. The same library runs in the page as
WASM, so what the server renders sounds like what the browser previews. Arrays are soundfile's
``(frames, channels)`` float32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from traum.vocabulary import pitch_class

#: A fixed seed: Signalsmith Stretch randomises phases, and the same request must give the same bytes.
_SEED = 7
#: Beyond these, a stretched loop sounds broken rather than "at another tempo": refuse, don't render.
MIN_TIME_FACTOR, MAX_TIME_FACTOR = 0.5, 2.0

Method = Literal["none", "stretch", "varispeed"]


@dataclass(frozen=True)
class PreviewPlan:
    """What to do to a sample so it sits in the project: ``time_factor`` > 1 plays it faster."""

    method: Method
    time_factor: float = 1.0
    semitones: int = 0

    @property
    def changes_anything(self) -> bool:
        return self.method != "none" and (abs(self.time_factor - 1.0) > 1e-6 or self.semitones != 0)


def parse_key(key: str) -> tuple[int, str]:
    """("A minor" | "Am" | "F#" | "Bb major") → (pitch class of the tonic, mode); a bare tonic is major."""
    match = re.fullmatch(r"\s*([A-Ga-g])([#b]?)\s*(major|minor|maj|min|m)?\s*", key)
    if not match:
        raise ValueError(f"not a key: {key!r} (try 'A minor', 'F#', 'Bbm')")
    tonic = match.group(1).upper() + match.group(2)
    mode = "minor" if (match.group(3) or "").startswith("m") and not (match.group(3) or "").startswith("ma") \
        else "major"
    return pitch_class(tonic), mode


def nearest_shift(interval: int) -> int:
    """An interval in semitones folded to the nearest transposition, −5…+6."""
    return (interval + 5) % 12 - 5


def key_shift(source_key: str, target_key: str) -> int:
    """Semitones that move material in ``source_key`` into ``target_key``. When the modes differ the
    relative keys are compared (A minor already fits C major), which is what a producer means by
    "in key"."""
    source_pc, source_mode = parse_key(source_key)
    target_pc, target_mode = parse_key(target_key)
    if source_mode != target_mode:
        source_pc += 3 if source_mode == "minor" else -3  # to the relative key of the target's mode
    return nearest_shift(target_pc - source_pc)


def note_shift(note: str, target_key: str) -> int:
    """Semitones from a one-shot's root note ("C2", "F#3") to the target key's tonic."""
    match = re.fullmatch(r"([A-G]#?)(-?\d+)", note)
    if not match:
        raise ValueError(f"not a note: {note!r}")
    return nearest_shift(parse_key(target_key)[0] - pitch_class(match.group(1)))


def plan_preview(*, bpm: float | None, key: str | None, note: str | None, target_bpm: float | None = None,
                 target_key: str | None = None, tempo_multiplier: float = 1.0) -> PreviewPlan:
    """How to match a sample with these facts to a project tempo and key.

    Loops (a BPM) are stretched: tempo and pitch change independently. One-shots (no BPM) with a root
    note or key are varispeeded, as a sampler would play them. ``tempo_multiplier`` (0.5 or 2) is the
    producer's fix for a loop detected at half or double its tempo."""
    semitones = 0
    if target_key:
        if note:
            semitones = note_shift(note, target_key)
        elif key:
            semitones = key_shift(key, target_key)
    if bpm and target_bpm:
        factor = target_bpm / (bpm * tempo_multiplier)
        if not MIN_TIME_FACTOR <= factor <= MAX_TIME_FACTOR:
            raise ValueError(f"{bpm * tempo_multiplier:g} BPM to {target_bpm:g} BPM is a stretch by {factor:.2f}; "
                             f"Traum stretches between {MIN_TIME_FACTOR}x and {MAX_TIME_FACTOR}x "
                             "(fix the loop's half/double tempo, or pick another project tempo)")
        return PreviewPlan("stretch", factor, semitones)
    if semitones:
        return PreviewPlan("varispeed" if not bpm else "stretch", 1.0, semitones)
    return PreviewPlan("none")


def render(samples: np.ndarray, rate: int, plan: PreviewPlan) -> np.ndarray:
    """``samples`` (frames, channels) as the plan says; the same input and plan give the same output."""
    if not plan.changes_anything:
        return samples
    if plan.method == "varispeed":
        return varispeed(samples, rate, plan.semitones)
    return stretch(samples, rate, time_factor=plan.time_factor, semitones=plan.semitones)


def stretch(samples: np.ndarray, rate: int, *, time_factor: float = 1.0, semitones: float = 0.0) -> np.ndarray:
    """Change tempo by ``time_factor`` (output length = input / factor) and pitch by ``semitones``,
    independently. The library compensates its own latency: a transient stays where it was in time."""
    from python_stretch.Signalsmith import Stretch

    channels_first = np.ascontiguousarray(_two_d(samples).T, dtype=np.float32)
    stretcher = Stretch(_SEED)
    stretcher.preset(channels_first.shape[0], float(rate))
    stretcher.setTimeFactor(float(time_factor))
    stretcher.setTransposeSemitones(float(semitones))
    return np.asarray(stretcher.process(channels_first), dtype=np.float32).T


def varispeed(samples: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    """Play faster or slower, pitch and length together, as a sampler or a tape does: a one-shot keeps
    its attack's character, which a phase vocoder would smear."""
    import soxr

    speed = 2.0 ** (semitones / 12.0)
    # Resampling to rate/speed and playing back at rate raises the pitch by ``speed``.
    return np.asarray(soxr.resample(_two_d(samples), rate * speed, rate, quality="HQ"), dtype=np.float32)


def _two_d(samples: np.ndarray) -> np.ndarray:
    return samples[:, None] if samples.ndim == 1 else samples
