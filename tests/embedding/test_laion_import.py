"""`traum model import` against the original LAION-CLAP implementation, not only against itself.

The `laion-clap` package (PyPI, CC0) builds its own CLAP with random weights for each combination LAION
released (HTSAT-tiny unfused and fused, HTSAT-base unfused), and saves each like the released checkpoints
(tests/embedding/laion_side.py, in a process of its own). Each checkpoint is converted and loaded by
Traum; the same inputs must give the same embeddings on both sides:

- unfused: the same 10 s waveforms, each side with its own preprocessing (laion_clap's torchlibrosa
  log-mel inside the model; Traum's torch front end from the converted folder's processor config);
- fused: identical input features on both sides (transformers' extractor output), because the
  original's fused log-mel is made by torchaudio in its training data code; short clips through
  Traum's embedder, clips longer than 10 s (whole view + three crops, is_longer) through the model;
- text: the same sentences through the same tokenizer (laion pads to 77 tokens, Traum to the longest).

laion-clap pins numpy < 2 and pulls wandb, so it is installed without dependencies into a folder of
its own, with the few packages its model code really imports. If that install fails, the tests fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import librosa
import numpy as np
import pytest

from tests.helpers import DIRT, EXAMPLES, REPO

#: What laion_clap's model code imports beyond Traum's own dependencies (licences: CC0-1.0, MIT, Apache-2.0,
#: MIT, BSD-3-Clause). Pinned: this is a reference, it must not move under the test.
LAION_PACKAGES = ["laion-clap==1.1.7", "torchlibrosa==0.1.0", "ftfy==6.3.1", "wcwidth==0.9.4", "h5py==3.16.0"]
SITE = REPO / ".pytest_cache" / "laion-clap-site"

CLIPS = [DIRT / "pad" / "alien-monolith-pad.wav", DIRT / "numbers" / "1.wav", DIRT / "bd" / "BT0A0D0.wav",
         DIRT / "birds" / "000_1.wav"]
LONG_CLIPS = [EXAMPLES / "198-209-0000.ogg", EXAMPLES / "147793__setuniman__sweet-waltz-0i-22mi.ogg",
              DIRT / "pad" / "alien-monolith-pad.wav"]
TEXTS = ["dusty vinyl kick drum", "bright analog pad in F minor", "spoken word vocal", "birds and rain",
         "deep sub bass 808 with a punchy transient"]
WINDOW = 480_000


def install_laion_clap() -> Path:
    stamp = SITE / ("installed-" + "-".join(LAION_PACKAGES))
    if stamp.exists():
        return SITE
    result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade",
                             "--target", str(SITE), *LAION_PACKAGES], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"cannot install the reference implementation {LAION_PACKAGES}: {result.stderr[-2000:]}")
    stamp.touch()
    return SITE


def load_window(path: Path) -> np.ndarray:
    """Exactly one 10 s window at 48 kHz (tiled like both sides' repeat-padding), so neither side pads."""
    audio, _ = librosa.load(path, sr=48_000, mono=True)
    return np.resize(audio, WINDOW).astype(np.float32)


@pytest.fixture(scope="module")
def laion(tmp_path_factory):
    """Checkpoints in LAION's format and the original implementation's embeddings of the inputs."""
    from traum.embedding.laion import feature_extractor
    from traum.testing import _train_tokenizer

    site = install_laion_clap()
    work = tmp_path_factory.mktemp("laion")
    _train_tokenizer(vocab_size=400).save_pretrained(work / "tokenizer")
    extractor = feature_extractor(fused=True)
    waveforms = np.stack([load_window(p) for p in CLIPS])
    np.random.seed(0)  # the extractor picks the fused crops at random; both sides get the same ones
    long_audio = [librosa.load(p, sr=48_000, mono=True)[0] for p in LONG_CLIPS]
    assert all(len(a) > WINDOW for a in long_audio)
    np.savez(work / "inputs.npz", waveforms=waveforms, texts=np.array(TEXTS),
             fusion_short=extractor(list(waveforms), sampling_rate=48_000, return_tensors="np")["input_features"],
             fusion_long=extractor(long_audio, sampling_rate=48_000, return_tensors="np")["input_features"])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, str(Path(__file__).with_name("laion_side.py")), str(site), str(work)],
                            capture_output=True, text=True, env=env)
    if result.returncode != 0:
        pytest.fail(f"the original implementation failed: {result.stderr[-3000:]}")
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["base", "tiny", "tiny-fused"]
    return work


def row_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def assert_same_space(ours: np.ndarray, theirs: np.ndarray, what: str) -> tuple[float, float]:
    """Raw cosine ≥ 0.999 and, since random weights map everything close together, cosine of the
    deviations from the original's mean ≥ 0.98."""
    assert ours.shape == theirs.shape
    raw = row_cosines(ours, theirs).min()
    mean = theirs.mean(axis=0)
    centred = row_cosines(ours - mean, theirs - mean).min()
    print(f"{what}: raw {raw:.6f}, mean-removed {centred:.5f}")
    assert raw >= 0.999, what
    assert centred >= 0.98, what
    return float(raw), float(centred)


