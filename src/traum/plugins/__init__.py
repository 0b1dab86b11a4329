"""Plugins (pluggy, as pytest and Datasette use it): analysers, embedding models, export formats and
commands. Traum's own analysis, CLAP and export formats are registered through the same hooks
(:mod:`.builtin`); third-party plugins load from the ``traum`` entry-point group.

A plugin never stops a run: one that fails to load is left out, one that raises in a hook is skipped
for that call; both are logged with the plugin's name and counted (:func:`errors`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy

from traum.plugins import hookspecs
from traum.plugins.hookspecs import ModelProvider, SourceInfo

if TYPE_CHECKING:
    from traum.plugins.hookspecs import Exporter

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "ModelProvider", "SourceInfo", "describe", "errors", "exporters",
           "find_model", "hookimpl", "manager", "model_providers", "record_error", "register_commands"]

hookimpl = pluggy.HookimplMarker("traum")
#: Entry-point group third-party plugins register under (``[project.entry-points.traum]``).
ENTRY_POINT_GROUP = "traum"
#: The name Traum's own hook implementations are registered under.
BUILTIN = "traum"

log = logging.getLogger(__name__)
_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


@dataclass
class _Loaded:
    #: Plugin name → (distribution, version) for plugins from entry points.
    dists: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: Plugin name → errors (load failures and hook calls that raised) in this process.
    errors: Counter[str] = field(default_factory=Counter)
    #: Entry points that failed to import or register.
    not_loaded: set[str] = field(default_factory=set)


_loaded = _Loaded()


def manager() -> pluggy.PluginManager:
    """This process's plugin manager, built on first use (analysis processes build their own)."""
    global _manager
    with _lock:
        if _manager is None:
            pm = pluggy.PluginManager("traum")
            pm.add_hookspecs(hookspecs)
            from traum.plugins import builtin

            pm.register(builtin, name=BUILTIN)
            _load_entry_points(pm)
            _manager = pm
        return _manager


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as err:  # noqa: BLE001 - a broken plugin is left out, never fatal
            record_error(ep.name, f"not loaded: {type(err).__name__}: {err}")
            _loaded.not_loaded.add(ep.name)
            continue
        if ep.dist is not None:
            _loaded.dists[ep.name] = (ep.dist.name, ep.dist.version)


def record_error(plugin: str, message: str) -> None:
    """Log a plugin's failure with its name and count it."""
    _loaded.errors[plugin] += 1
    log.warning("plugin %s: %s", plugin, message)


def errors() -> dict[str, int]:
    """Plugin name → failures counted in this process."""
    return dict(_loaded.errors)


def call_each(hook_name: str, failures: list[tuple[str, str]] | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
    """(plugin name, result) of every implementation of a hook, each guarded: one that raises is
    logged, counted and left out, and the others still run. With ``failures``, failures are added
    there instead (an analysis process hands them to the run, which logs and counts them)."""
    hook = getattr(manager().hook, hook_name)
    results = []
    for impl in reversed(hook.get_hookimpls()):  # pluggy calls the last registered first; keep load order
        try:
            result = impl.function(*(kwargs[name] for name in impl.argnames))
        except Exception as err:  # a plugin never stops a run (Traum's own errors do)
            if impl.plugin_name == BUILTIN:
                raise
            log.debug("plugin %s failed in %s", impl.plugin_name, hook_name, exc_info=True)
            message = f"{hook_name} failed: {type(err).__name__}: {err}"
            if failures is None:
                record_error(impl.plugin_name, message)
            else:
                failures.append((impl.plugin_name, message))
            continue
        if result is not None:
            results.append((impl.plugin_name, result))
    return results


def model_providers() -> list[tuple[str, ModelProvider]]:
    """(plugin name, provider) of every embedding model family, Traum's CLAP last (it takes any name)."""
    providers = [(plugin, p) for plugin, found in call_each("embedding_models") for p in found]
    return sorted(providers, key=lambda item: item[0] == BUILTIN)


def find_model(name: str) -> ModelProvider | None:
    """The provider for model ``name``: a plugin's when one claims it, else None (CLAP's)."""
    for plugin, provider in model_providers():
        if plugin == BUILTIN:
            continue
        try:
            if provider.handles(name):
                return provider
        except Exception as err:  # noqa: BLE001 - a plugin never stops a run
            record_error(plugin, f"embedding_models handles({name!r}) failed: {err}")
    return None


def exporters() -> dict[str, tuple[str, Exporter]]:
    """Format name → (plugin name, writer); Traum's own formats win a name clash."""
    formats: dict[str, tuple[str, Exporter]] = {}
    for plugin, found in sorted(call_each("exporters"), key=lambda item: item[0] == BUILTIN):
        for name, write in found.items():
            formats[str(name).lower()] = (plugin, write)
    return formats


def register_commands(app: Any) -> None:
    """Let every plugin add its commands to the ``traum`` app."""
    call_each("register_commands", app=app)


def describe() -> list[dict[str, Any]]:
    """What is loaded: name, distribution, version and hooks of each plugin, and its errors."""
    import traum

    pm = manager()
    rows = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        dist, version = _loaded.dists.get(name, ("traum", traum.__version__) if name == BUILTIN else ("", ""))
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
        rows.append({"name": name, "distribution": dist, "version": version, "hooks": hooks,
                     "builtin": name == BUILTIN, "errors": _loaded.errors.get(name, 0)})
    for name in sorted(_loaded.not_loaded):
        rows.append({"name": name, "distribution": "", "version": "", "hooks": [], "builtin": False,
                     "errors": _loaded.errors[name]})
    return rows
