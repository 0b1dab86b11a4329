"""The original LAION-CLAP implementation's side of tests/embedding/test_laion_import.py, run in its own process.

``python laion_side.py SITE WORK`` builds laion_clap's own CLAP for each variant with random weights,
saves it as the released checkpoints are saved (``{'state_dict': {'module.' + name: tensor}}``), and
writes the original code's audio and text embeddings of ``WORK/inputs.npz`` to ``WORK/<variant>.npz``.

A process of its own because laion_clap is imported as the top-level ``clap_module`` (as its own
``hook.py`` does, which would pull the training data stack in) next to a stand-in for torchvision:
neither belongs in the test process.
"""

from __future__ import annotations

import json
import os
import sys
import types
from pathlib import Path

#: The combinations LAION released (630k-*: tiny, with and without fusion; music_*: base without). A fused
#: base exists in no release, and its parts (base width, fusion layers) are each covered here.
VARIANTS = {"tiny": ("HTSAT-tiny", False), "tiny-fused": ("HTSAT-tiny", True), "base": ("HTSAT-base", False)}


def stand_in_torchvision() -> None:
    """clap_module imports torchvision for image towers and a frozen-batch-norm helper the audio and
    text towers never call. PyPI's torchvision wheel is built against CUDA torch and fails to load next
    to the CPU build, so these names stand in; calling one fails loudly."""
    def unused(*_args, **_kwargs):
        raise RuntimeError("torchvision stand-in called: the test harness is wrong")

    modules = {name: types.ModuleType(name) for name in
               ("torchvision", "torchvision.ops", "torchvision.ops.misc", "torchvision.transforms")}
    modules["torchvision.ops.misc"].FrozenBatchNorm2d = unused  # type: ignore[attr-defined]
    for name in ("Normalize", "Compose", "RandomResizedCrop", "InterpolationMode", "ToTensor", "Resize", "CenterCrop"):
        setattr(modules["torchvision.transforms"], name, unused)
    sys.modules.update(modules)


def local_roberta(work: Path, vocab_size: int) -> None:
    """The text branch calls ``RobertaModel.from_pretrained('roberta-base')``; transformers takes a
    folder of that name in the working directory first. roberta-base's shape where the original code
    depends on it (768 wide: its projection is hard-wired to 768 inputs; one type id; 1e-5 layer norm),
    with fewer layers and a small vocabulary to keep the test quick."""
    from transformers import RobertaConfig, RobertaModel

    os.chdir(work)
    if not Path("roberta-base").is_dir():
        config = RobertaConfig(vocab_size=vocab_size, hidden_size=768, num_hidden_layers=2, num_attention_heads=12,
                               intermediate_size=512, max_position_embeddings=80, type_vocab_size=1,
                               layer_norm_eps=1e-5, pad_token_id=1, bos_token_id=0, eos_token_id=2)
        RobertaModel(config).save_pretrained("roberta-base")


def perturb(model) -> None:
    """Move every weight and statistic off its initial value (layer norms at 1/0, batch-norm statistics at
    0/1 would hide a swapped or unconverted tensor); the fixed STFT and mel front end stays."""
    import torch

    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point() or "_extractor." in name or name.endswith("attn_mask"):
                continue
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 1.5)
            else:
                tensor.add_(torch.randn_like(tensor) * 0.05)


def build(variant: str, seed: int):
    import torch
    from clap_module import create_model

    amodel, fused = VARIANTS[variant]
    torch.manual_seed(seed)
    extra = {"enable_fusion": True, "fusion_type": "aff_2d"} if fused else {}  # as laion_clap's CLAP_Module
    model, _ = create_model(amodel, "roberta", precision="fp32", device=torch.device("cpu"), **extra)
    perturb(model)
    return model.eval()


def save_like_release(model, path: Path) -> None:
    import torch

    state = {"module." + name: tensor for name, tensor in model.state_dict().items()}
    # The released files predate transformers 4.31 and carry this buffer; the converter must drop it.
    positions = model.text_branch.embeddings.position_embeddings.weight.shape[0]
    state["module.text_branch.embeddings.position_ids"] = torch.arange(positions).expand((1, -1))
    torch.save({"epoch": 15, "state_dict": state}, path)


def embed(model, inputs, tokenizer, fused: bool) -> dict:
    import numpy as np
    import torch

    out = {}
    with torch.no_grad():
        if fused:
            # Identical input features on both sides (see the test): the fused model's own log-mel comes
            # from torchaudio inside laion_clap's training data code, transformers' from its extractor.
            for kind, longer in (("short", False), ("long", True)):
                mels = torch.from_numpy(inputs[f"fusion_{kind}"])
                batch = [{"mel_fusion": m, "longer": torch.tensor([longer])} for m in mels]
                out[f"audio_{kind}"] = model.get_audio_embedding(batch).numpy()
        else:
            batch = [{"waveform": torch.from_numpy(w)} for w in inputs["waveforms"]]
            out["audio"] = model.get_audio_embedding(batch).numpy()
        texts = [str(t) for t in inputs["texts"]]
        # laion_clap's CLAP_Module.tokenizer: padded to 77 tokens.
        tokens = tokenizer(texts, padding="max_length", truncation=True, max_length=77, return_tensors="pt")
        out["text"] = model.get_text_embedding(dict(tokens)).numpy()
    return {k: np.asarray(v, dtype=np.float32) for k, v in out.items()}


def main(site: str, work_dir: str) -> None:
    import numpy as np

    sys.path[:0] = [site, os.path.join(site, "laion_clap")]
    stand_in_torchvision()
    from transformers import AutoTokenizer

    work = Path(work_dir)
    inputs = dict(np.load(work / "inputs.npz"))
    tokenizer = AutoTokenizer.from_pretrained(str(work / "tokenizer"))
    local_roberta(work, len(tokenizer))
    for seed, variant in enumerate(VARIANTS):
        model = build(variant, seed)
        save_like_release(model, work / f"{variant}.pt")
        np.savez(work / f"{variant}.npz", **embed(model, inputs, tokenizer, VARIANTS[variant][1]))
        del model
    print(json.dumps(sorted(VARIANTS)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
