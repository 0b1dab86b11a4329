"""The sample map: a layout that keeps neighbours together, kept in the catalog and grown in place."""

from __future__ import annotations

import shutil

import numpy as np

from tests.helpers import DIRT
from traum.catalog import Catalog, maps
from traum.pipeline import IndexOptions, run_index
from traum.search import layout


def _clusters(rng: np.random.Generator, per: int, centres: np.ndarray) -> np.ndarray:
    points = np.repeat(centres, per, axis=0) + rng.normal(scale=0.35, size=(per * len(centres), centres.shape[1]))
    return (points / np.linalg.norm(points, axis=1, keepdims=True)).astype(np.float32)


def test_the_layout_keeps_sounds_that_are_alike_together_and_places_newcomers_among_them():
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(4, 64))
    vectors = _clusters(rng, 60, centres)
    coords = layout.fit(vectors)
    assert coords.shape == (240, 2) and np.abs(coords).max() <= 1.0
    labels = np.repeat(np.arange(4), 60)
    middles = np.array([coords[labels == c].mean(axis=0) for c in range(4)])
    spread = np.mean([np.linalg.norm(coords[labels == c] - middles[c], axis=1).mean() for c in range(4)])
    apart = min(np.linalg.norm(middles[a] - middles[b]) for a in range(4) for b in range(a + 1, 4))
    assert apart > 2 * spread
    newcomers = _clusters(rng, 5, centres)
    placed = layout.place(newcomers, vectors, coords)
    nearest_middle = np.linalg.norm(placed[:, None, :] - middles[None], axis=2).argmin(axis=1)
    assert list(nearest_middle) == list(np.repeat(np.arange(4), 5))
    assert np.array_equal(layout.fit(vectors), coords)  # the same catalog gives the same map


def _index(library, db, model):
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(model=str(model)))


def test_new_samples_are_placed_without_moving_the_others_until_a_refit(library, db, tiny_model):
    _index(library, db, tiny_model)
    with Catalog(db) as catalog:
        model = next(iter(catalog.embedding_models()))
        first = layout.update_map(catalog, model)
        assert first.refit and first.points == 13
        before = {p.stem_id: (p.x, p.y) for p in maps.points(catalog, model)}
        assert layout.update_map(catalog, model).placed == 0  # nothing new: nothing moves
    shutil.copy2(DIRT / "cp" / "HANDCLP0.wav", library / "clap.wav")
    shutil.copy2(DIRT / "808" / "CL.WAV", library / "claves.wav")
    _index(library, db, tiny_model)
    with Catalog(db) as catalog:
        grown = layout.update_map(catalog, model)
        assert (grown.refit, grown.placed, grown.points) == (False, 2, 15)
        after = {p.stem_id: (p.x, p.y) for p in maps.points(catalog, model)}
        assert {k: after[k] for k in before} == before and len(after) == 15
        assert layout.update_map(catalog, model, refit=True).refit
        assert maps.current_layout(catalog, model) == (2, 15)


def test_the_map_shows_only_samples_still_in_the_library(library, db, tiny_model):
    _index(library, db, tiny_model)
    with Catalog(db) as catalog:
        model = next(iter(catalog.embedding_models()))
        layout.update_map(catalog, model)
    (library / "dirt-samples" / "baa" / "1.wav").unlink()
    _index(library, db, tiny_model)
    with Catalog(db) as catalog:
        shown = maps.points(catalog, model)
        assert len(shown) == 12
