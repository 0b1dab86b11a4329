"""Typed filters over catalogued samples: what search, the web API and the CLI may ask for.

The catalog turns a :class:`StemFilter` into SQL (bound parameters only); no other layer writes SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from traum.catalog.facts import FactCondition


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
