"""traum analyze FILE..."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from traum.cli.console import failed, out, print_json, safe
from traum.cli.options import Json


def analyze(
    files: Annotated[list[Path], typer.Argument(help="Audio files.", show_default=False)],
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Analysis processes.")] = None,
    json: Json = False,
) -> None:
    """Tempo, key, root note, loudness, quality and category of audio files."""
    from traum import api
    from traum.cli.inputs import bad_inputs

    # As grep: a missing input is a usage error (exit 2), yet the files that are there are still analysed.
    code = 2 if bad_inputs(files, files_only=True) else 1
    results = api.analyze(files, workers=workers)
    if json:
        print_json(results)
        if any("error" in r for r in results):
            raise typer.Exit(code)
        return
    from rich.table import Table

    from traum.cli.search import fact_cell

    # A column per fact the plugins gave (--json has them as "facts", as `traum search --json` does).
    facts = sorted({name for r in results for name in r.get("facts", {})})
    table = Table(box=None, header_style="bold")
    for name in ("file", "length", "bpm", "key", "note", "LUFS", "peak", "category", "quality", *facts):
        table.add_column(safe(name), overflow="fold")
    for r in results:
        if "error" in r:
            failed(r["path"], r["error"])
            continue
        table.add_row(safe(Path(r["path"]).name), f"{r['duration']:.2f} s",
                      f"{r['bpm']:g} ({r['tempo_confidence']:.2f})" if r["bpm"] else "",
                      f"{r['key']} {r['mode']}" if r["key"] else "",
                      f"{r['note']} {r['cents']:+.0f}¢" if r["note"] else "",
                      f"{r['loudness_lufs']:.1f}" if r["loudness_lufs"] is not None else "", f"{r['peak_dbfs']:.1f}",
                      f"{r['category']} ({r['category_confidence']:.2f})",
                      "ok" if not r["quality_issues"] else safe(", ".join(r["quality_issues"])),
                      *(fact_cell(r.get("facts", {}).get(name)) for name in facts))
    if table.row_count:
        out.print(table)
    if any("error" in r for r in results):
        raise typer.Exit(code)
