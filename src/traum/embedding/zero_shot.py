"""CLAP zero-shot category: how close a sound's vector lies to a description of each category.

One of the three kinds of category evidence (with names and acoustics, :mod:`traum.analysis.category`).
It only counts when the model is sure: a real CLAP puts most of the probability on one category for a
clear sound, while random weights (the test models) spread it nearly evenly and are ignored.
"""

from __future__ import annotations

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


class ZeroShotCategories:
    """Category probabilities for audio vectors; the prompts' text vectors are computed once."""

    def __init__(self, model: EmbeddingModel) -> None:
        self.categories = list(PROMPTS)
        self._text = model.embed_text([TEMPLATE.format(PROMPTS[c]) for c in self.categories])
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
