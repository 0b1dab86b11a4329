"""The producer's named collections of samples (tables from migration 4), in the order items were added.

Names are unique regardless of case ("Kicks" and "kicks" are one collection). A forgotten stem leaves
its collections by itself (ON DELETE CASCADE).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from traum.catalog.store import Catalog, now
from traum.errors import NotFound, QueryError

#: Longest collection name; a name is also a folder name on kit export.
MAX_NAME = 80


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    name: str
    size: int
    created_at: str


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > MAX_NAME or "/" in cleaned or "\\" in cleaned:
        # A name is also a URL path segment and a kit's folder name: no slashes.
        raise QueryError(f"a collection name needs 1–{MAX_NAME} characters and no slash, not {name!r}")
    return cleaned


def create(catalog: Catalog, name: str) -> CollectionInfo:
    """The collection of this name, made empty if it does not exist yet."""
    name = clean_name(name)
    with catalog.transaction() as conn:
        conn.execute("INSERT INTO collections(name, created_at) VALUES (?, ?) ON CONFLICT(name) DO NOTHING",
                     (name, now()))
    return info(catalog, name)


def info(catalog: Catalog, name: str) -> CollectionInfo:
    row = catalog.conn.execute(
        "SELECT c.name, count(i.stem_id), c.created_at FROM collections c LEFT JOIN collection_items i "
        "ON i.collection_id = c.id WHERE c.name = ? GROUP BY c.id", (name,)).fetchone()
    if row is None:
        raise NotFound(f"no collection named {name!r}; `traum collection list` shows them")
    return CollectionInfo(row[0], row[1], row[2])


def all_collections(catalog: Catalog) -> list[CollectionInfo]:
    rows = catalog.conn.execute(
        "SELECT c.name, count(i.stem_id), c.created_at FROM collections c LEFT JOIN collection_items i "
        "ON i.collection_id = c.id GROUP BY c.id ORDER BY c.name COLLATE NOCASE")
    return [CollectionInfo(*row) for row in rows]


def add(catalog: Catalog, name: str, stem_ids: Iterable[str]) -> int:
    """Append stems (those not in it yet) to the collection, creating it if needed; how many were added."""
    name = clean_name(name)
    create(catalog, name)
    with catalog.transaction() as conn:
        collection_id, = conn.execute("SELECT id FROM collections WHERE name = ?", (name,)).fetchone()
        last, = conn.execute("SELECT coalesce(max(position), 0) FROM collection_items WHERE collection_id = ?",
                             (collection_id,)).fetchone()
        added = 0
        for stem_id in dict.fromkeys(stem_ids):
            cursor = conn.execute(
                "INSERT INTO collection_items(collection_id, stem_id, position, added_at) "
                "SELECT ?, id, ?, ? FROM stems WHERE id = ? ON CONFLICT DO NOTHING",
                (collection_id, last + added + 1, now(), stem_id))
            added += cursor.rowcount
    return added


def remove(catalog: Catalog, name: str, stem_ids: Iterable[str]) -> int:
    info(catalog, name)
    with catalog.transaction() as conn:
        removed = 0
        for stem_id in dict.fromkeys(stem_ids):
            removed += conn.execute(
                "DELETE FROM collection_items WHERE stem_id = ? AND collection_id = "
                "(SELECT id FROM collections WHERE name = ?)", (stem_id, name)).rowcount
    return removed


def delete(catalog: Catalog, name: str) -> None:
    info(catalog, name)
    with catalog.transaction() as conn:
        conn.execute("DELETE FROM collections WHERE name = ?", (name,))


def members(catalog: Catalog, name: str) -> list[str]:
    """Stem ids in the order they were added."""
    info(catalog, name)
    rows = catalog.conn.execute(
        "SELECT i.stem_id FROM collection_items i JOIN collections c ON c.id = i.collection_id "
        "WHERE c.name = ? ORDER BY i.position", (name,))
    return [r[0] for r in rows]


def of_stems(catalog: Catalog, stem_ids: Iterable[str]) -> dict[str, list[str]]:
    """Names of the collections each stem is in (stems in none are left out)."""
    ids = list(stem_ids)
    out: dict[str, list[str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = catalog.conn.execute(
            "SELECT i.stem_id, c.name FROM collection_items i JOIN collections c ON c.id = i.collection_id "
            f"WHERE i.stem_id IN ({','.join('?' * len(chunk))}) ORDER BY c.name COLLATE NOCASE", chunk)
        for stem_id, name in rows:
            out.setdefault(stem_id, []).append(name)
    return out
