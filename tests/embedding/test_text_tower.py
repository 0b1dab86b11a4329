"""The text tower loads only when text is embedded: indexing with cached prompt vectors never loads it."""

from __future__ import annotations

import shutil

import numpy as np
import torch
from transformers import AutoFeatureExtractor, AutoTokenizer, ClapModel

from tests.helpers import DIRT
from traum.catalog import Catalog
from traum.embedding.clap import ClapEmbedder, _fingerprint
from traum.pipeline.indexer import IndexJob, IndexOptions
from traum.pipeline.report import NullProgress


def text_parameters(model: ClapEmbedder) -> int:
    return sum(p.numel() for m in (model._towers.audio, model._towers._text) if m is not None
               for name, p in m.named_parameters() if name.startswith("text_"))


def test_the_audio_tower_alone_is_the_whole_models_audio_tower(tiny_model):
    model = ClapEmbedder(str(tiny_model), device="cpu", precision="fp32")
    assert not model.text_tower_loaded and text_parameters(model) == 0
    whole = ClapModel.from_pretrained(str(tiny_model)).eval()
    # Same identity as the whole model (no catalog re-embeds), same weights, same temperature.
    assert model.model_id == _fingerprint(str(tiny_model), whole, AutoFeatureExtractor.from_pretrained(tiny_model))
    ours = dict(model._towers.audio.named_parameters())
    for name, tensor in whole.named_parameters():
        if name.startswith("audio_"):
            assert torch.equal(ours[name], tensor), name
    assert model.logit_scale == float(whole.logit_scale_a.detach().exp())
    texts = ["a kick drum", "a warm analog pad"]
    vectors = model.embed_text(texts)
    assert model.text_tower_loaded and text_parameters(model) > 0
    tokens = AutoTokenizer.from_pretrained(tiny_model)(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        reference = whole.get_text_features(**tokens)
    reference = getattr(reference, "pooler_output", reference).numpy()
    np.testing.assert_allclose(vectors, reference, atol=1e-5)


def index_job(library, db, tiny_model) -> IndexJob:
    with Catalog(db) as catalog:
        job = IndexJob(catalog, IndexOptions(model=str(tiny_model), analyse=False), NullProgress(), None)
        job.run([library])
    return job


def test_indexing_with_cached_prompt_vectors_never_loads_the_text_tower(tmp_path, tiny_model):
    library = tmp_path / "library"
    library.mkdir()
    shutil.copy2(DIRT / "bd" / "BT0A0A7.wav", library / "kick.wav")
    first = index_job(library, tmp_path / "one.db", tiny_model)
    assert first.model is not None and first.model.text_tower_loaded  # the prompts' first time
    second = index_job(library, tmp_path / "two.db", tiny_model)  # cached prompts now
    assert second.report.indexed == 1 and second.model is not None
    assert not second.model.text_tower_loaded and text_parameters(second.model) == 0
