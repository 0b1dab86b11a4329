"""Search over a real catalog built from the corpus, with and without the tiny real-format model."""

from __future__ import annotations

import csv
import shutil

import pytest
import soundfile as sf

from tests.helpers import CORPUS, EXAMPLES
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index
from traum.search import SearchEngine

FOLDERS = ["bd", "808bd", "sn", "sd", "hh", "cp", "breaks125", "jvbass", "pad", "numbers", "birds", "noise", "wind"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("lib")
    for folder in FOLDERS:
        shutil.copytree(CORPUS / "dirt-samples" / folder, root / folder)
    long_dir = root / "songs"
    long_dir.mkdir()
    shutil.copy(EXAMPLES / "Kevin_MacLeod_-_Vibe_Ace.ogg", long_dir / "vibe.ogg")
    db = tmp_path_factory.mktemp("db") / "c.db"
    with Catalog(db) as cat:
        # Every window of the long file: best-window search at 10 s resolution inside it.
        run_index([root], cat, IndexOptions(model=str(tiny_model), cache=False, max_windows=None))
    cat = Catalog(db)
    yield cat
    cat.close()


@pytest.fixture(scope="module")
def labels():
    return {row["folder"].split("/")[-1]: row["category"] for row in csv.DictReader(open(CORPUS / "labels.csv"))}


def folder(hit):
    return hit.path.split("/")[-2]


@pytest.mark.parametrize("query, category", [("kick", "kick"), ("snare", "snare"), ("hi-hat", "hihat"),
                                             ("drum loop", "drum-loop"), ("bass", "bass"), ("speech", "speech"),
                                             ("birds", "field-recording"), ("bd", "kick"), ("hh", "hihat")])
def test_names_alone_find_the_right_category(catalog, labels, query, category):
    hits = SearchEngine(catalog).search(query, k=10).hits
    relevant = [labels.get(folder(h)) == category for h in hits]
    assert len(hits) >= 2 and sum(relevant) / len(relevant) >= 0.9


def test_facts_filter_and_explain(catalog):
    result = SearchEngine(catalog).search("drums 125 bpm", k=50)
    assert result.hits and all(120 <= h.extra["bpm"] <= 130 for h in result.hits)  # 125 ± 4 %
    assert "tempo ≈125 BPM" in " ".join(result.explain()["notes"])
    short = SearchEngine(catalog).search("kick", k=50, max_duration=0.2, loop=False)
    assert short.hits and all(h.duration <= 0.2 for h in short.hits)
    assert SearchEngine(catalog).search("kick", k=5, category="pad").hits[0].extra["category"] == "pad"


def test_filtered_semantic_search_returns_k(catalog, tiny_model):
    from traum.embedding import load_model

    engine = SearchEngine(catalog, load_model(str(tiny_model)))
    hits = engine.search("a bright sound", k=7, category="kick").hits
    assert len(hits) == 7 and all(h.extra["category"] == "kick" for h in hits)


def test_similar_leaves_out_the_query_and_its_duplicates(catalog, tiny_model, tmp_path):
    from traum.embedding import load_model

    engine = SearchEngine(catalog, load_model(str(tiny_model)))
    some = engine.search("kick", k=1).hits[0]
    hits = engine.similar(some.id, k=5).hits
    assert len(hits) == 5 and some.id not in [h.id for h in hits]
    outside = tmp_path / "copy of it.wav"
    shutil.copy(some.path, outside)
    assert some.id not in [h.id for h in engine.similar(str(outside), k=5).hits]
    assert engine.similar(some.path, k=3).hits[0].id != some.id


def test_long_files_report_where_the_best_window_starts(catalog, tiny_model, tmp_path):
    from traum.embedding import load_model

    engine = SearchEngine(catalog, load_model(str(tiny_model)))
    audio, rate = sf.read(str(EXAMPLES / "Kevin_MacLeod_-_Vibe_Ace.ogg"), dtype="float32")
    start = 37.0
    excerpt = tmp_path / "excerpt.wav"
    sf.write(excerpt, audio[int(start * rate): int((start + 10) * rate)], rate)
    top = engine.similar(str(excerpt), k=3).hits[0]
    assert top.path.endswith("vibe.ogg") and abs(top.extra["offset"] - start) <= 5


def test_vector_index_follows_the_catalog_incrementally(tiny_model, tmp_path):
    library = tmp_path / "lib"
    (library / "bd").mkdir(parents=True)
    for path in sorted((CORPUS / "dirt-samples" / "bd").iterdir())[:4]:
        shutil.copy(path, library / "bd" / path.name)
    # Vectors only: the index follows embeddings, not facts.
    options = IndexOptions(model=str(tiny_model), cache=False, analyse=False)
    with Catalog(tmp_path / "c.db") as catalog:
        run_index([library], catalog, options)
        saved = tmp_path / "vec"
        first = set(SearchEngine(catalog, None, index_dir=saved).vector_index()._rows)
        assert first == catalog.embedded_ids() and (saved / "ids.json").exists()
        # A file added and one deleted: the saved index, reloaded, takes exactly that change.
        added = library / "sn" / "snare.wav"
        added.parent.mkdir()
        shutil.copy(CORPUS / "dirt-samples" / "sn" / "ST0T0S0.wav", added)
        gone = min((library / "bd").iterdir())
        gone_id = catalog.stem_by_path(str(gone))
        gone.unlink()
        run_index([library], catalog, options)
        now = set(SearchEngine(catalog, None, index_dir=saved).vector_index()._rows)
        assert now == catalog.embedded_ids() == (first - {gone_id}) | {catalog.stem_by_path(str(added))}
        # Nothing changed since: the next process takes the saved index as it is, without writing it again.
        written = {f.name: f.stat().st_mtime_ns for f in saved.iterdir()}
        again = SearchEngine(catalog, None, index_dir=saved)
        assert set(again.vector_index()._rows) == now and again.similar(str(added), k=2).hits
        assert {f.name: f.stat().st_mtime_ns for f in saved.iterdir()} == written


def test_duplicates(tiny_model, tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    kick, copy, quieter = library / "kick.wav", library / "kick copy.wav", library / "kick quieter.wav"
    shutil.copy(CORPUS / "dirt-samples" / "bd" / "BT0A0A7.wav", kick)
    shutil.copy(kick, copy)
    samples, rate = sf.read(kick)
    sf.write(quieter, samples * 0.98, rate, subtype="FLOAT")  # other bytes, the same sound
    shutil.copy(CORPUS / "librosa-examples" / "198-209-0000.ogg", library / "speech.ogg")
    with Catalog(tmp_path / "c.db") as catalog:
        # Duplicates are found by content and vectors; facts play no part.
        run_index([library], catalog, IndexOptions(model=str(tiny_model), cache=False, analyse=False))
        ids, matrix = catalog.embeddings()
        cosine = {catalog.paths_of(a)[0]: float(v @ matrix[ids.index(catalog.stem_by_path(str(kick)))])
                  for a, v in zip(ids, matrix, strict=True)}
        threshold = (cosine[str(quieter)] + cosine[str(library / "speech.ogg")]) / 2
        groups = SearchEngine(catalog).duplicates(threshold=threshold)
    assert cosine[str(quieter)] > cosine[str(library / "speech.ogg")]
    assert groups["exact"] == [sorted([str(copy), str(kick)])]
    # One content per near group member: the quieter copy and the kick (shown under one of its paths).
    [near] = groups["near"]
    assert len(near) == 2 and str(quieter) in near and set(near) - {str(quieter)} <= {str(kick), str(copy)}


def test_a_file_from_outside_is_pooled_with_the_catalogs_window_budget(tiny_model, tmp_path):
    """A long query file gets the windows its indexed copy got (3 by default, not one per 10 s): it costs
    what indexing it would, and its vector is its indexed copy's."""
    import numpy as np

    from traum.embedding import load_model

    class Counting:
        """The real model, counting the windows it embeds."""

        def __init__(self, model) -> None:
            self.model, self.windows = model, 0

        def __getattr__(self, name):
            return getattr(self.model, name)

        def embed_windows(self, features):
            self.windows += len(features)
            return self.model.embed_windows(features)

    (tmp_path / "lib").mkdir()
    shutil.copy(EXAMPLES / "Kevin_MacLeod_-_Vibe_Ace.ogg", tmp_path / "lib" / "vibe.ogg")  # 61 s: 7 windows
    with Catalog(tmp_path / "c.db") as cat:
        run_index([tmp_path / "lib"], cat, IndexOptions(model=str(tiny_model), cache=False, analyse=False))
        audio, rate = sf.read(str(EXAMPLES / "Kevin_MacLeod_-_Vibe_Ace.ogg"), dtype="float32")
        same_sound = tmp_path / "vibe as wav.wav"  # other bytes, other hash: not left out as a duplicate
        sf.write(same_sound, audio, rate, subtype="FLOAT")
        model = Counting(load_model(str(tiny_model)))
        engine = SearchEngine(cat, model)
        assert engine.similar(str(same_sound), k=1).hits[0].path.endswith("vibe.ogg")
        query, _ = engine._embed_outside(str(same_sound))
        stored = cat.vectors([cat.stem_by_path(str(tmp_path / "lib" / "vibe.ogg"))])
    assert model.windows == 2 * 3  # two queries, three windows each
    np.testing.assert_allclose(query, next(iter(stored.values()))[0], atol=1e-5)
