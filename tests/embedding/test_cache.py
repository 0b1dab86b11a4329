import numpy as np

from traum.embedding.cache import EmbeddingCache


def vectors(seed, windows=0):
    rng = np.random.default_rng(seed)
    pooled = rng.standard_normal(512).astype(np.float32)
    return pooled, [(float(i * 5), rng.standard_normal(512).astype(np.float32)) for i in range(windows)]


def test_round_trip_with_windows(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.db")
    cache.put_many([("a:m:1", vectors(1, 3)), ("b:m:1", vectors(2))])
    pooled, windows = cache.get("a:m:1")
    np.testing.assert_array_equal(pooled, vectors(1, 3)[0])
    assert [o for o, _ in windows] == [0.0, 5.0, 10.0]
    np.testing.assert_array_equal(windows[2][1], vectors(1, 3)[1][2][1])
    assert cache.get("b:m:1")[1] == [] and cache.get("a:other-model:1") is None


def test_least_recently_used_entries_are_evicted_at_the_limit(tmp_path):
    cache = EmbeddingCache(tmp_path / "c.db", max_bytes=10 * 2048 + 100)
    cache.put_many([(f"k{i}", vectors(i)) for i in range(10)])
    assert len(cache) == 10
    cache.get("k0")  # recently used: survives
    cache.put_many([("k10", vectors(10)), ("k11", vectors(11))])
    assert cache.size_bytes() <= cache.max_bytes
    assert cache.get("k0") is not None and cache.get("k11") is not None and cache.get("k1") is None
