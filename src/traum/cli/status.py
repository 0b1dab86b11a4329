"""traum status"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from traum.cli.console import out, print_json, safe
from traum.cli.options import Db, Json


def status(db: Db = None,
           runs: Annotated[int, typer.Option("--runs", min=0, max=100, help="How many recent runs to show.")] = 5,
           json: Json = False) -> None:
    """What is in the catalog: files by status, the model, where it lives, the last runs' timings and errors."""
    from traum import api

    info = api.status(db=db, runs=runs)
    if json:
        print_json(info)
        return
    counts = info["counts"]
    out.print(f"catalog   {safe(info['catalog'])} ({info['catalog_bytes'] / 1e6:.1f} MB)", highlight=False)
    out.print("files     " + ", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)
    out.print(f"samples   {info['stems']} distinct, {info['embedded']} embedded", highlight=False)
    model = info["model"] or {}
    out.print(f"model     {safe(model.get('name', '—'))} {safe('(' + model['id'] + ')') if model.get('id') else ''}",
              highlight=False)
    run = info["last_run"]
    if run:
        out.print(f"last run  {run['elapsed']:.1f} s, {run['files_per_second']} files/s, "
                  f"peak {run['peak_rss_mb']:.0f} MB, error rate {run['error_rate']:.1%}", highlight=False)
    if info["runs"]:
        _runs_table(info["runs"])


def _runs_table(runs: list[dict[str, Any]]) -> None:
    """One row per run: when, how many files, the error rate and seconds per stage (summed over threads)."""
    from rich.table import Table

    stages = list(dict.fromkeys(s for r in runs for s in r["report"].get("stage_seconds", {})))
    table = Table(box=None, header_style="bold", title="recent runs (stage seconds summed over threads)",
                  title_justify="left")
    for name in ("started", "ended", "files", "failed", "errors", "elapsed", *stages):
        table.add_column(name, justify="left" if name in ("started", "ended") else "right")
    for run in runs:
        report = run["report"]
        done = sum(report.get(k, 0) for k in ("indexed", "linked", "skipped", "failed"))
        files = f"{done} of {report['planned']}" if report.get("interrupted") and report.get("planned") else str(done)
        table.add_row(run["started_at"].replace("T", " ")[:19], safe(report.get("interrupted") or "done"),
                      files, str(report.get("failed", 0)),
                      f"{report.get('error_rate', 0):.1%}", f"{report.get('elapsed', 0):.1f}",
                      *(f"{report.get('stage_seconds', {}).get(s, 0):.1f}" for s in stages))
    out.print(table)
