"""traum collection create|add|remove|list|delete: the producer's named sets of samples."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any, Optional

import typer

from traum.cli.console import err, out, print_json, safe
from traum.cli.options import Db, Json

collection = typer.Typer(name="collection", no_args_is_help=True, help="Named collections of samples.")
Name = Annotated[str, typer.Argument(help="Collection name (case does not matter).")]
Samples = Annotated[list[str], typer.Argument(help="Catalogued samples: paths, ids or id prefixes (8+ hex).")]


def _open(db):
    from traum.catalog import Catalog
    from traum.settings import resolve_db

    return Catalog(resolve_db(db))


def resolve(catalog, target: str) -> str:
    """The stem id a path, id or id prefix names; NotFound when none or several."""
    from traum.catalog import StemFilter
    from traum.errors import NotFound

    if re.fullmatch(r"[0-9a-fA-F]{8,64}", target):
        ids = catalog.select_ids(StemFilter(id_prefix=target.lower()))
        if len(ids) == 1:
            return ids[0]
        if len(ids) > 1:
            raise NotFound(f"{target} is the start of {len(ids)} ids; give more of it")
    found = catalog.stem_by_path(os.path.abspath(os.path.expanduser(target)))
    if found is None:
        raise NotFound(f"{safe(target)} is not a catalogued sample; `traum index` its folder first")
    return found


@collection.command()
def create(name: Name, db: Db = None) -> None:
    """Make an empty collection (nothing happens if it exists)."""
    from traum.catalog import collections

    with _open(db) as catalog:
        made = collections.create(catalog, name)
    err.print(f"collection {safe(made.name)}: {made.size} samples", highlight=False)


@collection.command()
def add(name: Name, samples: Samples, db: Db = None) -> None:
    """Add samples to a collection (made if new); samples already in it keep their place."""
    from traum.catalog import collections

    with _open(db) as catalog:
        ids = [resolve(catalog, s) for s in samples]
        added = collections.add(catalog, name, ids)
        info = collections.info(catalog, collections.clean_name(name))
    err.print(f"added {added} to {safe(info.name)} ({info.size} samples)", highlight=False)


@collection.command()
def remove(name: Name, samples: Samples, db: Db = None) -> None:
    """Take samples out of a collection."""
    from traum.catalog import collections

    with _open(db) as catalog:
        removed = collections.remove(catalog, name, [resolve(catalog, s) for s in samples])
    err.print(f"removed {removed} from {safe(name)}", highlight=False)


@collection.command("list")
def list_(name: Annotated[Optional[str], typer.Argument(help="A collection: list its samples.")] = None,
          db: Db = None, json: Json = False) -> None:
    """All collections with their sizes, or the samples of one."""
    from traum.catalog import collections

    rows: list[dict[str, Any]]
    with _open(db) as catalog:
        if name is None:
            rows = [{"name": c.name, "size": c.size, "created_at": c.created_at}
                    for c in collections.all_collections(catalog)]
        else:
            ids = collections.members(catalog, name)
            stems = {s["id"]: s for s in catalog.stems(ids)}
            rows = [{"id": i, "path": stems[i]["path"]} for i in ids if i in stems]
    if json:
        print_json(rows)
    elif name is None:
        for row in rows:
            out.print(f"{safe(row['name'])}\t{row['size']}", highlight=False)
    else:
        for row in rows:
            out.print(f"{row['id'][:12]}\t{safe(row['path'])}", highlight=False)


@collection.command()
def delete(name: Name, db: Db = None) -> None:
    """Delete a collection (its samples stay in the catalog)."""
    from traum.catalog import collections

    with _open(db) as catalog:
        collections.delete(catalog, name)
    err.print(f"deleted collection {safe(name)}", highlight=False)
