"""Turning audio and text into vectors in one shared space.

``base`` defines what the pipeline and search need from any model (so plugins can add others);
``clap`` is the LAION-CLAP implementation through ``transformers``; ``windows`` cuts long audio into
deterministic model windows; ``cache`` keeps vectors by content hash so nothing is inferred twice.
"""

from traum.embedding.base import EmbeddingModel, Window
from traum.embedding.windows import split_windows

__all__ = ["EmbeddingModel", "Window", "load_model", "split_windows"]


def load_model(model: str | None = None, *, device: str = "auto", precision: str = "auto") -> EmbeddingModel:
    """Load the CLAP model named by a Hugging Face id or a local directory (default: settings)."""
    from traum.embedding.clap import ClapEmbedder
    from traum.settings import default_model

    return ClapEmbedder(model or default_model(), device=device, precision=precision)
