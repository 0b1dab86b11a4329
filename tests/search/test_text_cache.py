import numpy as np

from traum.embedding import load_model
from traum.search.text_cache import TextEmbeddingCache


def test_the_disk_cache_keeps_the_newest_queries_only(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_TEXT_CACHE_ITEMS", "3")
    model = load_model(str(tiny_model))
    cache = TextEmbeddingCache(model, tmp_path / "texts.db", memory_items=1)
    assert cache.max_items == 3
    vectors = {text: cache.embed(text) for text in ["kick", "snare", "hat", "pad"]}
    assert cache.disk_count() == 3
    cache.embed("snare")  # read again: now the most recent
    cache.embed("bass")
    fresh = TextEmbeddingCache(model, tmp_path / "texts.db")
    assert fresh.disk_count() == 3
    kept = {t for t in vectors if fresh._from_disk(t) is not None}
    assert kept == {"snare", "pad"}
    assert np.array_equal(fresh._from_disk("snare"), vectors["snare"])
