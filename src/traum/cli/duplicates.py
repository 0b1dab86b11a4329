"""traum duplicates"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from traum.cli.console import out, print_json, safe
from traum.cli.options import Db, Json


def duplicates(
    db: Db = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.5, max=1.0,
                                                       help="Cosine for near-duplicates (default 0.98).")] = None,
    json: Json = False,
) -> None:
    """List exact duplicates (same bytes) and near-duplicates (same sound, other encoding or gain)."""
    from traum import api

    groups = api.duplicates(db=db, threshold=threshold)
    if json:
        print_json(groups)
        return
    for kind in ("exact", "near"):
        out.print(f"[bold]{kind} duplicates[/]: {len(groups[kind])} groups")
        for group in groups[kind]:
            out.print("  " + "\n  ".join(safe(p) for p in group) + "\n", highlight=False)
