"""Which CLAP models Traum knows, and which of them this machine can load without the network.

Cheap on purpose (no torch, no transformers): ``traum model list`` and the check of ``--model`` run
before any model loads.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from traum.errors import ConfigError, ModelNotFound
from traum.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from traum.catalog.store import Catalog
    from traum.embedding.base import EmbeddingModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownModel:
    name: str
    size: str
    good_for: str
    #: The LAION release file it was converted from (importable with `traum model import`).
    checkpoint: str


KNOWN_MODELS = (
    KnownModel("laion/clap-htsat-unfused", "600 MB", "general sounds and effects; the default, fastest",
               "630k-audioset-best.pt"),
    KnownModel("laion/clap-htsat-fused", "600 MB", "long recordings (fuses a whole-file view with three crops)",
               "630k-audioset-fusion-best.pt"),
    KnownModel("laion/larger_clap_music", "780 MB", "music: loops, instruments, genres (HTSAT-base)",
               "music_audioset_epoch_15_esc_90.14.pt"),
    KnownModel("laion/larger_clap_music_and_speech", "780 MB", "music plus vocals and speech (HTSAT-base)",
               "music_speech_epoch_15_esc_89.25.pt"),
    KnownModel("laion/larger_clap_general", "780 MB", "everything: effects, music and speech (HTSAT-base)",
               "music_speech_audioset_epoch_15_esc_89.98.pt"),
)
_KNOWN = {m.name: m for m in KNOWN_MODELS}


@dataclass(frozen=True)
class ModelEntry:
    """One line of ``traum model list``."""

    name: str
    size_bytes: int | None
    good_for: str
    offline: bool
    source: str  # "known", "hf-cache" or "folder"
    path: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "size_bytes": self.size_bytes, "good_for": self.good_for,
                "offline": self.offline, "source": self.source, "path": self.path,
                "default": self.name == DEFAULT_MODEL}


def models_dir() -> Path:
    """Where `traum model import` puts folders by default: the user data folder's ``models``."""
    import platformdirs

    from traum.settings import APP_NAME

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "models"


def list_models() -> list[ModelEntry]:
    """Known Hub models (marked offline when cached), other CLAP models in the HF cache, imported folders."""
    cached = _cached_clap_models()
    entries = [ModelEntry(m.name, cached.get(m.name, (None, None))[0], m.good_for, m.name in cached, "known",
                          cached.get(m.name, (None, None))[1])
               for m in KNOWN_MODELS]
    entries += [ModelEntry(name, size, "CLAP model in the Hugging Face cache", True, "hf-cache", path)
                for name, (size, path) in sorted(cached.items()) if name not in _KNOWN]
    entries += [ModelEntry(str(folder), _folder_size(folder), _describe_folder(folder), True, "folder", str(folder))
                for folder in _model_folders(models_dir())]
    return entries


def check_model(model: str) -> None:
    """Refuse a ``--model`` that is neither a folder, a known id, nor a CLAP model in the local HF cache.

    An unknown Hub id ("laion/clap-htsat-unfussed") would otherwise cost a round trip to the Hub, or
    fail only after the catalog was opened; the message lists what can be used.
    """
    if model in _KNOWN or Path(model).expanduser().is_dir() or model in _cached_clap_models():
        return
    names = ", ".join(e.name + ("" if e.offline else " (download first)") for e in list_models())
    raise ModelNotFound(f"unknown model {model!r}: use one of {names}; a folder made by `traum model import`; "
                        "or another Hugging Face CLAP model after `hf download ID`", reason="unknown model")


def is_clap_folder(folder: Path) -> bool:
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("model_type") == "clap"


def _model_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and is_clap_folder(p))


def _folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def _describe_folder(folder: Path) -> str:
    config = json.loads((folder / "config.json").read_text())
    audio = config.get("audio_config", {})
    width = audio.get("patch_embeds_hidden_size", 96)
    variant = {96: "HTSAT-tiny", 128: "HTSAT-base"}.get(width, f"HTSAT-{width}")
    return f"local folder, {variant}{', fused' if audio.get('enable_fusion') else ''}"


def _cached_clap_models() -> dict[str, tuple[int, str]]:
    """CLAP repos in the Hugging Face cache: name → (bytes on disk, snapshot folder). Offline, no network."""
    from huggingface_hub import constants, scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        # Named here: scan_cache_dir's default is a copy taken when its module was first imported.
        cache = scan_cache_dir(constants.HF_HUB_CACHE)
    except (CacheNotFound, OSError) as err:
        log.debug("no Hugging Face cache: %s", err)
        return {}
    found: dict[str, tuple[int, str]] = {}
    for repo in cache.repos:
        if repo.repo_type != "model":
            continue
        for revision in sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True):
            if is_clap_folder(revision.snapshot_path):
                found[repo.repo_id] = (repo.size_on_disk, str(revision.snapshot_path))
                break
    return found


def check_catalog_model(catalog: Catalog, model: EmbeddingModel, embedded: dict[str, int] | None = None) -> None:
    """Refuse a text search whose model shares no vectors with the catalog: cosines between two CLAP
    spaces mean nothing, so the results would be noise. A catalog partly embedded with ``model`` is
    searched as before (its other samples are left out with a notice). ``embedded``: the catalog's
    :meth:`~traum.catalog.Catalog.embedding_models`, when the caller has read them already."""
    embedded = catalog.embedding_models() if embedded is None else embedded
    if not embedded or model.model_id in embedded:
        return
    stored = catalog.get_meta("model") or {}
    main = max(embedded, key=lambda m: embedded[m])
    name = stored.get("name") if stored.get("id") == main else main.split("@")[0]
    raise ConfigError(f"this catalog was embedded with {name} ({main}), not {model.name}: search it with "
                      f"--model {name}, or re-index it with --model {model.name} to search with that model",
                      reason="other model")
