"""traum export"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from traum.cli.console import err, safe
from traum.cli.options import Db


def export(
    output: Annotated[Path, typer.Option("--out", help="File to write.", show_default=False)],
    format: Annotated[Optional[str], typer.Option(
        "--format", help="pkl (the seed's embeddings.pkl), npy, parquet or a plugin's format; default: from the "
                         "--out suffix.")] = None,
    db: Db = None,
) -> None:
    """Export embeddings for use elsewhere."""
    from traum import api
    from traum.errors import ConfigError

    if output.is_dir():
        raise ConfigError(f"--out {output} is a folder; name the file to write, e.g. {output / 'embeddings.npy'}")
    n = api.export(output, format=format, db=db)
    err.print(f"wrote {n} embeddings to {safe(output)}", highlight=False)
