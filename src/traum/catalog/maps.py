"""The sample map's coordinates (table ``map_points``, migration 4): one 2-D point per stem and model.

A map is a layout of one model's vectors, so points are kept per model. ``layout`` numbers the fit
that placed a point: points placed later into an existing fit keep its number, a refit starts a new
one and replaces every point of that model."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from traum.catalog.store import _PRESENT_SQL, Catalog, from_blob


@dataclass(frozen=True)
class MapPoint:
    stem_id: str
    x: float
    y: float
    category: str | None


def points(catalog: Catalog, model: str) -> list[MapPoint]:
    """Every present sample's point on the model's map."""
    rows = catalog.conn.execute(
        f"SELECT s.id, m.x, m.y, s.category FROM map_points m JOIN stems s ON s.id = m.stem_id "
        f"WHERE m.model = ? AND {_PRESENT_SQL} ORDER BY s.rowid", (model,))
    return [MapPoint(r[0], r[1], r[2], r[3]) for r in rows]


def unplaced_count(catalog: Catalog, model: str) -> tuple[int, int]:
    """(present samples embedded by the model but not on its map, present samples embedded by it): a
    cheap look whether the map needs work before any vector is read."""
    row = catalog.conn.execute(
        f"SELECT count(*) - count(m.stem_id), count(*) FROM stems s LEFT JOIN map_points m "
        f"ON m.stem_id = s.id AND m.model = ? WHERE s.embedding_model = ? AND s.clap_embedding IS NOT NULL "
        f"AND {_PRESENT_SQL}", (model, model)).fetchone()
    return int(row[0]), int(row[1])


def current_layout(catalog: Catalog, model: str) -> tuple[int, int]:
    """(layout number, points placed by that fit itself) of the model's map; (0, 0) when there is none.
    Points placed afterwards share the number; the fit's own count is in meta."""
    row = catalog.conn.execute("SELECT max(layout) FROM map_points WHERE model = ?", (model,)).fetchone()
    layout = int(row[0] or 0)
    fitted = int(catalog.get_meta(f"map_fitted:{model}:{layout}", 0)) if layout else 0
    return layout, fitted


def placed_vectors(catalog: Catalog, model: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Ids, file vectors and coordinates of the present stems already on the model's map."""
    rows = catalog.conn.execute(
        f"SELECT s.id, s.clap_embedding, m.x, m.y FROM map_points m JOIN stems s ON s.id = m.stem_id "
        f"WHERE m.model = ? AND s.embedding_model = ? AND s.clap_embedding IS NOT NULL AND {_PRESENT_SQL} "
        "ORDER BY s.rowid", (model, model))
    return _unzip(rows)


def unplaced_vectors(catalog: Catalog, model: str) -> tuple[list[str], np.ndarray]:
    """Ids and file vectors of present stems embedded by the model but not yet on its map."""
    rows = catalog.conn.execute(
        f"SELECT s.id, s.clap_embedding FROM stems s WHERE s.embedding_model = ? AND s.clap_embedding IS NOT NULL "
        f"AND {_PRESENT_SQL} AND NOT EXISTS (SELECT 1 FROM map_points m WHERE m.stem_id = s.id AND m.model = ?) "
        "ORDER BY s.rowid", (model, model))
    ids, vectors = [], []
    for stem_id, blob in rows:
        ids.append(stem_id)
        vectors.append(from_blob(blob))
    return ids, (np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32))


def replace_layout(catalog: Catalog, model: str, ids: list[str], coords: np.ndarray) -> int:
    """A new fit: every point of the model replaced; returns the new layout number."""
    with catalog.transaction() as conn:
        layout = int(conn.execute("SELECT coalesce(max(layout), 0) + 1 FROM map_points WHERE model = ?",
                                  (model,)).fetchone()[0])
        conn.execute("DELETE FROM map_points WHERE model = ?", (model,))
        _insert(conn, model, ids, coords, layout)
        catalog.set_meta(f"map_fitted:{model}:{layout}", len(ids))
    return layout


def add_points(catalog: Catalog, model: str, ids: list[str], coords: np.ndarray, layout: int) -> None:
    """Points placed into an existing fit."""
    with catalog.transaction() as conn:
        _insert(conn, model, ids, coords, layout)


def _insert(conn: sqlite3.Connection, model: str, ids: list[str], coords: np.ndarray, layout: int) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO map_points (stem_id, model, x, y, layout) VALUES (?, ?, ?, ?, ?)",
        [(stem_id, model, float(x), float(y), layout) for stem_id, (x, y) in zip(ids, coords, strict=True)])


def _unzip(rows: Iterable[tuple[str, bytes, float, float]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    ids, vectors, coords = [], [], []
    for stem_id, blob, x, y in rows:
        ids.append(stem_id)
        vectors.append(from_blob(blob))
        coords.append((x, y))
    if not ids:
        return [], np.zeros((0, 0), dtype=np.float32), np.zeros((0, 2))
    return ids, np.vstack(vectors), np.asarray(coords, dtype=np.float64)
