"""Planning a run: what is on disk, and what each file needs (everything, only an embedding, or nothing)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from traum.audio import Found, Unreadable, discover
from traum.catalog import Catalog, FileState
from traum.embedding.base import EmbeddingModel
from traum.pipeline.report import IndexReport

log = logging.getLogger(__name__)

#: A failed file is retried by later runs only if its error looked transient, this many times.
MAX_RUN_RETRIES = 3


@dataclass(frozen=True, slots=True)
class Task:
    found: Found
    state: FileState | None
    #: "full": new or changed file; "embed": catalogued, only the embedding is missing.
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
                  found: dict[str, Found]) -> list[Task]:
    """Stems embedded by another model (or never) whose files are otherwise unchanged."""
    if model is None:
        return []
    tasks = []
    for _stem_id, path in catalog.pending_stems(model.model_id):
        if path not in planned and path in found:
            tasks.append(Task(found[path], catalog.file_state(path), "embed"))
    return tasks


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
