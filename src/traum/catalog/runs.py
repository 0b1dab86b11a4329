"""Indexing runs (table ``runs``): one row per run with its report (counts, per-stage timings, errors),
for ``traum status`` and the server's metrics."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from traum.catalog.store import Catalog


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
