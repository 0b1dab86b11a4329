"""CLAP zero-shot category: how close a sound's vector lies to a description of each category.

One of the three kinds of category evidence (with names and acoustics, :mod:`traum.analysis.category`).
It only counts when the model is sure: a real CLAP puts most of the probability on one category for a
clear sound, while random weights (the test models) spread it nearly evenly and are ignored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from traum.embedding.base import EmbeddingModel

#: What to say to the text tower for each category, in the phrasing CLAP was trained on.
PROMPTS: dict[str, str] = {
    "kick": "a kick drum", "snare": "a snare drum", "clap": "a hand clap", "hihat": "a hi-hat",
    "cymbal": "a cymbal", "tom": "a tom drum", "percussion": "a percussion instrument",
    "drum-loop": "a drum loop", "bass": "a bass", "synth": "a synthesizer", "pad": "a synth pad",
    "lead": "a synth lead melody", "keys": "a piano", "guitar": "a guitar", "strings": "a string section",
    "brass": "a brass instrument", "vocal": "a singing voice", "speech": "a person speaking",
    "fx": "a sound effect", "synth-fx": "an electronic bleep", "field-recording": "a field recording outdoors",
    "animal": "an animal", "noise": "noise",
}
TEMPLATE = "This is a sound of {}."
#: Below this top probability the model is guessing: no evidence.
MIN_PROBABILITY = 0.4

log = logging.getLogger(__name__)


class ZeroShotCategories:
    """Category probabilities for audio vectors; the prompts' text vectors are computed once."""

    def __init__(self, model: EmbeddingModel, cache_dir: Path | None = None) -> None:
        self.categories = list(PROMPTS)
        self._text = prompt_vectors(model, [TEMPLATE.format(PROMPTS[c]) for c in self.categories], cache_dir)
        # CLAP's learned temperature turns cosines into its own softmax; 100 is CLIP's usual scale.
        self._scale = float(getattr(model, "logit_scale", 100.0))

    def classify(self, vector: np.ndarray) -> tuple[str | None, float]:
        """(category, probability), or (None, probability) when the model is not sure."""
        logits = self._scale * (self._text @ np.asarray(vector, dtype=np.float32))
        probabilities = np.exp(logits - logits.max())
        probabilities /= probabilities.sum()
        best = int(np.argmax(probabilities))
        p = round(float(probabilities[best]), 3)
        return (self.categories[best], p) if p >= MIN_PROBABILITY else (None, p)


def prompt_vectors(model: EmbeddingModel, prompts: list[str], cache_dir: Path | None = None) -> np.ndarray:
    """The prompts' text vectors, from the machine-wide cache when this model has embedded these prompts
    before: the text tower costs seconds of every index start-up otherwise (2.6 s of CPU for the
    full-size model here) for 23 vectors that never change. Keyed by the model's identity (weights and
    preprocessing) and the exact prompts; a missing, stale or unreadable entry is simply recomputed."""
    path = prompt_cache_path(model, prompts, cache_dir)
    if path is not None:
        try:
            cached = np.load(path, allow_pickle=False)
            if cached.shape == (len(prompts), model.dim):
                return np.asarray(cached, dtype=np.float32)
        except (OSError, ValueError):
            pass
    vectors = model.embed_text(prompts)
    if path is not None:
        _save(path, vectors)
    return vectors


def prompt_cache_path(model: EmbeddingModel, prompts: list[str], cache_dir: Path | None = None) -> Path | None:
    if cache_dir is None:
        from traum.settings import cache_dir as configured

        try:
            cache_dir = configured()
        except Exception:  # noqa: BLE001 - no cache folder (odd platform, bad setting): compute each time
            return None
    key = hashlib.sha256(json.dumps([model.model_id, prompts]).encode()).hexdigest()[:32]
    return Path(cache_dir) / "prompt-vectors" / f"{key}.npy"


def _save(path: Path, vectors: np.ndarray) -> None:
    """Written to a temporary file and renamed, so a concurrent run never reads half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, np.asarray(vectors, dtype=np.float32), allow_pickle=False)
        os.replace(tmp, path)
    except OSError as err:
        log.info("cannot cache the prompt vectors in %s: %s", path.parent, err)
