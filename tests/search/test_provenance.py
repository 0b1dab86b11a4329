"""The saved vector index follows the catalog when a library is re-indexed with another model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.embedding import load_model
from traum.pipeline import IndexOptions, run_index
from traum.search import SearchEngine

#: Short files (one model window each): a stem's only vector is the catalog's exported one.
FILES = ["dirt-samples/bd/BT0A0A7.wav", "dirt-samples/sn/ST0T0S0.wav", "dirt-samples/hh/000_hh3closedhh.wav",
         "dirt-samples/808/CB.WAV", "dirt-samples/808/CP.WAV", "dirt-samples/cp/HANDCLP0.wav",
         "dirt-samples/rs/rytm-rs.wav", "dirt-samples/stomp/009_9.wav"]


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    from traum.testing import build_random_clap

    return build_random_clap(tmp_path_factory.mktemp("models") / "tiny-clap-b", seed=1)


def index(library, db, model):
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(model=str(model), cache=False, analyse=False))


def test_reindexing_with_another_model_replaces_the_saved_vectors(tmp_path, tiny_model, other_model):
    library, db = copy_library(tmp_path / "lib", FILES), tmp_path / "c.db"
    index(library, db, tiny_model)
    with Catalog(db) as catalog:
        SearchEngine(catalog, load_model(str(tiny_model))).search("kick", k=3)  # saves the index
    saved = json.loads((tmp_path / "c.db.vectors" / "ids.json").read_text())
    assert saved["meta"]["model"] == load_model(str(tiny_model)).model_id
    index(library, db, other_model)
    model_b = load_model(str(other_model))
    with Catalog(db) as catalog:
        assert catalog.embedding_models() == {model_b.model_id: len(FILES)}
        ids, matrix = catalog.embeddings()
        engine = SearchEngine(catalog, model_b)
        for target in ids[:3]:
            cosines = matrix @ matrix[ids.index(target)]
            want = sorted(((c, i) for c, i in zip(cosines.tolist(), ids, strict=True) if i != target), reverse=True)
            got = engine.similar(target, k=len(ids)).hits
            assert [h.id for h in got] == [i for _, i in want]
            assert np.allclose([h.score for h in got], [c for c, _ in want], atol=1e-4)
        text = model_b.embed_text(["dusty kick"])[0]
        truth = dict(zip(ids, (matrix @ text).tolist(), strict=True))
        hits = engine.search("dusty kick", k=len(ids)).hits
        assert {h.id for h in hits} == set(ids)
        assert all(h.extra["cosine"] == pytest.approx(truth[h.id], abs=1e-4) for h in hits)
    saved = json.loads((tmp_path / "c.db.vectors" / "ids.json").read_text())
    assert saved["meta"]["model"] == model_b.model_id


def test_no_cosines_across_two_models_spaces(tmp_path, tiny_model, other_model):
    library, db = copy_library(tmp_path / "lib", FILES), tmp_path / "c.db"
    index(library, db, other_model)
    with Catalog(db) as catalog:
        result = SearchEngine(catalog, load_model(str(tiny_model))).search("kick", k=5)
    assert all("cosine" not in h.extra for h in result.hits)
    assert "another model" in (result.notice or "")


def test_an_index_saved_for_another_catalog_is_rebuilt(tmp_path, tiny_model):
    library, db = copy_library(tmp_path / "lib", FILES[:3]), tmp_path / "c.db"
    index(library, db, tiny_model)
    with Catalog(db) as catalog:
        engine = SearchEngine(catalog)
        engine.vector_index()
    meta_file = tmp_path / "c.db.vectors" / "ids.json"
    saved = json.loads(meta_file.read_text())
    saved["meta"]["generation"] += 1000  # as if saved for an older, busier catalog at this path
    saved["ids"][0] = "0" * 64
    meta_file.write_text(json.dumps(saved))
    with Catalog(db) as catalog:
        assert "0" * 64 not in SearchEngine(catalog).vector_index()
        assert len(SearchEngine(catalog).vector_index()) == 3
