"""Is a model there, and where: a folder, the Hugging Face cache or the Hub — found out with
``huggingface_hub`` alone, before torch and transformers are imported (most of a cold start-up)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from traum.errors import ModelNotFound, ModelUnavailable
from traum.settings import DEFAULT_MODEL

log = logging.getLogger(__name__)

#: Seconds to wait for the Hub before going on without the model: offline, the default retries cost ~30 s.
HUB_TIMEOUT = 5.0
#: Models the Hub has answered for in this process: the probe before torch is imported and the load after
#: it would otherwise each ask it (two round trips before a download).
_ON_HUB: set[str] = set()


def probe_model(name: str) -> bool:
    """True when ``name`` can be loaded from disk, False when only the Hub has it; raises
    :class:`ModelUnavailable` when it cannot be loaded (not cached and the Hub is off or unreachable), and
    ModelNotFound for a model folder that does not exist — all without importing torch or transformers:
    finding the Hub unreachable only after importing them cost a names-only search, or an index that goes
    on without embeddings, ~5 s."""
    from huggingface_hub import constants

    check_model_name(name)
    if Path(name).expanduser().is_dir() or _plugin_model(name):
        return True
    if _in_hub_cache(name, Path(constants.HF_HUB_CACHE)):
        return True
    check_hub(name)
    return False


def _in_hub_cache(name: str, cache: Path) -> bool:
    snapshots = cache / ("models--" + name.replace("/", "--")) / "snapshots"
    try:
        return any((snapshot / "config.json").is_file() for snapshot in snapshots.iterdir())
    except OSError:
        return False


def check_hub(model: str) -> None:
    """Ask the Hub about ``model`` once, briefly, through huggingface_hub itself (so HF_HUB_OFFLINE,
    HF_ENDPOINT, proxies and certificates apply as for the download): offline, from_pretrained would
    spend ~30 s on retries before giving up."""
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    if constants.HF_HUB_OFFLINE:
        raise unavailable(model)
    if model in _ON_HUB:
        return
    try:
        huggingface_hub.model_info(model, timeout=HUB_TIMEOUT)
    except GatedRepoError as err:  # exists, needs `hf auth login`: a subclass of "not found", so first
        raise ModelUnavailable(f"{model!r} is a gated model on the Hugging Face Hub: log in with `hf auth login` "
                               "or download it once", reason="gated model") from err
    except RepositoryNotFoundError as err:
        raise ModelNotFound(f"there is no model {model!r} on the Hugging Face Hub (give a Hub id like "
                            f"{DEFAULT_MODEL} or a model folder)", reason="unknown model") from err
    except Exception as err:
        log.info("the Hugging Face Hub is not reachable: %r", err)
        raise unavailable(model) from err
    _ON_HUB.add(model)


def unavailable(model: str) -> ModelUnavailable:
    return ModelUnavailable(
        f"CLAP model {model!r} is not available offline: download it once with "
        f"`hf download {model}` (or copy it to a folder) and pass --model DIR or set TRAUM_MODEL",
        reason="model not available")


def check_model_name(model: str) -> None:
    """Fail early on a model folder that does not exist, or a name nobody knows (cheap: no torch, no
    transformers). A name a plugin claims is the plugin's to check when it loads."""
    if _plugin_model(model):
        return
    if not Path(model).expanduser().is_dir() and _looks_like_path(model):
        raise ModelNotFound(f"model folder {model} does not exist (give a folder in Hugging Face format "
                            "or a Hub id like laion/clap-htsat-unfused)")
    from traum.embedding.models import check_model

    check_model(model)


def _plugin_model(name: str) -> bool:
    from traum.plugins import find_model

    return find_model(name) is not None


def _looks_like_path(model: str) -> bool:
    # Hub ids are "name" or "org/name"; anything else is meant as a folder.
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or (os.sep != "/" and os.sep in model)
