"""Ranking: CLAP cosine blended with name matching and the category asked for, under filters.

Every signal is on an absolute scale, so a weak best candidate stays weak (docs/search.md):
- semantic: cosine mapped linearly from SEMANTIC_FLOOR (0) to SEMANTIC_CEIL (1), clamped;
- lexical: :func:`traum.search.lexical.name_match` (1 = the query is exactly a folder's or the file's name);
- category: the catalogued category's confidence when it is the category the query names.
Weights: with a model 0.40 semantic + 0.40 lexical + 0.20 category; without one 0.50 + 0.50 for
lexical and category.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from traum.catalog import Catalog
from traum.catalog.filters import StemFilter
from traum.catalog.paths import display
from traum.embedding.base import EmbeddingModel
from traum.search.lexical import fts_match, name_match, name_parts, query_terms
from traum.search.query import Query, parse_query
from traum.search.vector_index import EXACT_LIMIT, VectorIndex
from traum.vocabulary import category_from_path, words

if TYPE_CHECKING:
    from traum.search.text_cache import TextEmbeddingCache

log = logging.getLogger(__name__)

WEIGHTS_MODEL = {"semantic": 0.40, "lexical": 0.40, "category": 0.20}
WEIGHTS_NAMES = {"semantic": 0.0, "lexical": 0.50, "category": 0.50}
#: CLAP text–audio cosine → semantic score: at or below the floor no evidence (unrelated pairs sit
#: around 0.0–0.1 with LAION-CLAP), at or above the ceiling as sure as CLAP gets (0.4–0.5 for a
#: caption that fits). Linear in between.
SEMANTIC_FLOOR = 0.10
SEMANTIC_CEIL = 0.45
#: Without a model, results scoring under this share of the best are left out.
NAMES_CUTOFF = 0.25
#: Cosine at or above which two different files count as near-duplicates (docs/search.md).
NEAR_DUPLICATE = 0.98
#: Saved-index provenance format; an index saved without it (or another) is rebuilt from the catalog.
PROVENANCE = 1

#: {stem id: (cosine, offset of the best window or None)}
Nearest = dict[str, tuple[float, float | None]]


@dataclass
class Hit:
    rank: int
    id: str
    path: str
    score: float
    duration: float | None
    extra: dict[str, Any] = field(default_factory=dict)
    user_rating: int | None = None
    user_tags: list[str] = field(default_factory=list)
    loudness_lufs: float | None = None
    true_peak_dbfs: float | None = None
    quality_ok: bool | None = None
    quality_issues: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(data.pop("extra"))
        return data


@dataclass
class SearchResult:
    hits: list[Hit]
    #: "hybrid" (model + names), "names" (no model) or "similar".
    mode: str
    notice: str | None = None
    query: Query | None = None
    #: Candidates ranked before the cut to ``k`` (for "n of total" and paging).
    total: int | None = None
    #: Seconds per step ("catalog open", "model", "text vector", "ranking"), for --explain.
    timings: dict[str, float] = field(default_factory=dict)
    #: Where the query's text vector came from: "cached", "warm", "cold" (this search started the
    #: background text tower), "in-process" (the model loaded here); None without one.
    text_vector: str | None = None

    def explain(self) -> dict[str, Any]:
        q = self.query
        return {"mode": self.mode, "notice": self.notice, "semantic_text": q.text if q else None,
                "notes": q.notes if q else [],
                "timings_ms": {step: round(seconds * 1e3, 1) for step, seconds in self.timings.items()},
                "text_vector": self.text_vector,
                "filters": q.facts() if q else {},
                "weights": WEIGHTS_MODEL if self.mode == "hybrid" else WEIGHTS_NAMES,
                "semantic_scale": {"floor": SEMANTIC_FLOOR, "ceil": SEMANTIC_CEIL},
                # Printable paths: an explanation is read, never used to look a file up.
                "hits": [{"id": h.id, "path": display(h.path), "score": h.score, **h.extra.get("components", {})}
                         for h in self.hits]}


class SearchEngine:
    """Searches one catalog; keeps its vector index in memory and on disk next to the catalog.

    The catalog is the one source of truth for vectors: the saved index records which model made
    each stem's vectors and the catalog generation it was synced at, and follows the catalog on any
    difference (a stem re-embedded by another model is replaced, not kept)."""

    def __init__(self, catalog: Catalog, model: EmbeddingModel | None = None, *, notice: str | None = None,
                 index_dir: Path | None = None, exact_limit: int = EXACT_LIMIT) -> None:
        self.catalog = catalog
        self.model = model
        self.notice = notice
        self.index_dir = index_dir or Path(str(catalog.path) + ".vectors")
        self.exact_limit = exact_limit
        self._index: VectorIndex | None = None
        self._entries: dict[str, list[Any]] = {}
        #: Stem id → id of the model its vectors in the index come from, and stems per model.
        self._model_of: dict[str, str] = {}
        self._tally: Counter[str] = Counter()
        self._generation = -1
        self._lock = threading.Lock()
        self._texts: TextEmbeddingCache | None = None
        if model is not None:
            from traum.search.text_cache import TextEmbeddingCache
            from traum.settings import cache_dir

            self._texts = TextEmbeddingCache(model, cache_dir() / "text-queries.db")

    # -- the vector index, in step with the catalog -----------------------------------------------------

    def vector_index(self) -> VectorIndex:
        with self._lock:
            generation = self.catalog.generation
            if self._index is None:
                self._index = self._load_saved(generation)
            if generation != self._generation:
                self._sync(self._index)
                self._generation = generation
                self._save(self._index)
            return self._index

    def _load_saved(self, generation: int) -> VectorIndex:
        fresh = VectorIndex(512, exact_limit=self.exact_limit)
        try:
            index = VectorIndex.load(self.index_dir)
        except (OSError, ValueError, KeyError, RuntimeError):
            return fresh
        meta = index.meta
        # A generation ahead of the catalog's means another catalog now lives at this path.
        if meta.get("provenance") != PROVENANCE or meta.get("generation", generation + 1) > generation:
            log.info("saved vector index has no provenance or belongs to another catalog: rebuilding")
            return fresh
        others = {stem: model for model, stems in meta.get("other_models", {}).items() for stem in stems}
        for entry in index.ids():
            stem = _stem_of(entry)
            self._entries.setdefault(stem, []).append(entry)
            self._model_of[stem] = others.get(stem, meta.get("model", ""))
        index.exact_limit = self.exact_limit
        self._tally = Counter(self._model_of.values())
        if meta.get("generation") == generation:
            # Saved after the catalog's last change: in step already. A new `traum search` process
            # skips reading every embedded id and saving the index again (~0.2 s at 10k stems).
            self._generation = generation
        return index

    def _catalog_models(self) -> dict[str, str]:
        """Model id of every present, embedded stem's vectors, as the catalog has them now."""
        embedded = self.catalog.embedded_ids()
        models = list(self.catalog.embedding_models())
        if len(models) <= 1:
            return dict.fromkeys(embedded, models[0] if models else "")
        out: dict[str, str] = {}
        for model in models:
            lacking = {stem for stem, _path in self.catalog.pending_stems(model)}
            out.update(dict.fromkeys(embedded - lacking, model))
        return out

    def _sync(self, index: VectorIndex) -> None:
        """Drop what the catalog no longer has or has from another model; add what the index lacks."""
        wanted = self._catalog_models()
        stale = [stem for stem, model in self._model_of.items() if wanted.get(stem) != model]
        for stem in stale:
            index.remove(self._entries.pop(stem))
            del self._model_of[stem]
        new = [stem for stem in wanted if stem not in self._model_of]
        for start in range(0, len(new), 5000):
            ids: list[Any] = []
            vectors: list[np.ndarray] = []
            for stem, (pooled, windows) in self.catalog.vectors(new[start:start + 5000]).items():
                entries: list[Any] = [(stem, round(o, 3)) for o, _ in windows] or [stem]
                self._entries[stem] = entries
                self._model_of[stem] = wanted[stem]
                ids += entries
                vectors += [v for _, v in windows] or [pooled]
            if ids:
                index.add(ids, np.stack(vectors))
        self._tally = Counter(self._model_of.values())
        if stale or new:
            log.info("vector index synced: +%d −%d stems, %d entries", len(new), len(stale), len(index))

    def _save(self, index: VectorIndex) -> None:
        counts: dict[str, list[str]] = {}
        for stem, model in self._model_of.items():
            counts.setdefault(model, []).append(stem)
        main = max(counts, key=lambda m: len(counts[m]), default="")
        index.meta = {"provenance": PROVENANCE, "generation": self._generation, "model": main,
                      "other_models": {m: sorted(stems) for m, stems in counts.items() if m != main}}
        try:
            index.save(self.index_dir)
        except OSError as err:  # a read-only catalog folder: the index just lives in memory
            log.info("vector index not saved: %s", err)

    def _stems_of_model(self, model_id: str) -> set[str] | None:
        """Stems whose vectors share ``model_id``'s space; None when that is all of them."""
        if self._tally[model_id] == len(self._model_of):
            return None
        return {stem for stem, m in self._model_of.items() if m == model_id}

    # -- text search ----------------------------------------------------------------------------------

    def search(self, text: str, *, k: int = 10, collection: str | None = None, **filters: Any) -> SearchResult:
        started = time.perf_counter()
        query = parse_query(text, **filters)
        allowed = self._allowed(query, collection)
        notice = self.notice
        semantic: Nearest = {}
        vector, source, embedded = None, None, 0.0
        if self.model is not None and self._texts is not None and query.text.strip():
            vector, source, embedded = self._text_vector(query.text)
            semantic, notice = self._semantic(vector, allowed, k, notice)
        lexical = self._lexical(query, allowed)
        category = query.category or (query.text_categories[0] if query.text_categories else None)
        hits, total = self._rank(query, semantic, lexical, category, allowed, k)
        mode = "hybrid" if self.model is not None else "names"
        timings = {"text vector": embedded, "ranking": time.perf_counter() - started - embedded}
        return SearchResult(hits, mode, notice, query, total, timings if vector is not None else
                            {"ranking": timings["ranking"]}, source)

    def _text_vector(self, text: str) -> tuple[np.ndarray, str, float]:
        """The query's vector, where it came from and the seconds it took."""
        assert self.model is not None and self._texts is not None
        started = time.perf_counter()
        vector = self._texts.embed(text)
        source = "cached" if self._texts.last_hit else str(getattr(self.model, "source", "in-process"))
        return vector, source, time.perf_counter() - started

    def _allowed(self, q: Query, collection: str | None = None) -> set[str] | None:
        filters = replace(q.stem_filter(), collection=collection)
        # Every candidate is present already (the vector index holds present stems, names are
        # searched over present paths, _rank reads present stems), so the filter need not check.
        return None if filters.empty else set(self.catalog.select_ids(filters, present_only=False))

    def hits(self, ids: list[str], first_rank: int = 1) -> list[Hit]:
        """Hits for catalogued stems in the given order (a page of a sorted, filtered list, not a ranking)."""
        stems = {s["id"]: s for s in self.catalog.stems(ids)}
        return [_hit(rank, stems[i], 0.0, {}) for rank, i in enumerate((i for i in ids if i in stems), first_rank)]

    def _semantic(self, vector: np.ndarray, allowed: set[str] | None, k: int, notice: str | None
                  ) -> tuple[Nearest, str | None]:
        assert self.model is not None
        self.vector_index()
        space = self._stems_of_model(self.model.model_id)
        if space is not None:
            # Cosines between two models' spaces mean nothing: compare only with this model's vectors.
            others = len(self._model_of) - len(space)
            note = (f"{others} samples were embedded with another model; run `traum index` with "
                    f"{self.model.name} to search them by sound")
            notice = f"{notice} {note}" if notice else note
            allowed = space if allowed is None else allowed & space
        return self.nearest(vector[None, :], max(50, 5 * k), allowed), notice

    def nearest(self, vectors: np.ndarray, n: int, allowed: set[str] | None = None,
                exclude: Iterable[str] = frozenset()) -> Nearest:
        """Best window per stem: {stem id: (cosine, offset of the best window or None)}."""
        index = self.vector_index()
        exclude = set(exclude)
        entries = None
        if allowed is not None or exclude:
            pool = allowed if allowed is not None else self._entries.keys()
            entries = [e for stem in pool if stem not in exclude for e in self._entries.get(stem, [])]
        scores, ids = index.search(vectors, n * 3, allowed=entries)
        best: Nearest = {}
        for score, entry in zip(scores[0].tolist(), ids[0], strict=True):
            stem = _stem_of(entry)
            if stem in exclude:
                continue
            if stem not in best or score > best[stem][0]:
                best[stem] = (score, entry[1] if isinstance(entry, tuple) else None)
        return dict(sorted(best.items(), key=lambda kv: -kv[1][0])[:n])

    def _lexical(self, q: Query, allowed: set[str] | None) -> dict[str, tuple[float, str | None]]:
        """{stem id: (BM25, the path whose words matched, when the catalog says)} for the query's words."""
        tokens = words(q.text)
        if not tokens:
            return {}
        # The catalog gives one row per stem already: its best-matching path.
        return {stem_id: (score, path) for stem_id, score, path in self.catalog.lexical(fts_match(tokens))
                if allowed is None or stem_id in allowed}

    def _first_present(self, ids: list[str], n: int) -> list[str]:
        """The first ``n`` of ``ids`` that still have a present path."""
        found: list[str] = []
        for start in range(0, len(ids), n):
            if len(found) >= n:
                break
            chunk = ids[start:start + n]
            present = {s["id"] for s in self.catalog.stems(chunk)}
            found += [i for i in chunk if i in present]
        return found[:n]

    def _rank(self, query: Query, semantic: Nearest, lexical: dict[str, tuple[float, str | None]],
              category: str | None, allowed: set[str] | None, k: int) -> tuple[list[Hit], int]:
        candidates = list(dict.fromkeys(list(semantic) + list(lexical)))
        if not candidates and allowed is not None:
            candidates = self._first_present(sorted(allowed), k * 5)
        if not candidates:
            return [], 0
        stems = {s["id"]: s for s in self.catalog.stems(candidates)}
        weights = WEIGHTS_MODEL if self.model is not None else WEIGHTS_NAMES
        terms = query_terms(words(query.text))
        scored = []
        for c in candidates:
            if c not in stems:
                continue
            stem = stems[c]
            path = (lexical[c][1] if c in lexical else None) or stem["path"]
            parts: dict[str, float] = {}
            if c in semantic:
                parts["cosine"] = semantic[c][0]
            parts["semantic"] = semantic_score(semantic[c][0]) if c in semantic else 0.0
            if c in lexical:
                parts["bm25"] = lexical[c][0]
            parts["lexical"] = name_match(terms, name_parts(path, _json_list(stem.get("user_tags"))
                                                            + _json_list(stem.get("tags"))))
            parts["category"] = category_evidence(category, stem, path)
            total = sum(weights[name] * parts[name] for name in weights)
            scored.append((total, parts.get("bm25", 0.0), path, c, parts))
        scored.sort(key=lambda t: (-t[0], -t[1], t[2]))
        if self.model is None and scored:
            # Names only: a match on one generic word far below the best is noise, not a result.
            scored = [t for t in scored if t[0] >= NAMES_CUTOFF * scored[0][0]]
        hits = []
        for rank, (total, _bm25, path, c, parts) in enumerate(scored[:k], 1):
            extra: dict[str, Any] = {"components": {n: round(v, 4) for n, v in parts.items()}}
            if c in semantic:
                extra["cosine"] = round(semantic[c][0], 4)
                extra["offset"] = semantic[c][1]
            hits.append(_hit(rank, stems[c], total, extra, path))
        return hits, len(scored)

    # -- query by example ------------------------------------------------------------------------------

    def similar(self, target: str, *, k: int = 10, filters: StemFilter | None = None) -> SearchResult:
        """Nearest sounds to a catalogued stem (id, id prefix or path) or to any audio file, optionally
        only among stems matching ``filters`` (similar and of the same key, tempo, category…)."""
        from traum.errors import InputNotFound, NotFound

        stem_id = self._resolve(target)
        self.vector_index()
        if stem_id is not None:
            vectors = self.catalog.vectors([stem_id])
            if stem_id not in vectors:
                raise NotFound(f"{target} has no embedding yet; run `traum index` with the model")
            query, exclude = vectors[stem_id][0], {stem_id}
            space = self._model_of.get(stem_id, "")
        elif os.path.isfile(target):
            query, exclude = self._embed_outside(target)
            space = self.model.model_id if self.model is not None else ""
        else:
            raise InputNotFound(f"{target} is neither a catalogued sample (id or path) nor an audio file",
                                path=target, reason="unknown")
        allowed = self._stems_of_model(space)
        if filters is not None and not filters.empty:
            matching = set(self.catalog.select_ids(filters))
            allowed = matching if allowed is None else allowed & matching
        best = self.nearest(query[None, :], k, allowed, exclude=exclude)
        stems = {s["id"]: s for s in self.catalog.stems(list(best))}
        hits = [_hit(rank, stems[sid], score, {"offset": offset})
                for rank, (sid, (score, offset)) in enumerate(best.items(), 1) if sid in stems]
        return SearchResult(hits, "similar", self.notice, total=len(hits))

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
        pooled, _windows = embed_file(self.model, path, max_windows=self._catalog_window_budget())
        return pooled, {content_hash(path)}

    def _catalog_window_budget(self) -> int | None:
        """The window budget the catalog's stems were embedded with (its last run's), so a file from
        outside is pooled as it would be once indexed: a 10-minute query stem costs 3 windows, not 60,
        and scores against its own indexed copy as 1.0."""
        from traum.embedding.windows import window_budget

        return window_budget((self.catalog.get_meta("last_run") or {}).get("windows_per_file") or None)

    # -- duplicates -------------------------------------------------------------------------------------

    def duplicates(self, *, threshold: float = NEAR_DUPLICATE) -> dict[str, list[list[str]]]:
        """Exact duplicates (same content at several paths) and near-duplicate groups (cosine ≥ threshold)."""
        exact = self.catalog.exact_duplicates()
        ids, matrix = self.catalog.embeddings()
        near = _near_groups(ids, matrix, threshold)
        paths = {s["id"]: s["path"] for s in self.catalog.stems([i for g in near for i in g])} if near else {}
        return {"exact": exact, "near": [sorted(paths[i] for i in group if i in paths) for group in near]}


