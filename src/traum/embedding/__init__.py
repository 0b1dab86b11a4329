"""Turning audio and text into vectors in one shared space.

``base`` defines what the pipeline and search need from any model (so plugins can add others);
``clap`` is the LAION-CLAP implementation through ``transformers``; ``windows`` cuts long audio into
deterministic model windows; ``cache`` keeps vectors by content hash so nothing is inferred twice.
"""

from traum.embedding.base import EmbeddingModel, Window
from traum.embedding.windows import split_windows

__all__ = ["EmbeddingModel", "Window", "load_model", "split_windows"]


def load_model(model: str | None = None, *, device: str = "auto", precision: str = "auto") -> EmbeddingModel:
    """Load the model named by a Hugging Face id or a local directory (default: settings): a plugin's
    when one claims the name (``embedding_models`` hook), else CLAP."""
    from traum.embedding.clap import ClapEmbedder
    from traum.plugins import find_model
    from traum.settings import default_model

    name = model or default_model()
    provider = find_model(name)
    if provider is not None:
        return provider.load(name, device, precision)
    return ClapEmbedder(name, device=device, precision=precision)
