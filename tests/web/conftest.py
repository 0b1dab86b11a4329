from __future__ import annotations

import pytest

from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index


@pytest.fixture(scope="package")
def web_db(tmp_path_factory, tiny_model):
    library = copy_library(tmp_path_factory.mktemp("weblib") / "library")
    db = tmp_path_factory.mktemp("webdb") / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(model=str(tiny_model), cache=False))
    return db


@pytest.fixture(scope="package")
def web_model(tiny_model):
    from traum.embedding import load_model

    return load_model(str(tiny_model))
