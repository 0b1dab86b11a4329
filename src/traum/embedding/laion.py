"""Convert LAION-CLAP's original checkpoints (``630k-audioset-best.pt`` and kin) to a Hugging Face folder.

The released files are ``{'state_dict': {'module.<name>': tensor}}`` from the ``laion_clap`` training
code (HTSAT audio tower, RoBERTa text tower, two-layer projections). transformers' ClapModel holds the
same weights under other names; the Swin attention keeps query, key and value in one ``qkv`` matrix
there. Everything about the architecture is read from the checkpoint's key names and shapes, so the
four published variants (HTSAT-tiny/-base × fused/unfused) need no table. Nothing is silently left at
its random initialisation: a weight the checkpoint does not provide is an error.

transformers' own conversion script is not in its wheel and downloads the original model from the
Hub; this one needs only the checkpoint and a RoBERTa tokenizer folder.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traum.errors import ConfigError

log = logging.getLogger(__name__)

#: Parts of the original model that are not part of the embedding, dropped on purpose.
_DROPPED_PREFIXES = (
    # The original computes its log-mel inside the model; transformers computes it in the feature
    # extractor, configured with the same STFT and mel parameters (checked against melW below).
    "audio_branch.spectrogram_extractor.", "audio_branch.logmel_extractor.",
    # HTSAT's AudioSet classifier head and the contrastive training MLPs after the projections.
    "audio_branch.tscam_conv.", "audio_branch.head.", "text_transform.", "audio_transform.",
)
#: Buffers both sides rebuild from the configuration.
_REBUILT_SUFFIXES = (".attn_mask", ".relative_position_index", "embeddings.position_ids",
                     "embeddings.token_type_ids")

#: The front end every released HTSAT checkpoint was trained with (laion_clap's model_configs/HTSAT-*.json).
_SAMPLE_RATE, _WINDOW, _HOP, _MELS, _FMIN, _FMAX = 48_000, 1024, 480, 64, 50, 14_000

#: The names transformers gives to the parts of a Swin block.
_BLOCK_RENAMES = (
    (".norm1.", ".layernorm_before."), (".norm2.", ".layernorm_after."),
    (".attn.proj.", ".attention.output.dense."), (".attn.", ".attention.self."),
    (".mlp.fc1.", ".intermediate.dense."), (".mlp.fc2.", ".output.dense."),
)
_AUDIO_VARIANTS = {96: "HTSAT-tiny", 128: "HTSAT-base", 256: "HTSAT-large"}


@dataclass(frozen=True)
class Architecture:
    """What a checkpoint holds, read from its key names and tensor shapes."""

    audio: str
    fused: bool
    embed_dim: int
    depths: list[int]
    heads: list[int]
    projection_dim: int
    text: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return (f"{self.audio} {'fused' if self.fused else 'unfused'}, depths {self.depths}, "
                f"RoBERTa {self.text['num_hidden_layers']} layers, {self.projection_dim}-d")


@dataclass(frozen=True)
class ImportResult:
    out: Path
    architecture: Architecture
    tokenizer_source: str


def import_checkpoint(checkpoint: str | Path, out: str | Path, *, fusion: bool | None = None,
                      tokenizer: str | Path | None = None) -> ImportResult:
    """Convert ``checkpoint`` into a Hugging Face CLAP folder ``out`` that ``--model out`` loads.

    ``fusion`` (when given) is what the user expects; a checkpoint that says otherwise is refused.
    ``tokenizer`` is a folder holding roberta-base's tokenizer (or any Hugging Face CLAP folder);
    without it, one is looked for in the Hugging Face cache, offline.
    """
    from transformers import ClapModel, ClapProcessor

    out = Path(out).expanduser()
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} exists and is not empty: choose a new --out folder", path=str(out),
                          reason="output exists")
    state = read_checkpoint(checkpoint)
    arch = detect_architecture(state)
    if fusion is not None and fusion != arch.fused:
        have, want = ("a fused", "unfused") if arch.fused else ("an unfused", "fused")
        flag = "--fusion" if fusion else "--no-fusion"
        raise ConfigError(f"{checkpoint} is {have} checkpoint, but {flag} asked for {want}: drop the flag",
                          reason="fusion mismatch")
    text_tokenizer, tokenizer_source = _find_tokenizer(tokenizer, vocab_size=arch.text["vocab_size"])
    extractor = feature_extractor(fused=arch.fused)
    _check_front_end(state, extractor)
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # transformers 4
        from transformers.modeling_utils import no_init_weights  # type: ignore[attr-defined,no-redef]

    # Every weight comes from the checkpoint (checked strictly below), so random initialisation would
    # only cost time (8 s for HTSAT-base); buffers are still computed.
    with no_init_weights():
        model = ClapModel(hf_config(arch))
    _load_strict(model, rename_state_dict(state))
    out.mkdir(parents=True, exist_ok=True)
    model.eval().save_pretrained(out)
    ClapProcessor(feature_extractor=extractor, tokenizer=text_tokenizer).save_pretrained(out)
    log.info("imported %s as %s (%s) into %s", checkpoint, arch.describe(), tokenizer_source, out)
    return ImportResult(out, arch, tokenizer_source)


def feature_extractor(*, fused: bool) -> Any:
    """The preprocessing the released checkpoints were trained with: 10 s at 48 kHz, repeat-padded;
    fused ones see a whole-file view and three crops of longer audio."""
    from transformers import ClapFeatureExtractor

    return ClapFeatureExtractor(
        feature_size=_MELS, sampling_rate=_SAMPLE_RATE, hop_length=_HOP, fft_window_size=_WINDOW,
        max_length_s=10, frequency_min=_FMIN, frequency_max=_FMAX, padding="repeatpad",
        truncation="fusion" if fused else "rand_trunc")


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint's tensors, ``module.`` (DistributedDataParallel's prefix) stripped.

    ``weights_only=True``: a checkpoint is data, and a pickle from the internet must not run code.
    """
    import pickle

    import torch

    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError(f"checkpoint {path} does not exist", path=str(path), reason="no checkpoint")
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as err:
        raise ConfigError(f"{path} is not a PyTorch checkpoint of plain tensors ({_first_line(err)})",
                          path=str(path), reason="bad checkpoint") from err
    state = loaded.get("state_dict", loaded) if isinstance(loaded, dict) else None
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ConfigError(f"{path} holds no state_dict of named tensors", path=str(path), reason="bad checkpoint")
    return {key.removeprefix("module."): value for key, value in state.items()
            if key.removeprefix("module.") != "text_branch.embeddings.position_ids"}


