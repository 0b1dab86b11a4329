from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index

#: The Host a browser sends for the default bind; TestClient's own "testserver" is refused (DNS rebinding).
BASE = "http://127.0.0.1:8765"
KICK = "dirt-samples/bd/BT0A0D0.wav"
SNARE = "dirt-samples/sn/ST0T0S0.wav"


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


@pytest.fixture
def small_library(tmp_path) -> tuple[Path, Path]:
    """(catalog, library folder) of two files, for tests that change files behind the catalog's back."""
    library = copy_library(tmp_path / "library", [KICK, SNARE])
    db = tmp_path / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(analyse=False, cache=False))
    return db, library


@pytest.fixture
def small_client(small_library) -> TestClient:
    from traum.web.app import create_app

    return TestClient(create_app(small_library[0]), base_url=BASE)


def stem_id_of(db: Path, path: Path) -> str:
    with Catalog(db, readonly=True) as catalog:
        stem_id = catalog.stem_by_path(str(path))
    assert stem_id
    return stem_id
