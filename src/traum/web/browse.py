"""Pages of results: a text query ranked by relevance, or the library as a filtered, sorted list; and why
a page is empty.

A query whose words are only facts ("kick" aside, "120 bpm in A minor") has nothing to rank by, so it
becomes a list the catalog sorts. A ranked query may be re-sorted by a fact; its pages then come from
the ranked candidates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Literal

from traum.catalog import Catalog, StemFilter
from traum.catalog.filters import camelot_rank
from traum.search import SearchEngine
from traum.search.engine import Hit
from traum.search.query import Query, parse_query

Sort = Literal["relevance", "name", "duration", "bpm", "key", "loudness", "rating", "added"]
#: The direction a sort starts in when none is asked for: what a producer looks for first.
DESCENDING = {"relevance": True, "name": False, "duration": False, "bpm": False, "key": False,
              "loudness": True, "rating": True, "added": True}
#: The most ranked candidates a text query pages through.
MAX_RANKED = 500
_HIT_FIELD = {"name": "filename", "loudness": "loudness_lufs", "rating": "user_rating"}


@dataclass
class PageOf:
    hits: list[Hit]
    total: int
    sort: str
    descending: bool
    query: Query
    explained: dict[str, Any]
    notice: str | None
    stem_filter: StemFilter


def has_words(text: str) -> bool:
    """Whether a query keeps words to rank by once its facts are read (those need the model's text tower)."""
    return bool(parse_query(text).text.strip())


def search_page(engine: SearchEngine, text: str, *, k: int, offset: int, sort: Sort | None,
                descending: bool | None, collection: str | None, **filters: Any) -> PageOf:
    query = parse_query(text, **filters)
    stem_filter = replace(query.stem_filter(), collection=collection)
    if not query.text.strip():
        sort = sort if sort not in (None, "relevance") else "added"
        down = DESCENDING[sort] if descending is None else descending
        ids = engine.catalog.select_ids(stem_filter, sort=sort, descending=down)
        explained = {"mode": "list", "semantic_text": None, "notes": query.notes, "filters": query.facts()}
        return PageOf(engine.hits(ids[offset:offset + k], offset + 1), len(ids), sort, down, query, explained,
                      engine.notice, stem_filter)
    sort = sort or "relevance"
    down = DESCENDING[sort] if descending is None else descending
    wanted = MAX_RANKED if sort != "relevance" else min(MAX_RANKED, offset + k)
    result = engine.search(text, k=wanted, collection=collection, **filters)
    hits = result.hits
    if sort == "added":  # hits carry no import time: ask the catalog
        added = {s["id"]: s["imported_at"] for s in engine.catalog.stems([h.id for h in hits])}
        hits = sorted(hits, key=lambda h: added.get(h.id) or "", reverse=down)
    elif sort != "relevance" or not down:
        hits = sorted_hits(hits, sort, down)
    return PageOf(hits[offset:offset + k], result.total or 0, sort, down, query, result.explain(), result.notice,
                  stem_filter)


def sorted_hits(hits: list[Hit], sort: str, descending: bool) -> list[Hit]:
    if sort == "relevance":
        return sorted(hits, key=lambda h: h.rank, reverse=not descending)
    name = _HIT_FIELD.get(sort, sort)

    def value(hit: Hit) -> Any:
        found = getattr(hit, name, None) if name not in hit.extra else hit.extra[name]
        if sort == "key":
            return camelot_rank(found)
        return found.lower() if isinstance(found, str) else found

    known = sorted((h for h in hits if value(h) is not None), key=value, reverse=descending)
    return known + [h for h in hits if value(h) is None]


def why_empty(catalog: Catalog, stem_filter: StemFilter, words: str) -> list[dict[str, Any]]:
    """Each condition of an empty result with the number of samples it lets through on its own."""
    reasons = []
    for field in fields(StemFilter):
        value = getattr(stem_filter, field.name)
        if value is None or value == ():
            continue
        alone = StemFilter(**{field.name: value})
        reasons.append({"filter": _LABELS.get(field.name, field.name), "value": _shown(field.name, value),
                        "matching": len(catalog.select_ids(alone))})
    if words.strip():
        together = len(catalog.select_ids(stem_filter)) if not stem_filter.empty else catalog.stem_count()
        if together:  # the conditions let samples through: the words found none of them
            reasons.append({"filter": "words", "value": words.strip(), "matching": 0})
    return reasons


_LABELS = {"bpm_spans": "bpm", "keys": "key", "quality_ok": "quality", "min_lufs": "loudness",
           "max_lufs": "loudness", "min_duration": "duration", "max_duration": "duration", "id_prefix": "id"}


def _shown(name: str, value: Any) -> str:
    if name == "bpm_spans":
        return ", ".join(f"{low:g}–{high:g}" for low, high in value)
    if name == "keys":
        return ", ".join(value)
    if name == "loop":
        return "loops" if value else "one-shots"
    if name == "quality_ok":
        return "ok" if value else "with issues"
    prefix = {"min_lufs": "≥ ", "max_lufs": "≤ ", "min_duration": "≥ ", "max_duration": "≤ "}.get(name, "")
    unit = {"min_lufs": " LUFS", "max_lufs": " LUFS", "min_duration": " s", "max_duration": " s"}.get(name, "")
    return f"{prefix}{value}{unit}"