def detect_architecture(state: dict[str, Any]) -> Architecture:
    """HTSAT-tiny or -base, fused or not, and the RoBERTa text tower's size, from names and shapes."""
    if "audio_branch.patch_embed.proj.weight" not in state or "text_branch.embeddings.word_embeddings.weight" \
            not in state:
        hint = " (a PANN audio tower: only HTSAT checkpoints convert)" if any(
            k.startswith("audio_branch.conv_block") for k in state) else ""
        raise ConfigError(f"not a LAION-CLAP HTSAT + RoBERTa checkpoint{hint}", reason="unknown checkpoint")
    embed_dim = int(state["audio_branch.patch_embed.proj.weight"].shape[0])
    layers = sorted({int(m.group(1)) for k in state if (m := re.match(r"audio_branch\.layers\.(\d+)\.", k))})
    depths = [len({m.group(1) for k in state
                   if (m := re.match(rf"audio_branch\.layers\.{i}\.blocks\.(\d+)\.", k))}) for i in layers]
    heads = [int(state[f"audio_branch.layers.{i}.blocks.0.attn.relative_position_bias_table"].shape[1])
             for i in layers]
    fused = any(k.startswith(("audio_branch.patch_embed.fusion_model.", "audio_branch.patch_embed.mel_conv2d."))
                for k in state)
    return Architecture(audio=_AUDIO_VARIANTS.get(embed_dim, f"HTSAT-{embed_dim}"), fused=fused,
                        embed_dim=embed_dim, depths=depths, heads=heads,
                        projection_dim=int(state["audio_projection.2.weight"].shape[0]), text=_text_config(state))


def _text_config(state: dict[str, Any]) -> dict[str, Any]:
    words = state["text_branch.embeddings.word_embeddings.weight"]
    layers = {int(m.group(1)) for k in state if (m := re.match(r"text_branch\.encoder\.layer\.(\d+)\.", k))}
    hidden = int(words.shape[1])
    return {
        "vocab_size": int(words.shape[0]), "hidden_size": hidden, "num_hidden_layers": len(layers),
        # Head count is not in any shape: RoBERTa's 64-wide heads (roberta-base: 768 → 12).
        "num_attention_heads": hidden // 64,
        "intermediate_size": int(state["text_branch.encoder.layer.0.intermediate.dense.weight"].shape[0]),
        "max_position_embeddings": int(state["text_branch.embeddings.position_embeddings.weight"].shape[0]),
        "type_vocab_size": int(state["text_branch.embeddings.token_type_embeddings.weight"].shape[0]),
        # The original loads roberta-base, whose layer norms use 1e-5 (ClapTextConfig's default is 1e-12).
        "layer_norm_eps": 1e-5,
    }


def hf_config(arch: Architecture) -> Any:
    from transformers import ClapAudioConfig, ClapConfig, ClapTextConfig

    audio = ClapAudioConfig(
        depths=arch.depths, num_attention_heads=arch.heads, patch_embeds_hidden_size=arch.embed_dim,
        hidden_size=arch.embed_dim * 2 ** (len(arch.depths) - 1), enable_fusion=arch.fused,
        fusion_type="aff_2d" if arch.fused else None, projection_dim=arch.projection_dim,
        num_mel_bins=_MELS)
    text = ClapTextConfig(projection_dim=arch.projection_dim, **arch.text)
    return ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=arch.projection_dim)


