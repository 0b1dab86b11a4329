"""traum plugins"""

from __future__ import annotations

from traum.cli.console import out, print_json, safe
from traum.cli.options import Json


def plugins(json: Json = False) -> None:
    """The plugins loaded (Traum's own and those installed): name, version and the hooks each implements."""
    from traum.plugins import describe

    rows = describe()
    if json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for name in ("plugin", "distribution", "version", "hooks", "errors"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(safe(row["name"]), safe(row["distribution"]), safe(row["version"]),
                      safe(", ".join(row["hooks"]) or "not loaded"), str(row["errors"] or ""))
    out.print(table)
