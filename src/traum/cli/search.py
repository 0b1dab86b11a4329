"""traum search TEXT"""

from __future__ import annotations

from typing import Annotated

import typer

from traum.cli.console import notice, out, print_json
from traum.cli.options import Db, Json, Model


def search(
    text: Annotated[str, typer.Argument(help="What you are looking for, e.g. \"dusty vinyl kick\".")],
    db: Db = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, help="How many results.")] = 10,
    model: Model = None,
    json: Json = False,
) -> None:
    """Find samples by describing them."""
    from traum import api

    result = api.search(text, db=db, k=k, model=model)
    if result.notice:
        notice(result.notice)
    if json:
        print_json([h.to_dict() for h in result.hits])
        return
    show_hits(result.hits)


def show_hits(hits) -> None:
    from rich.table import Table

    if not hits:
        out.print("no matches")
        return
    table = Table(box=None, header_style="bold")
    for name, justify in (("#", "right"), ("score", "right"), ("path", "left"), ("duration", "right")):
        # Fold, never ellipsise: the end of a path (the file name) is what matters most.
        table.add_column(name, justify=justify, overflow="fold")
    for hit in hits:
        table.add_row(str(hit.rank), f"{hit.score:.3f}", hit.path,
                      f"{hit.duration:.2f} s" if hit.duration is not None else "")
    out.print(table)
