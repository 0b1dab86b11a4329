"""Ranking: CLAP cosine blended with lexical relevance and the category asked for, under filters.

Weights (documented in docs/search.md, chosen with benchmarks/relevance.py):
- with a model: 0.50 semantic + 0.20 lexical + 0.30 category;
- without one: 0.50 lexical + 0.50 category.
Each signal is scaled to [0, 1] over the candidates of the query, so weights compare like with like.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from traum.vocabulary import categories_in, category_token, words
from traum.catalog import Catalog
from traum.catalog.filters import StemFilter
from traum.embedding.base import EmbeddingModel
from traum.search.query import Query, parse_query
from traum.search.vector_index import VectorIndex

log = logging.getLogger(__name__)

WEIGHTS_MODEL = {"semantic": 0.50, "lexical": 0.20, "category": 0.30}
WEIGHTS_NAMES = {"semantic": 0.0, "lexical": 0.50, "category": 0.50}
#: Without a model, results scoring under this share of the best are left out.
NAMES_CUTOFF = 0.25
#: Cosine at or above which two different files count as near-duplicates (docs/search.md).
NEAR_DUPLICATE = 0.98


@dataclass
class Hit:
    rank: int
    id: str
    path: str
    score: float
    duration: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


@dataclass
class SearchResult:
    hits: list[Hit]
    #: "hybrid" (model + names) or "names" (no model).
    mode: str
    notice: str | None = None
    query: Query | None = None

    def explain(self) -> dict[str, Any]:
        q = self.query
        return {"mode": self.mode, "semantic_text": q.text if q else None, "notes": q.notes if q else [],
                "filters": {"bpm": q.bpm, "keys": q.keys, "category": q.category, "min_duration": q.min_duration,
                            "max_duration": q.max_duration, "loop": q.loop} if q else {},
                "weights": WEIGHTS_MODEL if self.mode == "hybrid" else WEIGHTS_NAMES}


class SearchEngine:
    """Searches one catalog; keeps its vector index in memory and on disk next to the catalog."""

    def __init__(self, catalog: Catalog, model: EmbeddingModel | None = None, *, notice: str | None = None,
                 index_dir: Path | None = None) -> None:
        self.catalog = catalog
        self.model = model
        self.notice = notice
        self.index_dir = index_dir or Path(str(catalog.path) + ".vectors")
        self._index: VectorIndex | None = None
        self._entries: dict[str, list[Any]] = {}
        self._generation = -1
        self._lock = threading.Lock()
        self._texts = None
        if model is not None:
            from traum.search.text_cache import TextEmbeddingCache
            from traum.settings import cache_dir

            self._texts = TextEmbeddingCache(model, cache_dir() / "text-queries.db")

    # -- the vector index, in step with the catalog -----------------------------------------------------

    def vector_index(self) -> VectorIndex:
        with self._lock:
            generation = self.catalog.generation
            if self._index is None:
                self._index = self._load_saved()
            if generation != self._generation:
                self._sync()
                self._generation = generation
                self._save()
            return self._index

    def _load_saved(self) -> VectorIndex:
        try:
            index = VectorIndex.load(self.index_dir)
        except (OSError, ValueError, KeyError, RuntimeError):
            return VectorIndex(512)
        for entry in index._rows:
            self._entries.setdefault(_stem_of(entry), []).append(entry)
        return index

    def _sync(self) -> None:
        """Add what the catalog has and the index lacks, drop what the catalog no longer has."""
        wanted = self.catalog.embedded_ids()
        have = set(self._entries)
        gone = have - wanted
        for stem_id in gone:
            self._index.remove(self._entries.pop(stem_id))
        new = list(wanted - have)
        for start in range(0, len(new), 5000):
            ids, vectors = [], []
            for stem_id, (pooled, windows) in self.catalog.vectors(new[start:start + 5000]).items():
                entries = [(stem_id, round(o, 3)) for o, _ in windows] or [stem_id]
                self._entries[stem_id] = entries
                ids += entries
                vectors += [v for _, v in windows] or [pooled]
            if ids:
                self._index.add(ids, np.stack(vectors))
        if gone or new:
            log.info("vector index synced: +%d −%d stems, %d entries", len(new), len(gone), len(self._index))

    def _save(self) -> None:
        try:
            self._index.save(self.index_dir)
        except OSError as err:  # a read-only catalog folder: the index just lives in memory
            log.info("vector index not saved: %s", err)

    # -- text search ----------------------------------------------------------------------------------

    def search(self, text: str, *, k: int = 10, **filters: Any) -> SearchResult:
        query = parse_query(text, **filters)
        allowed = self._allowed(query)
        semantic = self._semantic(query.text, allowed, k) if self.model is not None else {}
        lexical = self._lexical(query, allowed)
        category = query.category or (query.text_categories[0] if query.text_categories else None)
        hits = self._rank(semantic, lexical, category, allowed, k)
        mode = "hybrid" if self.model is not None else "names"
        return SearchResult(hits, mode, self.notice, query)

    def _allowed(self, q: Query) -> set[str] | None:
        spans: tuple[tuple[float, float], ...] = ()
        if q.bpm:
            spans = (q.bpm,) + (((q.bpm[0] / 2, q.bpm[1] / 2), (q.bpm[0] * 2, q.bpm[1] * 2)) if q.half_double else ())
        filters = StemFilter(bpm_spans=spans, keys=tuple(q.keys or ()), category=q.category,
                             min_duration=q.min_duration, max_duration=q.max_duration, loop=q.loop)
        if filters.empty:
            return None
        return set(self.catalog.select_ids(filters))

    def _semantic(self, text: str, allowed: set[str] | None, k: int) -> dict[str, tuple[float, float | None]]:
        if not text.strip():
            return {}
        vector = self._texts.embed(text)
        return self.nearest(vector[None, :], max(50, 5 * k), allowed)

    def nearest(self, vectors: np.ndarray, n: int, allowed: set[str] | None = None,
                exclude: set[str] = frozenset()) -> dict[str, tuple[float, float | None]]:
        """Best window per stem: {stem id: (cosine, offset of the best window or None)}."""
        index = self.vector_index()
        entries = None
        if allowed is not None or exclude:
            pool = allowed if allowed is not None else self._entries.keys()
            entries = [e for stem in pool if stem not in exclude for e in self._entries.get(stem, [])]
        scores, ids = index.search(vectors, n * 3, allowed=entries)
        best: dict[str, tuple[float, float | None]] = {}
        for score, entry in zip(scores[0].tolist(), ids[0], strict=True):
            stem = _stem_of(entry)
            if stem in exclude:
                continue
            if stem not in best or score > best[stem][0]:
                best[stem] = (score, entry[1] if isinstance(entry, tuple) else None)
        return dict(sorted(best.items(), key=lambda kv: -kv[1][0])[:n])

    def _lexical(self, q: Query, allowed: set[str] | None) -> dict[str, float]:
        tokens = words(q.text)
        if not tokens:
            return {}
        terms = list(dict.fromkeys(tokens + [category_token(c) for c in categories_in(tokens)]))
        match = " OR ".join(f'"{t}"' for t in terms)
        if len(tokens[-1]) >= 3:
            match += f' OR "{tokens[-1]}"*'  # as-you-type: the last word may be unfinished
        found = self.catalog.lexical(match)
        return {i: s for i, s, _path in found if allowed is None or i in allowed}

    def _rank(self, semantic, lexical, category, allowed, k) -> list[Hit]:
        candidates = list(dict.fromkeys(list(semantic) + list(lexical)))
        if not candidates and allowed is not None:
            candidates = sorted(allowed)[: k * 5]
        if not candidates:
            return []
        stems = {s["id"]: s for s in self.catalog.stems(candidates)}
        weights = WEIGHTS_MODEL if self.model is not None else WEIGHTS_NAMES
        sem = _scaled({c: semantic[c][0] for c in candidates if c in semantic})
        # Relative to the best match, not min-max: the weakest real name match keeps some credit.
        best_lex = max(lexical.values(), default=0.0)
        lex = {c: lexical.get(c, 0.0) / best_lex if best_lex > 0 else 0.0 for c in candidates}
        scored = []
        for c in candidates:
            if c not in stems:
                continue
            parts = {"semantic": sem.get(c, 0.0), "lexical": lex.get(c, 0.0),
                     # As sure as the analysis was: a folder named "sn" counts more than a guess by ear.
                     "category": (stems[c]["category_confidence"] or 0.5)
                     if category and stems[c]["category"] == category else 0.0}
            total = sum(weights[name] * value for name, value in parts.items())
            scored.append((total, stems[c]["path"], c, parts))
        scored.sort(key=lambda t: (-t[0], t[1]))
        if self.model is None and scored:
            # Names only: a match on one generic word far below the best is noise, not a result.
            scored = [t for t in scored if t[0] >= NAMES_CUTOFF * scored[0][0]]
        hits = []
        for rank, (total, _path, c, parts) in enumerate(scored[:k], 1):
            extra = {"components": {n: round(v, 4) for n, v in parts.items()}}
            if c in semantic:
                extra["cosine"] = round(semantic[c][0], 4)
                extra["offset"] = semantic[c][1]
            hits.append(_hit(rank, stems[c], total, extra))
        return hits

    # -- query by example ------------------------------------------------------------------------------

    def similar(self, target: str, *, k: int = 10) -> SearchResult:
        """Nearest sounds to a catalogued stem (id, id prefix or path) or to any audio file."""
        from traum.errors import NotFound

        stem_id = self._resolve(target)
        if stem_id is not None:
            vectors = self.catalog.vectors([stem_id])
            if stem_id not in vectors:
                raise NotFound(f"{target} has no embedding yet; run `traum index` with the model")
            query, exclude = vectors[stem_id][0], {stem_id}
        elif os.path.isfile(target):
            query, exclude = self._embed_outside(target)
        else:
            raise NotFound(f"{target} is neither a catalogued sample (id or path) nor an audio file")
        best = self.nearest(query[None, :], k, exclude=exclude)
        stems = {s["id"]: s for s in self.catalog.stems(list(best))}
        hits = [_hit(rank, stems[sid], score, {"offset": offset})
                for rank, (sid, (score, offset)) in enumerate(best.items(), 1) if sid in stems]
        return SearchResult(hits, "similar", self.notice)

    def _resolve(self, target: str) -> str | None:
        if re.fullmatch(r"[0-9a-f]{8,64}", target):
            ids = self.catalog.select_ids(StemFilter(id_prefix=target))
            if len(ids) == 1:
                return ids[0]
        path = os.path.abspath(os.path.expanduser(target))
        return self.catalog.stem_by_path(path)

    def _embed_outside(self, path: str) -> tuple[np.ndarray, set[str]]:
        from traum.audio import content_hash
        from traum.embedding.files import embed_file
        from traum.errors import ModelUnavailable

        if self.model is None:
            raise ModelUnavailable(f"{path} is not in the catalog, and embedding it needs the model: "
                                   f"{self.notice or 'no model available'}")
        pooled, _windows = embed_file(self.model, path)
        return pooled, {content_hash(path)}

    # -- duplicates -------------------------------------------------------------------------------------

    def duplicates(self, *, threshold: float = NEAR_DUPLICATE) -> dict[str, list[list[str]]]:
        """Exact duplicates (same content at several paths) and near-duplicate groups (cosine ≥ threshold)."""
        exact = self.catalog.exact_duplicates()
        ids, matrix = self.catalog.embeddings()
        near = _near_groups(ids, matrix, threshold)
        paths = {s["id"]: s["path"] for s in self.catalog.stems([i for g in near for i in g])} if near else {}
        return {"exact": exact, "near": [sorted(paths[i] for i in group if i in paths) for group in near]}


def _near_groups(ids: list[str], matrix: np.ndarray, threshold: float) -> list[list[str]]:
    if len(ids) < 2:
        return []
    index = VectorIndex(matrix.shape[1])
    index.add(ids, matrix)
    parent = {i: i for i in ids}

    def root(i: str) -> str:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, len(ids), 1024):
        scores, found = index.search(matrix[start:start + 1024], 8)
        for row, (srow, frow) in enumerate(zip(scores, found, strict=True)):
            me = ids[start + row]
            for score, other in zip(srow.tolist(), frow, strict=True):
                if other != me and score >= threshold:
                    parent[root(other)] = root(me)
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=len, reverse=True)


def _stem_of(entry: Any) -> str:
    return entry[0] if isinstance(entry, tuple) else entry


def _scaled(values: dict[str, float]) -> dict[str, float]:
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high - low < 1e-9:
        return {k: (1.0 if high > 0 else 0.0) for k in values}
    return {k: (v - low) / (high - low) for k, v in values.items()}


def _hit(rank: int, stem: dict[str, Any], score: float, extra: dict[str, Any]) -> Hit:
    facts = {k: stem.get(k) for k in ("bpm", "key", "category")}
    return Hit(rank, stem["id"], stem["path"], round(float(score), 4), stem["duration"],
               {"filename": os.path.basename(stem["path"]), **facts, **extra})


def search_text(catalog: Catalog, text: str, *, k: int = 10, model: EmbeddingModel | None = None,
                notice: str | None = None, **filters: Any) -> SearchResult:
    return SearchEngine(catalog, model, notice=notice).search(text, k=k, **filters)
