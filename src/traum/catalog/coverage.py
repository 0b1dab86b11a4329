"""How many model windows each embedded stem has (table ``stem_windows``), so a run with a larger window
budget (``traum index --windows all``) knows which stems an earlier, budgeted run sampled."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from traum.catalog.paths import from_db

if TYPE_CHECKING:
    from traum.catalog.store import Catalog


class Coverage(NamedTuple):
    stem_id: str
    #: A present path of the stem.
    path: str
    duration: float
    #: Windows embedded (1 when the stem has no window rows: one window, kept as the stem's vector).
    windows: int
    last_offset: float


def window_coverage(catalog: Catalog, model_id: str, longer_than: float) -> list[Coverage]:
    """Stems embedded by ``model_id``, longer than ``longer_than`` seconds, with a present path."""
    rows = catalog.conn.execute(
        "SELECT s.id, min(p.file_path), s.duration, "
        "(SELECT count(*) FROM stem_windows w WHERE w.stem_id = s.id), "
        "(SELECT coalesce(max(w.offset), 0.0) FROM stem_windows w WHERE w.stem_id = s.id) "
        "FROM stems s JOIN processing_status p ON p.file_hash = s.id "
        "WHERE p.status = 'indexed' AND s.embedding_model = ? AND s.clap_embedding IS NOT NULL "
        "AND s.duration > ? GROUP BY s.id", (model_id, longer_than))
    return [Coverage(r[0], from_db(r[1]), float(r[2]), max(1, int(r[3])), float(r[4])) for r in rows]
