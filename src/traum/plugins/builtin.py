"""Traum's own analysis, CLAP model and export formats, registered through the plugin hooks like any
third-party plugin (under the name ``traum``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from traum.plugins import hookimpl
from traum.plugins.hookspecs import Exporter, ModelProvider, SourceInfo

if TYPE_CHECKING:
    import numpy as np

    from traum.catalog.store import Catalog
    from traum.embedding.base import EmbeddingModel


@hookimpl
def analyze_file(samples: np.ndarray, rate: int, path: str, source: SourceInfo) -> dict[str, Any]:
    """Tempo, key, note, loudness, quality, category and descriptors (:func:`traum.analysis.analyse`).
    The run stores these in the catalog's own columns; other plugins' facts go to ``stem_facts``."""
    from traum.analysis import analyse

    return analyse(samples, rate, path=path, source_rate=source.source_rate, bit_depth=source.bit_depth,
                   truncated=source.truncated, whole=source.whole)


def _load_clap(name: str, device: str, precision: str) -> EmbeddingModel:
    from traum.embedding.clap import ClapEmbedder

    return ClapEmbedder(name, device=device, precision=precision)


@hookimpl
def embedding_models() -> list[ModelProvider]:
    return [ModelProvider("clap", handles=lambda _name: True, load=_load_clap,
                          description="LAION-CLAP through transformers: a Hugging Face id or a local folder")]


def _exporter(format: str) -> Exporter:
    def write(catalog: Catalog, out: Path) -> int:
        from traum.catalog.export import export_embeddings

        return export_embeddings(catalog, Path(out), format)

    return write


@hookimpl
def exporters() -> dict[str, Exporter]:
    from traum.catalog.export import FORMATS

    return {name: _exporter(name) for name in FORMATS}
