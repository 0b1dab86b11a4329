"""Text search over a catalog: CLAP text embedding → cosine top-k; names when there is no model."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from traum.catalog import Catalog
from traum.embedding.base import EmbeddingModel
from traum.search.lexical import name_score, words
from traum.search.vector_index import VectorIndex


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
    #: "semantic" (model) or "names" (no model: file and folder names only).
    mode: str
    notice: str | None = None


def search_text(catalog: Catalog, text: str, *, k: int = 10, model: EmbeddingModel | None = None,
                notice: str | None = None) -> SearchResult:
    if model is not None:
        ids, vectors = catalog.embeddings(model.model_id)
        if len(ids):
            index = VectorIndex(vectors.shape[1])
            index.add(ids, vectors)
            scores, found = index.search(model.embed_text([text]), k)
            return SearchResult(_hits(catalog, found[0], scores[0].tolist()), "semantic")
        notice = notice or "no embeddings from this model in the catalog yet; matching file names instead"
    return SearchResult(_name_hits(catalog, text, k), "names", notice)


def _name_hits(catalog: Catalog, text: str, k: int) -> list[Hit]:
    query = words(text)
    scored = []
    for stem in catalog.stems():
        score = name_score(query, stem["path"])
        if score > 0:
            scored.append((-score, len(stem["path"]), stem["path"], stem))
    scored.sort(key=lambda t: t[:3])
    return [_hit(i, s, -neg) for i, (neg, _, _, s) in enumerate(scored[:k], 1)]


def _hits(catalog: Catalog, ids: list[str], scores: list[float]) -> list[Hit]:
    stems = {s["id"]: s for s in catalog.stems(ids)}
    return [_hit(i, stems[sid], score) for i, (sid, score) in enumerate(zip(ids, scores, strict=True), 1)
            if sid in stems]


def _hit(rank: int, stem: dict[str, Any], score: float) -> Hit:
    return Hit(rank, stem["id"], stem["path"], round(float(score), 4), stem["duration"],
               {"filename": os.path.basename(stem["path"])})
