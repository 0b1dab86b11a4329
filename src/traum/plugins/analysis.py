"""Analysis of one file through every ``analyze_file`` hook: Traum's own facts for the catalog
columns, every other plugin's facts for ``stem_facts``. Runs in the analysis processes."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from traum.catalog.facts import PLUGIN_FACTS
from traum.plugins import BUILTIN, call_each
from traum.plugins.hookspecs import SourceInfo

if TYPE_CHECKING:
    import numpy as np

    from traum.analysis.stream import WholeFile

#: The fact name whose list adds search words (tags) to the sample instead of a fact.
TAGS = "tags"
#: Key that carries plugin failures from the analysis process back to the run.
PLUGIN_ERRORS = "plugin_errors"


@dataclass
class Analysis:
    core: dict[str, Any]
    #: Fact name → (JSON value, plugin name).
    facts: dict[str, tuple[Any, str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    #: (plugin name, what failed).
    errors: list[tuple[str, str]] = field(default_factory=list)


def analyse_with_plugins(samples: np.ndarray, rate: int, path: str, source: SourceInfo | None = None) -> Analysis:
    """Every analyser on ``samples``; Traum's own errors raise (as :func:`traum.analysis.analyse` does),
    a plugin's are collected in :attr:`Analysis.errors` and the others still run."""
    from traum.analysis import valid_samples

    samples, rate = valid_samples(samples, rate)
    errors: list[tuple[str, str]] = []
    results = call_each("analyze_file", failures=errors, samples=samples, rate=rate, path=path,
                        source=source or SourceInfo())
    analysis = Analysis(core={}, errors=errors)
    for plugin, result in results:
        if plugin == BUILTIN:
            analysis.core = result
            continue
        _collect(analysis, plugin, result)
    return analysis


def _collect(analysis: Analysis, plugin: str, result: Any) -> None:
    if not isinstance(result, dict):
        analysis.errors.append((plugin, f"analyze_file returned {type(result).__name__}, not a dict"))
        return
    for name, value in result.items():
        if name == TAGS:
            if isinstance(value, (list, tuple)) and all(isinstance(t, str) for t in value):
                analysis.tags += [t for t in value if t.strip()]
            else:
                analysis.errors.append((plugin, "analyze_file: 'tags' must be a list of words"))
            continue
        try:
            analysis.facts[str(name)] = (to_json_value(value), plugin)
        except (TypeError, ValueError) as err:
            analysis.errors.append((plugin, f"analyze_file: fact {name!r}: {err}"))


def to_json_value(value: Any) -> Any:
    """A plain JSON value (numpy scalars and arrays unwrapped); NaN and infinity are refused."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a finite number")
    return json.loads(json.dumps(value, allow_nan=False))


def analyse_for_catalog(samples: np.ndarray, rate: int, path: str, source_rate: int | None, bit_depth: int | None,
                        truncated: bool, whole: WholeFile | None = None) -> dict[str, Any]:
    """The catalog columns, plus plugin facts (:data:`PLUGIN_FACTS`) and failures (:data:`PLUGIN_ERRORS`);
    a top-level function so a process pool can run it."""
    from traum.analysis import catalog_facts

    analysis = analyse_with_plugins(samples, rate, path, SourceInfo(source_rate, bit_depth, truncated, whole))
    facts = catalog_facts(analysis.core)
    facts["tags"] = list(dict.fromkeys([*facts["tags"], *analysis.tags]))
    facts[PLUGIN_FACTS] = analysis.facts
    facts[PLUGIN_ERRORS] = analysis.errors
    return facts


def analyse_path_with_plugins(path: str) -> dict[str, Any]:
    """``traum analyze``'s answer for one file: Traum's facts, plus ``facts`` (every plugin fact by name)
    and ``plugin_errors`` when a plugin failed."""
    from traum.analysis import analyse_path
    from traum.plugins import record_error

    captured: list[Analysis] = []

    def analyser(samples: np.ndarray, rate: int, **kwargs: Any) -> dict[str, Any]:
        source = SourceInfo(kwargs.get("source_rate"), kwargs.get("bit_depth"), kwargs.get("truncated", False),
                            kwargs.get("whole"))
        captured.append(analyse_with_plugins(samples, rate, kwargs.get("path", ""), source))
        return captured[-1].core

    result = analyse_path(path, analyser=analyser)
    analysis = captured[-1]
    for plugin, message in analysis.errors:
        record_error(plugin, f"{path}: {message}")
    result["facts"] = {name: value for name, (value, _plugin) in analysis.facts.items()}
    if analysis.tags:
        result["tags"] = analysis.tags
    if analysis.errors:
        result["plugin_errors"] = [{"plugin": p, "error": m} for p, m in analysis.errors]
    return result
