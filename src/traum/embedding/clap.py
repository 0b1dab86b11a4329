"""LAION-CLAP through ``transformers``: HTSAT audio tower + RoBERTa text tower, one 512-d space.

Faithful to the reference path (``ClapProcessor`` features from the model directory's own processor
config → ``ClapModel.get_audio_features``) for clips up to one window; longer audio is windowed
deterministically (see :mod:`traum.embedding.windows`).
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np

from traum.embedding.base import Window, normalise
from traum.embedding.hub import check_hub, check_model_name, unavailable
from traum.embedding.mel import LogMel, repeat_pad
from traum.embedding.windows import split_windows
from traum.errors import ConfigError, ModelNotFound
from traum.settings import PRECISIONS

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda", "mps")


class ClapEmbedder:
    """A loaded CLAP model. ``model`` is a Hugging Face id or a local directory in HF format."""

    def __init__(self, model: str, *, device: str = "auto", precision: str = "auto") -> None:
        import torch

        self.name = model
        self.device = pick_device(device)
        self._towers = _load(model, self.device)
        self._extractor = self._towers.extractor
        self.precision = pick_precision(precision, self.device)
        self.sample_rate = int(self._extractor.sampling_rate)
        self.window_seconds = float(self._extractor.nb_max_samples) / self.sample_rate
        self.dim = int(self._towers.config.projection_dim)
        self.model_id = self._towers.fingerprint(model)
        #: CLAP's learned audio→text temperature (exp of logit_scale_a), for zero-shot probabilities.
        self.logit_scale = self._towers.logit_scale
        self._torch = torch
        # Fused checkpoints take 4-channel input from another filter bank: keep the reference extractor
        # for them. Unfused ones (the default) get the batched torch front end.
        self._mel = None if self._extractor.truncation == "fusion" else LogMel(self._extractor, self.device)
        self._window_samples = int(self._extractor.nb_max_samples)
        self._audio_dtype = None
        if self.precision == "bf16" and self.device == "cpu":
            self._store_audio_tower_in_bf16()

    def _store_audio_tower_in_bf16(self) -> None:
        """On a native-bf16 CPU, hold the audio tower's weights in bf16 and run it without autocast.

        Autocast keeps fp32 weights and casts them, and every activation, on each call: a third of
        the forward pass was copies. Stored bf16 embeds a window in 31 ms instead of 39 (full-size
        HTSAT, two cores) with the same fidelity against fp32 (raw cosine 0.99997, mean-removed
        0.9965 on corpus clips, as autocast). The log-mel front end stays fp32.
        """
        torch = self._torch
        self._towers.audio.audio_model.to(torch.bfloat16)
        self._towers.audio.audio_projection.to(torch.bfloat16)
        self._audio_dtype = torch.bfloat16

    # -- audio ------------------------------------------------------------------------------------

    def prepare(self, samples: np.ndarray) -> list[Window]:
        return [Window(offset, self._features(clip))
                for offset, clip in split_windows(samples, self.sample_rate, window=self.window_seconds)]

    def _features(self, clip: np.ndarray) -> np.ndarray:
        if self._mel is not None:
            return self._pad(clip)
        # One window at a time, never longer than max length: the extractor's random crop and its
        # random "is_longer" pick for fused models are never reached, so features are deterministic.
        out = self._extractor(clip, sampling_rate=self.sample_rate, return_tensors="np")
        return np.asarray(out["input_features"][0], dtype=np.float32)

    def _pad(self, clip: np.ndarray) -> np.ndarray:
        if self._extractor.padding == "repeatpad":
            return repeat_pad(clip, self._window_samples)
        if self._extractor.padding == "repeat":
            return np.tile(clip, self._window_samples // len(clip) + 1)[: self._window_samples].astype(np.float32)
        return np.pad(clip, (0, self._window_samples - len(clip))).astype(np.float32)

    def embed_windows(self, features: np.ndarray) -> np.ndarray:
        """``features``: padded waveforms (n, samples) for the torch front end, or extractor mels."""
        torch = self._torch
        if features.ndim == 2:
            assert self._mel is not None, "waveform input needs the torch front end"
            with torch.inference_mode():
                batch = self._mel(features)
        else:
            batch = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(self.device)
        is_longer = torch.zeros((len(batch), 1), dtype=torch.bool, device=self.device)
        if self._audio_dtype is not None:
            batch = batch.to(self._audio_dtype)
        audio = self._towers.audio
        with torch.inference_mode(), self._autocast() if self._audio_dtype is None else nullcontext():
            # ClapModel.get_audio_features without its F.normalize (``normalise`` does it).
            out = audio.audio_projection(audio.audio_model(input_features=batch, is_longer=is_longer).pooler_output)
        return normalise(out.float().cpu().numpy())

    # -- text -------------------------------------------------------------------------------------

    def embed_text(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        text, tokenizer = self._towers.text()
        tokens = tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt").to(self.device)
        with torch.inference_mode(), self._autocast():
            # ClapModel.get_text_features without its F.normalize.
            out = text.text_projection(text.text_model(**tokens).pooler_output)
        return normalise(out.float().cpu().numpy())

    @property
    def text_tower_loaded(self) -> bool:
        return self._towers.text_loaded

    def _autocast(self):
        if self.precision == "fp32":
            return nullcontext()
        dtype = self._torch.bfloat16 if self.precision == "bf16" else self._torch.float16
        return self._torch.autocast(device_type=self.device.split(":")[0], dtype=dtype)

    def __repr__(self) -> str:
        return f"ClapEmbedder({self.name!r}, device={self.device!r}, precision={self.precision!r})"


def check_device(device: str) -> None:
    """Reject a device name that can never work, without importing torch."""
    if device not in DEVICES and not (device.startswith("cuda:") and device[5:].isdigit()):
        raise ConfigError(f"unknown device {device!r}; choose one of {', '.join(DEVICES)} (or cuda:N)",
                          reason="bad device")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ConfigError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}",
                          reason="bad precision")


def pick_device(device: str) -> str:
    """The torch device for ``device``; a GPU that was asked for but is absent is a configuration error
    (indexing on without embeddings would hide the typo or the missing driver)."""
    import torch

    check_device(device)
    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"--device {device} was asked for, but PyTorch sees no CUDA GPU; use --device auto",
                              reason="no GPU")
        if device == "mps" and not torch.backends.mps.is_available():
            raise ConfigError("--device mps was asked for, but PyTorch sees no Apple GPU; use --device auto",
                              reason="no GPU")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matmuls in hardware. Elsewhere bf16 autocast is emulated and slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return ("avx512_bf16" in flags or "amx_bf16" in flags)


def pick_precision(precision: str, device: str) -> str:
    """``auto``: fp16 on CUDA (bf16 where supported), bf16 on CPUs with native bf16, else fp32.

    bf16 on a native-bf16 CPU keeps CLAP embeddings at raw cosine ≥ 0.999 and mean-removed cosine
    ≥ 0.98 against fp32 (checked by tests/embedding/test_clap_reference.py on the tiny model and by
    benchmarks/index.py on the full-size one).
    """
    from traum.settings import get

    check_precision(precision)
    if precision != "auto":
        return precision
    configured = str(get("precision"))
    if configured != "auto":
        return configured
    if device.startswith("cuda"):
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device == "cpu" and cpu_has_native_bf16():
        return "bf16"
    return "fp32"


def import_libraries() -> None:
    """torch and the transformers classes loading needs: most of a cold start-up, timed on its own."""
    import torch  # noqa: F401
    from transformers import AutoFeatureExtractor, ClapAudioModelWithProjection, ClapConfig  # noqa: F401


def _load(model: str, device: str):
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    check_model_name(model)
    local = Path(model).expanduser()
    if local.is_dir():
        try:
            return _from_pretrained(str(local), device, local_only=True)
        except (OSError, ValueError) as err:
            raise ModelNotFound(f"{local} is not a CLAP model directory in Hugging Face format ({err})",
                                path=str(local), reason="not a model folder") from err
    try:
        return _from_pretrained(model, device, local_only=True)
    except (OSError, ValueError) as err:
        log.debug("%s is not in the Hugging Face cache: %s", model, err)
    check_hub(model)
    try:
        return _from_pretrained(model, device, local_only=False)
    except (OSError, ValueError) as err:
        raise unavailable(model) from err


def _from_pretrained(source: str, device: str, *, local_only: bool) -> Towers:
    from transformers import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(source, local_files_only=local_only)
    return Towers(source, device, local_only, extractor)


class Towers:
    """CLAP's audio tower now, its text tower (RoBERTa, 4/5 of the weights) when text is first embedded.

    Indexing needs text only for the zero-shot prompts, whose vectors are cached per model after the
    first run: loading just ``ClapAudioModelWithProjection`` from the same checkpoint (identical
    weights, checked by tests/embedding/test_text_tower.py) starts in about half the time of the whole
    ``ClapModel``. Checkpoints without a safetensors file are loaded whole, as before.
    """

    def __init__(self, source: str, device: str, local_only: bool, extractor: Any) -> None:
        from transformers import ClapAudioModelWithProjection, ClapConfig, ClapModel

        self.source, self.device, self.local_only, self.extractor = source, device, local_only, extractor
        self._text: Any = None
        self._tokenizer: Any = None
        self.weights = _safetensors_file(source, local_only)
        if self.weights is None:
            clap = ClapModel.from_pretrained(source, local_files_only=local_only).to(device).eval()  # type: ignore[arg-type]
            self.config, self.audio, self._text = clap.config, clap, clap
            self._fingerprint_tensors = _middle_and_ends(list(clap.parameters()))
            self.logit_scale = float(clap.logit_scale_a.detach().exp())
            return
        audio = ClapAudioModelWithProjection.from_pretrained(source, local_files_only=local_only)
        self.audio = audio.to(device).eval()  # type: ignore[arg-type]
        self.config = ClapConfig.from_pretrained(source, local_files_only=local_only)
        # As ClapModel.from_pretrained leaves them, so the fingerprint (and every catalog's model id) is
        # the same as when the whole model was loaded.
        self.config.audio_config.dtype = self.config.text_config.dtype = audio.config.dtype
        self.logit_scale = float(self._tensor("logit_scale_a").exp())
        self._fingerprint_tensors = self._whole_model_fingerprint_tensors()

    def _tensor(self, name: str) -> Any:
        from safetensors import safe_open

        with safe_open(str(self.weights), framework="pt") as fh:
            return fh.get_tensor(name)

    def _whole_model_fingerprint_tensors(self) -> list[Any]:
        """``ClapModel.parameters()``'s first, middle and last tensors: logit_scale_a, then the text tower's
        parameters, then the audio tower's (counted on the meta device: no memory, no weights read)."""
        import torch
        from transformers import ClapTextModelWithProjection

        with torch.device("meta"):
            text_names = [n for n, _ in ClapTextModelWithProjection(self.config.text_config).named_parameters()]
        audio = list(self.audio.parameters())
        middle = (2 + len(text_names) + len(audio)) // 2  # logit_scale_a and logit_scale_t come first
        if middle >= 2 + len(text_names):
            return [self._tensor("logit_scale_a"), audio[middle - 2 - len(text_names)], audio[-1]]
        return [self._tensor("logit_scale_a"), self._tensor(text_names[middle - 2]), audio[-1]]

    @property
    def text_loaded(self) -> bool:
        return self._text is not None

    def text(self) -> tuple[Any, Any]:
        """The text tower and its tokenizer, loaded on first use."""
        from transformers import AutoTokenizer, ClapTextModelWithProjection

        if self._text is None:
            text = ClapTextModelWithProjection.from_pretrained(self.source, local_files_only=self.local_only)
            self._text = text.to(self.device).eval()  # type: ignore[arg-type]
        if self._tokenizer is None:
            self._tokenizer = AutoTokenizer.from_pretrained(self.source, local_files_only=self.local_only)
        return self._text, self._tokenizer

    def fingerprint(self, name: str) -> str:
        """Identity of weights + preprocessing, independent of where the directory lives."""
        digest = hashlib.sha256(self.config.to_json_string().encode())
        digest.update(self.extractor.to_json_string().encode())
        for tensor in self._fingerprint_tensors:
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
        label = Path(name).name if Path(name).expanduser().is_dir() else name
        return f"{label}@{digest.hexdigest()[:16]}"


def _middle_and_ends(params: list[Any]) -> list[Any]:
    return [params[0], params[len(params) // 2], params[-1]]


def _safetensors_file(source: str, local_only: bool) -> Path | None:
    """The checkpoint's single safetensors file (a folder's, or the Hugging Face cache's), else None."""
    local = Path(source).expanduser()
    if local.is_dir():
        path = local / "model.safetensors"
        return path if path.is_file() else None
    try:
        from transformers.utils import cached_file

        found = cached_file(source, "model.safetensors", local_files_only=local_only,
                            _raise_exceptions_for_missing_entries=False)
    except (OSError, ValueError):
        return None
    return Path(found) if found else None


def _fingerprint(name: str, model: Any, extractor: Any) -> str:
    """Identity of a whole ``ClapModel``'s weights + preprocessing (what :meth:`Towers.fingerprint` gives
    without loading the text tower)."""
    digest = hashlib.sha256(model.config.to_json_string().encode())
    digest.update(extractor.to_json_string().encode())
    for tensor in _middle_and_ends(list(model.parameters())):
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    label = Path(name).name if Path(name).expanduser().is_dir() else name
    return f"{label}@{digest.hexdigest()[:16]}"
