"""Out of memory halves the batch and carries on, with the same vectors; other errors are not swallowed."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import DIRT
from traum.audio import load
from traum.embedding.batching import embed_in_batches


class SmallDevice:
    """The real tiny model on a "device" that runs out of memory above ``limit`` windows per batch."""

    def __init__(self, model, limit: int, message: str = "CUDA out of memory. Tried to allocate 2.00 GiB") -> None:
        self.model, self.limit, self.message = model, limit, message
        self.dim = model.dim
        self.batches: list[int] = []

    def embed_windows(self, features: np.ndarray) -> np.ndarray:
        self.batches.append(len(features))
        if len(features) > self.limit:
            raise RuntimeError(self.message)
        return self.model.embed_windows(features)


@pytest.fixture(scope="module")
def model(tiny_model):
    from traum.embedding import load_model

    return load_model(str(tiny_model), precision="fp32")


@pytest.fixture(scope="module")
def features(model):
    windows = []
    for name in ("pad/alien-monolith-pad.wav", "bd/BT0A0A7.wav", "sn/ST0T0S0.wav", "hh/000_hh3closedhh.wav"):
        windows += [w.features for w in model.prepare(load(DIRT / name, model.sample_rate).samples)]
    return windows


def test_out_of_memory_halves_the_batch_and_gives_the_same_vectors(model, features):
    device = SmallDevice(model, limit=2)
    vectors, used = embed_in_batches(device, features, batch_size=8)
    assert used == 2 and device.batches[:3] == [5, 4, 2]  # five windows: tried whole, then halved twice
    expected, _ = embed_in_batches(model, features, batch_size=1)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_out_of_memory_at_one_window_and_other_errors_are_raised(model, features):
    with pytest.raises(RuntimeError, match="out of memory"):
        embed_in_batches(SmallDevice(model, limit=0), features, batch_size=4)
    broken = SmallDevice(model, limit=0, message="Expected all tensors to be on the same device")
    with pytest.raises(RuntimeError, match="same device"):
        embed_in_batches(broken, features, batch_size=4)
    assert broken.batches == [4]  # not retried: only memory is worth a smaller batch


def test_batches_are_cut_by_window_count(model):
    samples = load(DIRT / "pad/alien-monolith-pad.wav", model.sample_rate).samples
    features = [model.prepare(samples)[0].features] * 10  # e.g. one long file's 10 windows
    device = SmallDevice(model, limit=64)
    vectors, _ = embed_in_batches(device, features, 4)
    assert device.batches == [4, 4, 2]
    assert vectors.shape == (10, model.dim)


class Recording(SmallDevice):
    """Which thread ran each batch, and with how many torch threads."""

    def __init__(self, model) -> None:
        super().__init__(model, limit=64)
        self.seen: list[tuple[str, int]] = []

    def embed_windows(self, features: np.ndarray) -> np.ndarray:
        import threading

        import torch

        self.seen.append((threading.current_thread().name, torch.get_num_threads()))
        return super().embed_windows(features)


def test_batches_run_side_by_side_on_single_threaded_lanes_with_the_same_vectors(model, features):
    import torch

    device = Recording(model)
    before = torch.get_num_threads()
    vectors, _ = embed_in_batches(device, features * 2, 4, inference_cores=lambda: 2)
    expected, _ = embed_in_batches(model, features * 2, 1)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)  # in order, whichever lane finished first
    lanes = {name for name, _ in device.seen if name.startswith("traum-infer")}
    # Lanes share a batch of 4: two windows each; the last round's one window runs here.
    assert len(lanes) == 2 and device.batches == [2, 2, 2, 2, 2]
    assert {threads for _, threads in device.seen} == {1}
    torch.set_num_threads(before)


def test_one_core_for_inference_runs_one_batch_at_a_time_here(model, features):
    import threading

    device = Recording(model)
    embed_in_batches(device, features, 2, inference_cores=lambda: 1)
    assert {name for name, _ in device.seen} == {threading.current_thread().name}
    assert device.batches == [2, 2, 1]
