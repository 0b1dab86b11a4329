"""Reading a query: "punchy kick 125 bpm in A minor" → text "punchy kick", tempo ≈125, key A minor,
category kick. Flags (``--bpm 120-128 --key Am``) say the same and win over the text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from traum.catalog.facts import FactCondition
from traum.catalog.filters import StemFilter
from traum.errors import QueryError
from traum.vocabulary import (
    categories_in,
    normalise_tonic,
    note_name,
    pitch_class,
    words,
)

__all__ = ["Query", "QueryError", "parse_quality", "parse_query", "related_keys"]

#: Default tempo tolerance: ±4 %, the width within which a producer calls two tempos "the same".
BPM_TOLERANCE = 0.04


@dataclass
class Query:
    raw: str
    #: What is left for the semantic (CLAP) and lexical sides after facts are taken out.
    text: str
    bpm: tuple[float, float] | None = None
    half_double: bool = False
    keys: list[str] = field(default_factory=list)
    #: A category asked for by flag: a hard filter.
    category: str | None = None
    #: Categories named in the text: a strong ranking signal, not a filter.
    text_categories: list[str] = field(default_factory=list)
    min_duration: float | None = None
    max_duration: float | None = None
    loop: bool | None = None
    #: True: files without quality issues; False: files with some.
    quality_ok: bool | None = None
    min_lufs: float | None = None
    max_lufs: float | None = None
    notes: list[str] = field(default_factory=list)
    #: Conditions on plugin facts (``--fact brightness>=0.3``).
    fact_conditions: tuple[FactCondition, ...] = ()

    def stem_filter(self) -> StemFilter:
        """The query's hard conditions, for :meth:`Catalog.select_ids`."""
        spans: tuple[tuple[float, float], ...] = ()
        if self.bpm:
            low, high = self.bpm
            spans = ((low, high),) + (((low / 2, high / 2), (low * 2, high * 2)) if self.half_double else ())
        return StemFilter(bpm_spans=spans, keys=tuple(self.keys), category=self.category,
                          min_duration=self.min_duration, max_duration=self.max_duration, loop=self.loop,
                          quality_ok=self.quality_ok, min_lufs=self.min_lufs, max_lufs=self.max_lufs,
                          facts=self.fact_conditions)

    def facts(self) -> dict[str, object]:
        """The hard conditions as shown by ``--explain``."""
        return {"bpm": self.bpm, "keys": self.keys, "category": self.category, "min_duration": self.min_duration,
                "max_duration": self.max_duration, "loop": self.loop, "quality_ok": self.quality_ok,
                "min_lufs": self.min_lufs, "max_lufs": self.max_lufs,
                "facts": [str(c) for c in self.fact_conditions]}


_BPM_RANGE = re.compile(r"(?<![\w.])(\d{2,3})\s*(?:-|–|to)\s*(\d{2,3})\s*bpm\b", re.IGNORECASE)
_BPM = re.compile(r"(?<![\w.])(\d{2,3}(?:\.\d+)?)\s*bpm\b|\bbpm\s*(\d{2,3}(?:\.\d+)?)(?![\w.])", re.IGNORECASE)
_KEY = re.compile(r"(?:\bin\s+)?(?<![\w#])([A-Ga-g])\s?(#|b|sharp|flat)?\s?(major|minor|maj|min|m)(?![\w#])"
                  r"|\bin\s+([A-G])(#|b)?(?![\w#])", re.IGNORECASE)
_SHORTER = re.compile(
    r"\b(?:under|shorter than|less than|<|max)\s*(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", re.IGNORECASE)
_LONGER = re.compile(
    r"\b(?:over|longer than|more than|>|min)\s*(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)\b", re.IGNORECASE)
_ONE_SHOT = re.compile(r"\b(?:one[\s-]?shots?|oneshots?|single hits?)\b", re.IGNORECASE)
_LOOP = re.compile(r"\bloops?\b", re.IGNORECASE)


def parse_query(raw: str, *, bpm: str | None = None, key: str | None = None, category: str | None = None,
                min_duration: float | None = None, max_duration: float | None = None, loop: bool | None = None,
                half_double: bool = False, compatible_keys: bool = False, quality_ok: bool | None = None,
                min_lufs: float | None = None, max_lufs: float | None = None,
                facts: list[str] | tuple[str, ...] | None = None) -> Query:
    text = raw
    query = Query(raw=raw, text=raw, half_double=half_double)
    text = _take_bpm(text, query)
    text = _take_key(text, query, compatible_keys)
    text = _take_duration(text, query)
    if _ONE_SHOT.search(text):
        query.loop = False
        text = _ONE_SHOT.sub(" ", text)
        query.notes.append("one-shots only")
    elif _LOOP.search(text) and not re.search(r"\bdrum\s+loops?\b", text, re.IGNORECASE):
        query.loop = True
        query.notes.append("loops only")
    query.text = " ".join(text.split())
    query.text_categories = categories_in(words(query.text))
    if query.text_categories:
        query.notes.append(f"category words: {', '.join(query.text_categories)} (ranked first, not a filter)")
    _apply_flags(query, bpm, key, category, min_duration, max_duration, loop, compatible_keys)
    query.quality_ok, query.min_lufs, query.max_lufs = quality_ok, min_lufs, max_lufs
    query.fact_conditions = tuple(FactCondition.parse(f) for f in facts or ())
    return query


