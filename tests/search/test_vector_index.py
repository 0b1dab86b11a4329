import numpy as np
import pytest

from traum.search import VectorIndex


def clustered(n, rng, dim=512, clusters=200):
    basis = rng.standard_normal((32, dim)).astype(np.float32)
    centres = rng.standard_normal((clusters, 32)).astype(np.float32)
    x = (centres[rng.integers(0, clusters, n)] + 0.2 * rng.standard_normal((n, 32))) @ basis
    x += 0.05 * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return clustered(12_000, rng), clustered(50, rng)


def exact_top(x, q, k):
    return [set(np.argsort(-row)[:k].tolist()) for row in q @ x.T]


def test_exact_below_the_threshold(data):
    x, q = data
    index = VectorIndex(512)
    index.add(list(range(len(x))), x)
    assert index.kind == "exact"
    scores, ids = index.search(q, 10)
    assert [set(r) for r in ids] == exact_top(x, q, 10)
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_faiss_above_the_threshold_keeps_recall_and_takes_updates(data, tmp_path):
    x, q = data
    index = VectorIndex(512, exact_limit=5_000)
    index.add([f"s{i}" for i in range(len(x))], x)
    assert index.kind.startswith("faiss")
    _, ids = index.search(q, 10)
    truth = exact_top(x, q, 10)
    recall = np.mean([len({int(i[1:]) for i in got} & want) / 10 for got, want in zip(ids, truth, strict=True)])
    assert recall >= 0.95
    index.remove(["s0", "s1"])
    index.add(["new"], q[:1])
    _, ids = index.search(q[:1], 1)
    assert ids[0] == ["new"] and "s0" not in index and len(index) == len(x) - 1
    index.save(tmp_path / "idx")
    again = VectorIndex.load(tmp_path / "idx")
    assert again.kind == index.kind and again.search(q[:5], 5)[1] == index.search(q[:5], 5)[1]


def test_filtered_search_returns_k_results_when_k_exist(data):
    x, q = data
    index = VectorIndex(512, exact_limit=5_000)
    index.add(list(range(len(x))), x)
    for allowed in ({3, 77, 1234}, set(range(0, len(x), 3)), set(range(0, len(x), 500))):
        _, ids = index.search(q[:4], 10, allowed=allowed)
        assert all(len(r) == min(10, len(allowed)) and set(r) <= allowed for r in ids)


def test_empty_and_unknown():
    index = VectorIndex(512)
    scores, ids = index.search(np.ones((1, 512), np.float32), 5)
    assert ids == [[]] and scores.shape == (1, 0)
    index.add(["a"], np.ones((1, 512), np.float32))
    assert index.search(np.ones((1, 512), np.float32), 5, allowed={"zzz"})[1] == [[]]