@pytest.mark.parametrize("variant", ["tiny", "tiny-fused", "base"])
def test_converted_checkpoint_matches_the_original(laion, variant, tmp_path):
    import torch

    from traum.embedding.clap import ClapEmbedder
    from traum.embedding.laion import import_checkpoint

    result = import_checkpoint(laion / f"{variant}.pt", tmp_path / variant, tokenizer=laion / "tokenizer")
    assert result.architecture.audio == ("HTSAT-base" if variant.startswith("base") else "HTSAT-tiny")
    assert result.architecture.fused == variant.endswith("fused")
    theirs = dict(np.load(laion / f"{variant}.npz"))
    inputs = dict(np.load(laion / "inputs.npz"))
    model = ClapEmbedder(str(tmp_path / variant), device="cpu", precision="fp32")

    assert_same_space(model.embed_text(TEXTS), theirs["text"], f"{variant} text")
    if not result.architecture.fused:
        ours = np.concatenate([model.embed_windows(np.stack([w.features for w in model.prepare(wave)]))
                               for wave in inputs["waveforms"]])
        assert_same_space(ours, theirs["audio"], f"{variant} audio")
        return
    short = model.embed_windows(inputs["fusion_short"])
    assert_same_space(short, theirs["audio_short"], f"{variant} audio ≤ 10 s")
    # Longer than a window: the fusion layers (attention fusion of the crops) take part.
    with torch.inference_mode():
        features = torch.from_numpy(inputs["fusion_long"])
        audio = model._towers.audio
        pooled = audio.audio_model(input_features=features,
                                   is_longer=torch.ones((len(features), 1), dtype=torch.bool)).pooler_output
        out = audio.audio_projection(pooled)
    long = torch.nn.functional.normalize(out, dim=-1).numpy()
    assert_same_space(long, theirs["audio_long"], f"{variant} audio > 10 s")


def test_cli_import_gives_a_folder_traum_uses(laion, tmp_path):
    from tests.cli.conftest import traum

    out = tmp_path / "clap"
    info = json.loads(traum("model", "import", laion / "tiny-fused.pt", "--out", out, "--tokenizer",
                            laion / "tokenizer", "--json").stdout)
    assert info["audio"] == "HTSAT-tiny" and info["fused"] and info["tokenizer"] == str(laion / "tokenizer")
    texts = json.loads(traum("embed", "--text", TEXTS[0], "--text", TEXTS[3], "--model", out, "--json").stdout)
    expected = np.load(laion / "tiny-fused.npz")["text"]
    assert row_cosines(np.array([t["embedding"] for t in texts]), expected[[0, 3]]).min() >= 0.999
    assert "laion/clap-htsat-unfused" in traum("model", "list").stdout


@pytest.fixture(scope="module")
def broken(laion, tmp_path_factory):
    """Variants of the tiny checkpoint: one weight missing, one tensor too many (read only, so written once:
    each is as large as the checkpoint)."""
    import torch

    folder = tmp_path_factory.mktemp("broken")
    saved = torch.load(laion / "tiny.pt", weights_only=True)
    state = saved["state_dict"]
    lacking = {k: v for k, v in state.items() if k != "module.audio_branch.layers.2.blocks.3.mlp.fc1.weight"}
    torch.save({"state_dict": lacking}, folder / "lacking.pt")
    torch.save({"state_dict": {**state, "module.audio_branch.extra.weight": torch.zeros(3)}}, folder / "extra.pt")
    (folder / "notes.pt").write_text("not a checkpoint")
    return folder


@pytest.mark.parametrize("checkpoint, flags, message", [
    ("lacking.pt", [], "missing 1: audio_model.audio_encoder.layers.2.blocks.3.intermediate.dense.weight)"),
    ("extra.pt", [], "unexpected 1: audio_model.audio_encoder.extra.weight)"),
    ("notes.pt", [], "is not a PyTorch checkpoint of plain tensors"),
    ("{laion}/tiny.pt", ["--fusion"], "is an unfused checkpoint, but --fusion asked for fused"),
    ("{laion}/tiny-fused.pt", ["--no-fusion"], "is a fused checkpoint, but --no-fusion asked for unfused"),
    ("{laion}/tiny.pt", ["--no-tokenizer"], "no RoBERTa tokenizer available offline: pass --tokenizer DIR"),
])
def test_import_refuses_with_one_line(laion, broken, checkpoint, flags, message, tmp_path, monkeypatch):
    from huggingface_hub import constants

    from tests.cli.conftest import run_traum

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hf-cache"))
    path = checkpoint.format(laion=laion) if "{" in checkpoint else broken / checkpoint
    tokenizer = [] if "--no-tokenizer" in flags else ["--tokenizer", laion / "tokenizer"]
    flags = [f for f in flags if f != "--no-tokenizer"]
    result = run_traum("model", "import", path, "--out", tmp_path / "out", *flags, *tokenizer)
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "out").exists()
