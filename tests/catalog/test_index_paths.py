"""The whole indexing run with a file name that is not UTF-8: the catalog no longer stops it."""

from __future__ import annotations

from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index


def test_indexing_a_folder_with_a_non_utf8_name_catalogues_it(odd_name, db, tiny_model, tmp_path):
    with Catalog(db) as catalog:
        run_index([str(tmp_path / "lib")], catalog, IndexOptions(model=str(tiny_model), cache=False))
        state = catalog.file_state(odd_name)
        assert state is not None, "the path was not recorded"
        assert catalog.counts()["failed"] + catalog.counts()["indexed"] + catalog.counts()["pending"] == 1