def semantic_score(cosine: float) -> float:
    """A CLAP text–audio cosine on the fixed scale: SEMANTIC_FLOOR → 0, SEMANTIC_CEIL → 1, clamped."""
    return min(1.0, max(0.0, (cosine - SEMANTIC_FLOOR) / (SEMANTIC_CEIL - SEMANTIC_FLOOR)))


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
                    parent[root(str(other))] = root(me)
    groups: dict[str, list[str]] = {}
    for i in ids:
        groups.setdefault(root(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=len, reverse=True)


def category_evidence(wanted: str | None, stem: dict[str, Any], path: str) -> float:
    """How sure it is that the sample is of the category the query names.

    As sure as the analysis was (a folder named "sn" counts more than a guess by ear), or as the
    matched path's own names say: one content filed as a snare in one folder and as a rimshot in
    another is a rimshot to whoever searches for one by that second name.
    """
    if not wanted:
        return 0.0
    analysed = (stem["category_confidence"] or 0.5) if stem["category"] == wanted else 0.0
    named, confidence = category_from_path(path) if path != stem["path"] else (None, 0.0)
    return max(analysed, confidence if named == wanted else 0.0)


def _stem_of(entry: Any) -> str:
    return str(entry[0] if isinstance(entry, tuple) else entry)


def _json_list(value: Any) -> list[str]:
    """A list column as stored (JSON text), or already parsed; anything else is no list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _hit(rank: int, stem: dict[str, Any], score: float, extra: dict[str, Any], path: str | None = None) -> Hit:
    shown = path or stem["path"]
    facts = {k: stem.get(k) for k in ("bpm", "key", "category")}
    quality = stem.get("quality_ok")
    return Hit(rank, stem["id"], shown, round(float(score), 4), stem["duration"],
               {"filename": os.path.basename(shown), **facts, **extra},
               user_rating=stem.get("user_rating"), user_tags=_json_list(stem.get("user_tags")),
               loudness_lufs=stem.get("loudness_lufs"), true_peak_dbfs=stem.get("true_peak_dbfs"),
               quality_ok=None if quality is None else bool(quality),
               quality_issues=_json_list(stem.get("quality_issues")))
