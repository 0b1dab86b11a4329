"""traum catalog merge DIR: fold Parquet shards from a cluster run into a catalog."""

from __future__ import annotations

from typing import Annotated

import typer

from traum.cli.console import err, failed, print_json, safe
from traum.cli.options import Db, Json

catalog = typer.Typer(name="catalog", no_args_is_help=True,
                      help="Catalog maintenance: merge shards from a cluster run.")


@catalog.command()
def merge(
    directory: Annotated[str, typer.Argument(help="Folder of Parquet shards from `traum index --shards` (any fsspec "
                                             "path: /mnt/shards, s3://bucket/shards …).", show_default=False)],
    db: Db = None,
    json: Json = False,
) -> None:
    """Fold every shard under DIRECTORY into the catalog. Safe to repeat: a merged row is not written twice."""
    from pathlib import Path

    from traum.catalog import Catalog, shards
    from traum.cli.inputs import require_inputs
    from traum.settings import resolve_db

    shards.require_pyarrow()
    if "://" not in directory:  # a remote folder (s3://…) is only known to be missing once listed
        require_inputs([Path(directory)], files_only=False)
    with Catalog(resolve_db(db)) as target:
        report = shards.merge(target, directory)
    if json:
        print_json(report.to_dict())
    else:
        err.print(f"{report.shards} shards, {report.rows} rows: {report.paths_written} paths and "
                  f"{report.stems_written} samples written, {report.unchanged} already in the catalog", highlight=False)
    for name in report.broken:
        failed(safe(name), "unreadable shard (a worker killed while writing it?); index again to redo its files",
               label="skipped")
    if report.broken:
        raise typer.Exit(1)
