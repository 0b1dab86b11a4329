"""The hooks a Traum plugin may implement (pluggy hook specifications).

Every hook here is documented in docs/plugins.md (a test checks it). Implement a hook by decorating a
function of the same name with :data:`traum.plugins.hookimpl`; a plugin may take only the arguments it
needs, in any order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import numpy as np

    from traum.analysis.stream import WholeFile
    from traum.embedding.base import EmbeddingModel

hookspec = pluggy.HookspecMarker("traum")


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What the decoder knows about the file beyond its samples (for analysers that care)."""

    source_rate: int | None = None
    bit_depth: int | None = None
    #: The decode stopped early (a damaged file): the samples are a prefix.
    truncated: bool = False
    #: A long file streamed block by block: ``samples`` is its head, this measured all of it.
    whole: WholeFile | None = None


@dataclass(frozen=True, slots=True)
class ModelProvider:
    """An embedding model family a plugin offers: ``load(name, device, precision)`` gives an
    :class:`~traum.embedding.base.EmbeddingModel` for every name ``handles(name)`` accepts."""

    name: str
    handles: Callable[[str], bool]
    load: Callable[[str, str, str], EmbeddingModel]
    description: str = ""


#: An export format: writes the catalog's embeddings to ``out``, returns how many entries it wrote.
Exporter = Callable[[Any, Any], int]


@hookspec
def analyze_file(samples: np.ndarray, rate: int, path: str, source: SourceInfo) -> dict[str, Any] | None:
    """Facts about one audio file, stored with its sample and searchable with ``--fact``.

    ``samples``: mono float32 in [-1, 1] at the file's native ``rate`` (Hz); ``path``: the file (its
    name is evidence too). Return ``{fact name: JSON value}``, or None. A list under the name
    ``"tags"`` adds search words to the sample. Runs in the analysis processes, once per new content.
    """


@hookspec
def embedding_models() -> list[ModelProvider]:
    """Embedding model families behind the same interface as CLAP (``--model NAME``)."""
    raise NotImplementedError  # a specification: pluggy calls the implementations, never this


@hookspec
def exporters() -> dict[str, Exporter]:
    """Extra ``traum export --format NAME`` formats: ``{name: write(catalog, out) -> count}``."""
    raise NotImplementedError


@hookspec
def register_commands(app: Any) -> None:
    """Add commands to the ``traum`` Typer ``app`` (``app.command()(function)``)."""
