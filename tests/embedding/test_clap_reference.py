"""Traum's embeddings against the transformers reference path, on real clips up to 10 s."""

from __future__ import annotations

import json

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
from transformers import ClapModel, ClapProcessor

from tests.helpers import DIRT

CLIPS = sorted(p for folder in ("bd", "sn", "hh", "cp", "jvbass", "moog", "pad", "numbers", "birds", "sugar",
                                "monsterb", "808", "gtr", "juno")
               for p in sorted((DIRT / folder).iterdir())[:3]
               if p.suffix.lower() in (".wav", ".ogg") and sf.info(str(p)).duration <= 10)


def reference_vectors(model_dir, paths) -> np.ndarray:
    """ClapProcessor features (the folder's own processor config) → get_audio_features, fp32."""
    model = ClapModel.from_pretrained(model_dir).eval()
    processor = ClapProcessor.from_pretrained(model_dir)
    out = []
    for path in paths:
        audio, _ = librosa.load(path, sr=48_000, mono=True)
        inputs = processor(audio=audio, sampling_rate=48_000, return_tensors="pt")
        with torch.inference_mode():
            result = model.get_audio_features(**inputs)
        out.append(getattr(result, "pooler_output", result)[0].numpy())
    return np.stack(out)


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.fixture(scope="module")
def reference(tiny_model):
    return reference_vectors(tiny_model, CLIPS)


# bf16 forced, too: on a CPU with native bf16 "auto" picks it anyway; elsewhere it is emulated but must
# stay just as faithful (the audio tower's weights are stored in bf16 on that path).
@pytest.mark.parametrize("precision", ["fp32", "auto", "bf16"])
def test_traum_embed_matches_reference(tiny_model, reference, precision, monkeypatch):
    from tests.cli.conftest import traum
    from traum import api
    from traum.embedding.clap import pick_precision

    assert len(CLIPS) >= 20
    if precision == "auto":
        monkeypatch.delenv("TRAUM_PRECISION", raising=False)
    else:
        monkeypatch.setenv("TRAUM_PRECISION", precision)
    # `traum embed` in this process (a process of its own would only import torch again): the model the
    # command loads is kept per process, so each precision starts without it and leaves none behind.
    api.get_model.cache_clear()
    try:
        result = traum("embed", *CLIPS, "--model", tiny_model, "--json")
        used = api.get_model(str(tiny_model))
        assert api.get_model.cache_info().hits == 1, "not the model the command loaded"
        assert used.precision == (precision if precision != "auto" else pick_precision("auto", "cpu"))
    finally:
        api.get_model.cache_clear()
    ours = np.array([r["embedding"] for r in json.loads(result.stdout)], dtype=np.float32)
    assert ours.shape == (len(CLIPS), 512)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert row_cosines(ours, reference).min() >= 0.999
    # Random weights map everything close together; what distinguishes clips is the deviation from the mean.
    mean = reference.mean(axis=0)
    assert row_cosines(ours - mean, reference - mean).min() >= 0.98


def test_mean_removed_check_catches_a_gain_change(tiny_model, reference):
    from traum.embedding import load_model

    model = load_model(str(tiny_model), precision="fp32")
    quiet = []
    for path in CLIPS:
        audio, _ = librosa.load(path, sr=48_000, mono=True)
        quiet.append(model.embed_windows(np.stack([w.features for w in model.prepare(audio * 0.1)]))[0])
    mean = reference.mean(axis=0)
    assert row_cosines(np.array(quiet) - mean, reference - mean).min() < 0.98
