"""Traum: find sounds in your own sample library by description, example and musical facts.

The public Python API mirrors the CLI::

    import traum
    traum.index(["~/Samples"])
    hits = traum.search("dusty vinyl kick", k=10)

Everything is imported lazily so that ``import traum`` (and ``traum --help``) stays instant.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {"analyze", "index", "search", "similar", "duplicates", "embed", "embed_text", "status", "export", "Catalog", "TraumError"}
__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str) -> Any:
    if name in {"Catalog"}:
        from traum.catalog import Catalog

        return Catalog
    if name == "TraumError":
        from traum.errors import TraumError

        return TraumError
    if name in _API:
        from traum import api

        return getattr(api, name)
    raise AttributeError(f"module 'traum' has no attribute {name!r}")