def parse_quality(value: str | None) -> bool | None:
    """``--quality ok|issues`` → the ``quality_ok`` filter."""
    if value is None or value == "":
        return None
    choice = {"ok": True, "issues": False}.get(value.strip().lower())
    if choice is None:
        raise QueryError(f"unknown quality {value!r}; choose ok (no issues) or issues")
    return choice


def _take_bpm(text: str, query: Query) -> str:
    if m := _BPM_RANGE.search(text):
        query.bpm = (float(m.group(1)), float(m.group(2)))
        query.notes.append(f"tempo {m.group(1)}–{m.group(2)} BPM")
        return text[:m.start()] + " " + text[m.end():]
    if m := _BPM.search(text):
        value = float(m.group(1) or m.group(2))
        query.bpm = bpm_window(value)
        query.notes.append(f"tempo ≈{value:g} BPM (±{BPM_TOLERANCE:.0%})")
        return text[:m.start()] + " " + text[m.end():]
    return text


def bpm_window(value: float) -> tuple[float, float]:
    return value * (1 - BPM_TOLERANCE), value * (1 + BPM_TOLERANCE)


def _take_key(text: str, query: Query, compatible: bool) -> str:
    m = _KEY.search(text)
    if not m:
        return text
    if m.group(1):
        letter, accidental, mode = m.group(1), m.group(2), m.group(3)
        if letter.islower() and not mode.lower().startswith(("maj", "min")) and mode != "m":
            return text
        # "a minor" with a lower-case a is still a key; a bare lower-case "am" is not ("I am").
        if letter.islower() and mode.lower() == "m":
            return text
    else:
        letter, accidental, mode = m.group(4), m.group(5), "major"
    sign = {"sharp": "#", "flat": "b"}.get((accidental or "").lower(), accidental or "")
    tonic = normalise_tonic(letter.upper() + sign)
    mode = "major" if mode.lower().startswith("maj") else "minor" if mode != "M" else "major"
    query.keys = related_keys(tonic, mode) if compatible else [f"{tonic} {mode}"]
    query.notes.append(f"key {tonic} {mode}" + (" or compatible (relative, Camelot neighbours)" if compatible else ""))
    return text[:m.start()] + " " + text[m.end():]


def related_keys(tonic: str, mode: str) -> list[str]:
    """The key, its relative, and its Camelot neighbours (a fifth up and down, same mode)."""
    pc = pitch_class(tonic)
    relative = (pc + 3) % 12 if mode == "minor" else (pc - 3) % 12
    other = "major" if mode == "minor" else "minor"
    keys = [f"{note_name(pc)} {mode}", f"{note_name(relative)} {other}",
            f"{note_name(pc + 7)} {mode}", f"{note_name(pc - 7)} {mode}"]
    return list(dict.fromkeys(keys))


def _take_duration(text: str, query: Query) -> str:
    if m := _SHORTER.search(text):
        query.max_duration = float(m.group(1))
        query.notes.append(f"at most {m.group(1)} s")
        text = text[:m.start()] + " " + text[m.end():]
    if m := _LONGER.search(text):
        query.min_duration = float(m.group(1))
        query.notes.append(f"at least {m.group(1)} s")
        text = text[:m.start()] + " " + text[m.end():]
    return text


def _apply_flags(query: Query, bpm: str | None, key: str | None, category: str | None, min_duration: float | None,
                 max_duration: float | None, loop: bool | None, compatible: bool) -> None:
    from traum.vocabulary import CATEGORIES

    if bpm:
        query.bpm = parse_bpm(bpm)
    if key:
        parsed = parse_query(key + " key")
        if not parsed.keys:
            raise QueryError(f"cannot read key {key!r}; write it like Am, F#m, C major or Eb minor")
        tonic, mode = parsed.keys[0].split()
        query.keys = related_keys(tonic, mode) if compatible else parsed.keys
    if category:
        if category not in CATEGORIES:
            found = categories_in(words(category))
            if not found:
                raise QueryError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")
            category = found[0]
        query.category = category
    if min_duration is not None:
        query.min_duration = min_duration
    if max_duration is not None:
        query.max_duration = max_duration
    if loop is not None:
        query.loop = loop


def parse_bpm(value: str) -> tuple[float, float]:
    try:
        if "-" in value:
            low, high = (float(v) for v in value.split("-", 1))
            return (min(low, high), max(low, high))
        return bpm_window(float(value))
    except ValueError:
        raise QueryError(f"cannot read tempo {value!r}; write it like 125 or 120-128") from None
