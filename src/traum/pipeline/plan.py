"""Planning a run: what is on disk, and what each file needs (everything, only an embedding, or nothing)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from traum.audio import Found, Unreadable, discover
from traum.catalog import Catalog, FileState
from traum.catalog.coverage import Coverage, window_coverage
from traum.embedding.base import EmbeddingModel
from traum.embedding.windows import WINDOW_SECONDS, needs_more_windows
from traum.pipeline.report import IndexReport

log = logging.getLogger(__name__)

#: A failed file is retried by later runs only if its error looked transient, this many times.
MAX_RUN_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Task:
    found: Found
    state: FileState | None
    #: "full": new or changed file; "embed": catalogued, only the embedding is missing; "windows":
    #: embedded with fewer windows than this run's budget asks for (re-embedded, not re-analysed).
    kind: str


def discover_files(roots: list[str], report: IndexReport) -> list[Found]:
    found = []
    for item in discover(roots):
        if isinstance(item, Unreadable):
            log.warning("cannot read %s: %s", item.path, item.reason, extra={"console": False})  # in the summary
            report.unreadable.append((item.path, item.reason))
        else:
            found.append(item)
    report.files_seen = len(found)
    return found


def plan_tasks(found: Iterable[Found], catalog: Catalog, report: IndexReport) -> list[Task]:
    tasks = []
    for f in found:
        state = catalog.file_state(f.path)
        kind = task_kind(f, state)
        if kind is None:
            report.unchanged += 1
        else:
            tasks.append(Task(f, state, kind))
    return tasks


def reembed_tasks(catalog: Catalog, model: EmbeddingModel | None, planned: set[str],
                  found: dict[str, Found], max_windows: int | None = None) -> list[Task]:
    """Stems embedded by another model (or never), or with fewer windows than ``max_windows`` asks for
    (None: every window), whose files are otherwise unchanged."""
    if model is None:
        return []
    tasks = []
    for _stem_id, path in catalog.pending_stems(model.model_id):
        if path not in planned and path in found:
            tasks.append(Task(found[path], catalog.file_state(path), "embed"))
            planned = planned | {path}
    for stem in sampled_stems(catalog, model, max_windows):
        if stem.path not in planned and stem.path in found:
            tasks.append(Task(found[stem.path], catalog.file_state(stem.path), "windows"))
    return tasks


def sampled_stems(catalog: Catalog, model: EmbeddingModel, max_windows: int | None) -> list[Coverage]:
    """Stems of ``model`` embedded with fewer windows than ``max_windows`` gives their length: what a
    budgeted run left for ``--windows all`` (or a larger budget) to fill in."""
    window = float(getattr(model, "window_seconds", WINDOW_SECONDS))
    return [c for c in window_coverage(catalog, model.model_id, window)
            if needs_more_windows(c.duration, c.windows, c.last_offset, max_windows, window)]


def task_kind(f: Found, state: FileState | None) -> str | None:
    if state is None or state.status == "missing":
        return "full"
    unchanged = state.file_size == f.size and state.mtime_ns == f.mtime_ns
    if not unchanged:
        return "full"
    if state.status == "pending":
        return "embed"
    if state.status == "failed" and state.checkpoint.get("permission"):
        return "full"  # fixed with chmod, which leaves size and mtime alone; a denied open costs nothing
    if state.status == "failed" and state.checkpoint.get("transient") and state.retry_count < MAX_RUN_RETRIES:
        return "full"
    return None
