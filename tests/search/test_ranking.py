"""Calibrated blending, per-path matching, hit fields, filters and the FAISS path, on a small real
catalog indexed with the tiny model."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.helpers import DIRT
from traum.catalog import Catalog
from traum.embedding import load_model
from traum.pipeline import IndexOptions, run_index
from traum.search import SearchEngine
from traum.search.engine import SEMANTIC_CEIL, SEMANTIC_FLOOR, semantic_score
from traum.search.lexical import name_match, name_parts, query_terms
from traum.vocabulary import words

#: The whole 808 kit, and a few files from kits whose names only contain "808" or are other drums.
FOLDERS = {"808": 6, "808bd": 4, "808sd": 4, "bd": 4, "sn": 4, "hh": 3}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("kits")
    for folder, n in FOLDERS.items():
        (root / folder).mkdir()
        for path in sorted(p for p in (DIRT / folder).iterdir() if p.suffix.lower() == ".wav")[:n]:
            shutil.copy(path, root / folder / path.name)
    return root


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, tiny_model, library):
    db = tmp_path_factory.mktemp("db") / "c.db"
    with Catalog(db) as cat:
        run_index([library], cat, IndexOptions(model=str(tiny_model), cache=False))
    cat = Catalog(db)
    yield cat
    cat.close()


@pytest.fixture(scope="module")
def model(tiny_model):
    return load_model(str(tiny_model))


def folder(hit):
    return hit.path.split("/")[-2]


@pytest.mark.parametrize("with_model", [True, False])
def test_the_folder_named_like_the_query_comes_first(catalog, model, tmp_path, with_model):
    engine = SearchEngine(catalog, model if with_model else None, index_dir=tmp_path / "vec")
    hits = engine.search("808", k=8).hits
    assert [folder(h) for h in hits[:6]] == ["808"] * 6
    assert all(folder(h) in ("808bd", "808sd") for h in hits[6:])  # "808" among other words: less
    top = hits[0].extra["components"]
    assert top["lexical"] == 1.0 and "bm25" in top


def test_a_weak_cosine_is_not_shown_as_a_strong_one(catalog, model, tmp_path):
    # The tiny model's text–audio cosines are all below 0.11: min–max scaling made the best 1.0.
    hits = SearchEngine(catalog, model, index_dir=tmp_path / "vec").search("a bright sound", k=5).hits
    for hit in hits:
        parts = hit.extra["components"]
        assert parts["cosine"] < 0.2 and parts["semantic"] == pytest.approx(semantic_score(parts["cosine"]))
        assert parts["semantic"] < 0.3


def test_a_strong_cosine_beats_a_partial_name_match(tmp_path, tiny_model, library, model):
    db = tmp_path / "c.db"
    shutil.copytree(library, tmp_path / "lib")
    with Catalog(db) as cat:
        run_index([tmp_path / "lib"], cat, IndexOptions(model=str(tiny_model), cache=False, analyse=False))
        snare = next(s for s in cat.stems() if "/sn/" in s["path"])
        query = model.embed_text(["punchy 808"])[0]
        cat.write_batch(embeddings=[(snare["id"], query, [], model.model_id)])  # the sound the text describes
        hits = SearchEngine(cat, model, index_dir=tmp_path / "vec").search("punchy 808", k=3).hits
    assert hits[0].id == snare["id"]
    assert hits[0].extra["components"]["semantic"] == 1.0 and hits[0].extra["components"]["lexical"] == 0.0
    assert folder(hits[1]) == "808"  # then the folder: half the query's words, exactly its name


def test_the_semantic_scale_is_fixed():
    assert semantic_score(SEMANTIC_FLOOR) == 0 and semantic_score(SEMANTIC_CEIL) == 1
    assert semantic_score(0.08) == 0 and semantic_score(0.9) == 1
    assert semantic_score((SEMANTIC_FLOOR + SEMANTIC_CEIL) / 2) == pytest.approx(0.5)


@pytest.mark.parametrize("query, path, score", [
    ("808", "/lib/808/CB.WAV", 1.0), ("808", "/lib/808bd/BD0000.WAV", 0.75),
    ("kick", "/lib/bd/BT0A0A7.wav", 1.0), ("808 kick", "/lib/808bd/BD0000.WAV", 1.0),
    ("hi hat", "/lib/hh/000_hh.wav", 1.0), ("kick", "/lib/hh/000_hh3kick.wav", 0.75),
    ("dusty 808", "/lib/808/CB.WAV", 0.5), ("snare", "/lib/808/CB.WAV", 0.0), ("kic", "/lib/kicks/k1.wav", 1.0)])
def test_name_match_is_relative_to_a_perfect_match(query, path, score):
    assert name_match(query_terms(words(query)), name_parts(path)) == pytest.approx(score)


def test_hits_show_the_path_that_matched(catalog, tmp_path, library):
    # A second copy of an 808 file under a new name: one content, two paths. Lexical rows name the
    # path that matched, and that path's own name says which category it is.
    some = min((library / "sn").iterdir())
    copy_dir = library / "zzcopies"
    copy_dir.mkdir(exist_ok=True)
    shutil.copy(some, copy_dir / "rimshot_special.wav")
    try:
        run_index([library], catalog, IndexOptions(model="laion/larger_clap_general", cache=False))
        hits = SearchEngine(catalog).search("rimshot special", k=3).hits
        assert hits[0].path.endswith("rimshot_special.wav")
        assert hits[0].extra["components"]["lexical"] == 1.0
    finally:
        shutil.rmtree(copy_dir)
        run_index([library], catalog, IndexOptions(model="laion/larger_clap_general", cache=False))


def test_hits_carry_the_producers_marks_and_quality(catalog):
    stem = next(s for s in catalog.stems() if "/bd/" in s["path"])
    catalog.set_rating(stem["id"], 4)
    catalog.set_user_tags(stem["id"], ["fat", "dusty kick"])
    hit = next(h for h in SearchEngine(catalog).search("dusty kick", k=20).hits if h.id == stem["id"])
    assert hit.user_rating == 4 and hit.user_tags == ["fat", "dusty kick"]
    assert hit.to_dict()["user_tags"] == ["fat", "dusty kick"]
    assert hit.quality_ok in (True, False) and isinstance(hit.quality_issues, list)
    catalog.set_rating(stem["id"], None)
    catalog.set_user_tags(stem["id"], [])


def test_quality_filter(catalog):
    flags = {s["id"]: s["quality_ok"] for s in catalog.stems()}
    for wanted in (True, False):
        hits = SearchEngine(catalog).search("", k=100, quality_ok=wanted).hits
        assert ([h.id for h in hits] and all(bool(flags[h.id]) == wanted for h in hits)) or \
            not any(bool(v) == wanted for v in flags.values())


def test_search_and_similar_through_faiss_equal_exact(catalog, model, tmp_path):
    exact = SearchEngine(catalog, model, index_dir=tmp_path / "exact")
    approx = SearchEngine(catalog, model, index_dir=tmp_path / "faiss", exact_limit=10)
    assert exact.vector_index().kind == "exact" and approx.vector_index().kind.startswith("faiss")
    ids, matrix = catalog.embeddings()
    for target in ids[:5]:
        want = exact.similar(target, k=8).hits
        got = approx.similar(target, k=8).hits
        # fp16 codes: the same neighbours, scores within quantisation error.
        assert np.allclose([h.score for h in got], [h.score for h in want], atol=2e-3)
        truth = dict(zip(ids, (matrix @ matrix[ids.index(target)]).tolist(), strict=True))
        assert all(truth[h.id] >= want[-1].score - 2e-3 for h in got)
    for text in ("808", "a bright snare"):
        assert [h.id for h in approx.search(text, k=10).hits] == [h.id for h in exact.search(text, k=10).hits]
    # Reloaded from disk, the FAISS index answers the same.
    again = SearchEngine(catalog, model, index_dir=tmp_path / "faiss", exact_limit=10)
    assert [h.id for h in again.similar(ids[0], k=5).hits] == [h.id for h in approx.similar(ids[0], k=5).hits]