def rename_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    """The original names mapped to transformers' ClapModel names; ``qkv`` split into three."""
    renamed: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith(_DROPPED_PREFIXES) or key.endswith(_REBUILT_SUFFIXES):
            continue
        name = _rename(key)
        if name.endswith((".qkv.weight", ".qkv.bias")):
            stem, kind = name.rsplit(".qkv.", 1)
            for part, chunk in zip(("query", "key", "value"), value.chunk(3, dim=0), strict=True):
                renamed[f"{stem}.{part}.{kind}"] = chunk.clone()
        else:
            renamed[name] = value
    return renamed


def _rename(key: str) -> str:
    if key.startswith("text_branch."):
        return "text_model." + key.removeprefix("text_branch.")
    if key.startswith(("text_projection.", "audio_projection.")):
        # nn.Sequential(Linear, ReLU, Linear) → ClapProjectionLayer(linear1, activation, linear2)
        return re.sub(r"_projection\.(\d)\.", lambda m: f"_projection.linear{1 if m.group(1) == '0' else 2}.", key)
    if key.startswith("audio_branch."):
        name = "audio_model.audio_encoder." + key.removeprefix("audio_branch.")
        name = name.replace(".bn0.", ".batch_norm.")
        if ".blocks." in name:
            for old, new in _BLOCK_RENAMES:
                name = name.replace(old, new)
        return name
    return key


def _load_strict(model: Any, state: dict[str, Any]) -> None:
    """Every weight of ``model`` must come from the checkpoint and every tensor of the checkpoint must
    land somewhere; only buffers rebuilt from the configuration may be left as they are."""
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches: the architecture was read wrong or the file is odd
        sizes = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
        raise ConfigError(f"the checkpoint's tensors do not fit the detected model ({_some(sizes, 2)})",
                          reason="weights mismatch") from err
    missing = [k for k in result.missing_keys if not k.endswith(_REBUILT_SUFFIXES)]
    unexpected = list(result.unexpected_keys)
    if missing or unexpected:
        parts = ([f"missing {len(missing)}: {_some(missing)}"] if missing else []) + \
                ([f"unexpected {len(unexpected)}: {_some(unexpected)}"] if unexpected else [])
        raise ConfigError("the checkpoint does not match the model it looks like (" + "; ".join(parts) + ")",
                          reason="weights mismatch")


def _check_front_end(state: dict[str, Any], extractor: Any) -> None:
    """The checkpoint's own mel filter bank must be the one the feature extractor will use, else the
    embeddings would silently drift (a checkpoint trained with another fmax or bin count)."""
    import numpy as np

    mel = state.get("audio_branch.logmel_extractor.melW")
    if mel is None:
        return
    theirs = mel.float().numpy()
    ours = extractor.mel_filters_slaney
    if theirs.shape != ours.shape or not np.allclose(theirs, ours, atol=1e-5):
        raise ConfigError(f"the checkpoint's mel front end ({theirs.shape[1]} bins) is not LAION-CLAP's "
                          f"{_FMIN}–{_FMAX} Hz, {_MELS}-bin one: it cannot be converted faithfully",
                          reason="other front end")


def _find_tokenizer(folder: str | Path | None, *, vocab_size: int) -> tuple[Any, str]:
    """roberta-base's tokenizer, from ``folder`` or, offline, from the Hugging Face cache."""
    from transformers import AutoTokenizer

    from traum.embedding.models import KNOWN_MODELS

    found: Any
    if folder is not None:
        path = Path(folder).expanduser()
        try:
            found = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as err:
            raise ConfigError(f"--tokenizer {path} holds no tokenizer ({_first_line(err)})", path=str(path),
                              reason="no tokenizer") from err
        source = str(path)
    else:
        found, source = None, ""
        for name in ("FacebookAI/roberta-base", "roberta-base", *(m.name for m in KNOWN_MODELS)):
            try:
                found = AutoTokenizer.from_pretrained(name, local_files_only=True)
            except (OSError, ValueError):
                continue
            source = f"{name} (Hugging Face cache)"
            break
        if found is None:
            raise ConfigError("no RoBERTa tokenizer available offline: pass --tokenizer DIR, a folder with "
                              "roberta-base's tokenizer (`hf download FacebookAI/roberta-base --local-dir DIR`) "
                              "or any Hugging Face CLAP model folder", reason="no tokenizer")
    if len(found) > vocab_size:
        raise ConfigError(f"the tokenizer from {source} has {len(found)} tokens, the checkpoint's text tower "
                          f"{vocab_size}: it is not the tokenizer this model was trained with",
                          reason="wrong tokenizer")
    return found, source


def _some(names: list[str], limit: int = 6) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
