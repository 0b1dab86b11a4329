"""Traum: find sounds in your own sample library by description, example and musical facts.

The public Python API mirrors the CLI::

    import traum
    traum.index(["~/Samples"])
    hits = traum.search("dusty vinyl kick", k=10)

Everything is imported lazily so that ``import traum`` (and ``traum --help``) stays instant.

``traum.search`` is both the search function and the ``traum.search`` subpackage: importing a
subpackage binds its name on the parent package, which would replace the function by a module
(``TypeError: 'module' object is not callable``). So when the import system binds a subpackage whose
name is also an API function, the module is made callable: it runs the function, and its submodules
(``traum.search.engine``) stay reachable as before, whatever the import order.
"""

from __future__ import annotations

import sys
import types
from typing import Any

#: The single source of the version (pyproject.toml reads it; the web app reports it).
__version__ = "0.1.0"

_FUNCTIONS = {"analyze", "index", "search", "similar", "duplicates", "embed", "embed_text", "status", "export",
              "export_kit"}
_API = _FUNCTIONS | {"Catalog", "TraumError"}
__all__ = [*sorted(_API), "__version__"]


class _CallableModule(types.ModuleType):
    """A subpackage that is also an API function of the same name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from traum import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS and isinstance(value, types.ModuleType) and type(value) is types.ModuleType:
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    if name == "Catalog":
        from traum.catalog import Catalog

        return Catalog
    if name == "TraumError":
        from traum.errors import TraumError

        return TraumError
    if name in _FUNCTIONS:
        from traum import api

        # api imports the subpackages; one that shares the name is now bound here, callable.
        return globals().get(name) or getattr(api, name)
    raise AttributeError(f"module 'traum' has no attribute {name!r}")
