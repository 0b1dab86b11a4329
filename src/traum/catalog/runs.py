"""Indexing runs (table ``runs``): one row per run with its report (counts, per-stage timings, errors),
for ``traum status`` and the server's metrics."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traum.catalog.store import Catalog

log = logging.getLogger(__name__)


def record_run(catalog: Catalog, report: dict[str, Any], *, executor: str = "local") -> int:
    """Store a finished run (``report``: :meth:`IndexReport.to_dict`); its start is its end minus its
    elapsed time. Runs in the caller's transaction when there is one."""
    finished = datetime.now(UTC)
    started = finished - timedelta(seconds=float(report.get("elapsed") or 0.0))
    cursor = catalog.conn.execute(
        "INSERT INTO runs (started_at, finished_at, executor, report) VALUES (?, ?, ?, ?)",
        (started.isoformat(timespec="seconds"), finished.isoformat(timespec="seconds"), executor,
         json.dumps(report, default=str)))
    return int(cursor.lastrowid or 0)


def record_unfinished(catalog: Catalog, report: dict[str, Any], err: BaseException, *, began: bool,
                      executor: str = "local") -> int | None:
    """Store a run that ended early with what it had done (``report``), the reason in its ``interrupted``
    field: Ctrl+C or SIGTERM (a KeyboardInterrupt, its message naming the signal), an exit, or a crash.
    A known error before any work began (a folder that does not exist) was no run. Never raises: the
    interruption is what the user must hear about, and the catalog may be why the run stopped."""
    why = unfinished_reason(err, began=began)
    if why is None:
        return None
    try:
        return record_run(catalog, {**report, "interrupted": why}, executor=executor)
    except Exception:  # a full disk or a locked catalog: the log keeps the run instead
        log.warning("the interrupted run could not be recorded: %s", report, exc_info=True)
        return None


def unfinished_reason(err: BaseException, *, began: bool) -> str | None:
    from traum.errors import TraumError

    if isinstance(err, KeyboardInterrupt):
        return f"interrupted ({str(err) or 'SIGINT'})"
    if isinstance(err, SystemExit):
        return "interrupted (exit)"
    if isinstance(err, TraumError):
        return f"stopped: {err}" if began else None
    return f"crashed: {type(err).__name__}"


def last_runs(catalog: Catalog, limit: int = 5) -> list[dict[str, Any]]:
    """The latest runs, newest first: id, started_at, finished_at, executor and report."""
    rows = catalog.conn.execute("SELECT id, started_at, finished_at, executor, report FROM runs "
                                "ORDER BY id DESC LIMIT ?", (limit,))
    return [{"id": r[0], "started_at": r[1], "finished_at": r[2], "executor": r[3], "report": json.loads(r[4])}
            for r in rows]


def run_totals(catalog: Catalog) -> dict[str, float]:
    """Runs recorded, and files indexed and failed over all of them."""
    row = catalog.conn.execute(
        "SELECT count(*), coalesce(sum(json_extract(report, '$.indexed')), 0), "
        "coalesce(sum(json_extract(report, '$.failed')), 0) FROM runs").fetchone()
    return {"runs": float(row[0]), "indexed": float(row[1]), "failed": float(row[2])}
