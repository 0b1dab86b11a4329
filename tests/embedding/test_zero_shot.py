"""CLAP zero-shot categories: evidence only when the model is sure, fused with names and acoustics."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import DIRT
from traum.analysis.category import fuse_zero_shot
from traum.audio import load
from traum.embedding.zero_shot import PROMPTS, TEMPLATE, ZeroShotCategories


@pytest.fixture(scope="module")
def model(tiny_model):
    from traum.embedding import load_model

    return load_model(str(tiny_model))


def test_a_random_weight_model_is_never_sure(model):
    # Random weights map every sound near every prompt: its verdict must not touch the catalog.
    classifier = ZeroShotCategories(model)
    for path in [DIRT / "bd/BT0A0A7.wav", DIRT / "hh/000_hh3closedhh.wav", DIRT / "pad/alien-monolith-pad.wav"]:
        samples = load(path, model.sample_rate).samples
        vector = model.embed_windows(np.stack([w.features for w in model.prepare(samples)]))[0]
        category, probability = classifier.classify(vector)
        assert category is None and probability < 0.4


@pytest.mark.parametrize("near, far", [("snare", "kick"), ("kick", "snare"), ("pad", "bass"), ("speech", "vocal")])
def test_a_sound_closer_to_one_prompt_is_that_category(model, near, far):
    classifier = ZeroShotCategories(model)
    # The tiny model's prompt vectors are 0.9999 alike; a sharp enough scale still tells them apart,
    # as a trained CLAP's does for its well-separated ones.
    classifier._scale = 1e6
    a, b = model.embed_text([TEMPLATE.format(PROMPTS[near]), TEMPLATE.format(PROMPTS[far])])
    between = 0.7 * a + 0.3 * b  # a sound that is mostly one thing, somewhat another
    category, probability = classifier.classify(between / np.linalg.norm(between))
    assert category == near and probability >= 0.4
    reverse = 0.3 * a + 0.7 * b
    assert classifier.classify(reverse / np.linalg.norm(reverse))[0] == far


@pytest.mark.parametrize("current, heard, expected", [
    (("kick", 0.9), (None, 0.2), ("kick", 0.9)),            # unsure model: nothing changes
    (("kick", 0.6), ("kick", 0.8), ("kick", 0.76)),          # agreement raises confidence
    (("kick", 0.9), ("snare", 0.8), ("kick", 0.9)),          # a clear name beats a fairly sure model
    (("fx", 0.3), ("synth-fx", 0.8), ("synth-fx", 0.72)),    # the model beats an acoustic fallback
    ((None, None), ("pad", 0.6), ("pad", 0.54)),             # no name, no analysis: the model's word
])
def test_fusion(current, heard, expected):
    assert fuse_zero_shot(current, heard) == expected


def test_prompt_vectors_are_cached_per_model_and_prompt_set(model, tmp_path):
    from traum.embedding.zero_shot import prompt_cache_path, prompt_vectors

    prompts = [TEMPLATE.format(PROMPTS[c]) for c in PROMPTS]
    first = ZeroShotCategories(model, cache_dir=tmp_path)
    path = prompt_cache_path(model, prompts, tmp_path)
    assert path is not None and path.exists()
    np.testing.assert_allclose(np.load(path), model.embed_text(prompts), atol=1e-6)
    # A later run reads the file instead of running the text tower: plant vectors that make every
    # sound a "snare" and the classifier must follow them.
    planted = np.zeros_like(first._text)
    planted[list(PROMPTS).index("snare")] = 1.0
    np.save(path, planted)
    second = ZeroShotCategories(model, cache_dir=tmp_path)
    second._scale = 1e3
    assert second.classify(np.eye(1, model.dim, 0, dtype=np.float32)[0])[0] == "snare"
    # Another prompt set (or another model) never reads those vectors.
    other = prompt_vectors(model, prompts[:3], tmp_path)
    np.testing.assert_allclose(other, model.embed_text(prompts[:3]), atol=1e-6)
    assert prompt_cache_path(model, prompts[:3], tmp_path) != path


def test_a_broken_cache_entry_is_recomputed(model, tmp_path):
    from traum.embedding.zero_shot import prompt_cache_path

    prompts = [TEMPLATE.format(PROMPTS[c]) for c in PROMPTS]
    path = prompt_cache_path(model, prompts, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not numpy")
    classifier = ZeroShotCategories(model, cache_dir=tmp_path)
    np.testing.assert_allclose(classifier._text, model.embed_text(prompts), atol=1e-6)
