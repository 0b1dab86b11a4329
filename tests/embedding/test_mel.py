import numpy as np
import pytest
from transformers import ClapFeatureExtractor

from tests.helpers import DIRT, EXAMPLES
from traum.audio import load
from traum.embedding.mel import LogMel, repeat_pad

CLIPS = [DIRT / "bd/BT0A0A7.wav", DIRT / "stomp/009_9.wav", DIRT / "pad/angelpads.wav", DIRT / "numbers/0.wav"]


@pytest.fixture(scope="module")
def extractor():
    return ClapFeatureExtractor(truncation="rand_trunc", padding="repeatpad", frequency_min=50, frequency_max=14_000)


def test_torch_front_end_matches_the_reference_extractor(extractor):
    mel = LogMel(extractor, "cpu")
    clips = [load(p).samples for p in CLIPS]
    clips.append(load(EXAMPLES / "198-209-0000.ogg").samples[:480_000])  # exactly one window
    reference = np.stack([extractor(c, sampling_rate=48_000, return_tensors="np")["input_features"][0] for c in clips])
    ours = mel(np.stack([repeat_pad(c, 480_000) for c in clips])).numpy()
    assert ours.shape == reference.shape == (len(clips), 1, 1001, 64)
    # Silence in the padding sits at the floor (-100 dB) in both; elsewhere they agree to ~1e-3 dB.
    assert np.abs(ours - reference).max() < 0.05
    assert np.median(np.abs(ours - reference)) < 1e-3
