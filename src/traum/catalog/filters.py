"""Typed filters over catalogued samples: what search, the web API and the CLI may ask for.

The catalog turns a :class:`StemFilter` into SQL (bound parameters only); no other layer writes SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from traum.catalog.facts import FactCondition
from traum.vocabulary import note_name, pitch_class


@dataclass(frozen=True, slots=True)
class StemFilter:
    """Conditions that all hold (AND); a field left at its default does not filter."""

    #: Tempo spans in BPM, any of which may match (several when half/double time is allowed).
    bpm_spans: tuple[tuple[float, float], ...] = ()
    #: Keys as stored ("A minor"); any may match.
    keys: tuple[str, ...] = ()
    category: str | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    #: True: loops only (a tempo was found); False: one-shots only.
    loop: bool | None = None
    #: True: files without quality issues; False: files with at least one.
    quality_ok: bool | None = None
    #: Integrated loudness range in LUFS.
    min_lufs: float | None = None
    max_lufs: float | None = None
    #: Stem ids starting with this hex prefix (``traum similar 3bd7c0e5``).
    id_prefix: str | None = None
    #: Members of the producer's collection of this name (case-insensitive).
    collection: str | None = None
    #: Conditions on plugin facts (``brightness>=0.3``), all of which must hold.
    facts: tuple[FactCondition, ...] = ()

    @property
    def empty(self) -> bool:
        return self == StemFilter()


def camelot_rank(key: str | None) -> int | None:
    """A key's place on the Camelot wheel as DJ and producer tools sort it: 1A (G# minor), 1B (B major),
    2A, 2B … 12B (E major). Each relative minor sits beside its major, and each step is a fifth up, so
    neighbours mix; None for a key that is not "<tonic> major|minor"."""
    tonic, _, mode = (key or "").partition(" ")
    if mode not in ("major", "minor"):
        return None
    try:
        pc = pitch_class(tonic)
    except ValueError:
        return None
    # C major is 8B and A minor 8A; a fifth up (7 semitones) is the next number.
    number = (7 + 7 * (pc if mode == "major" else pc - 9)) % 12
    return number * 2 + (mode == "major")


def _camelot_sql() -> str:
    flats = {"C#": "Db", "D#": "Eb", "F#": "Gb", "G#": "Ab", "A#": "Bb"}
    cases = []
    for pc in range(12):
        for mode in ("minor", "major"):
            for tonic in dict.fromkeys([note_name(pc), flats.get(note_name(pc), note_name(pc))]):
                cases.append(f"WHEN '{tonic} {mode}' THEN {camelot_rank(f'{tonic} {mode}')}")
    return f"(CASE s.key {' '.join(cases)} END)"


#: ORDER BY expression for "sort by key": :func:`camelot_rank` in SQL (unknown keys are NULL: last).
KEY_ORDER_SQL = _camelot_sql()
