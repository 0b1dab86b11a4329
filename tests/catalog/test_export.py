"""Exports: one entry per present path, in the seed's shapes, written whole or not at all."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.catalog.conftest import SNARE, record, vector
from traum.catalog import Catalog
from traum.catalog.export import export_embeddings, resolve_format
from traum.catalog.store import PathOutcome
from traum.errors import TraumError


@pytest.fixture
def catalog(db, odd_name):
    """A kick at two paths (one of them not UTF-8), a snare, and a path that went missing."""
    kick, at_odd = record(odd_name)
    snare, at_snare = record("/lib/sn/snare.wav", SNARE)
    with Catalog(db) as cat:
        cat.write_batch([kick, snare], [at_odd, PathOutcome("/lib/bd/kick.wav", "indexed", kick.id),
                                        PathOutcome("/lib/gone.wav", "indexed", snare.id), at_snare],
                        [(kick.id, vector(1), [], "m"), (snare.id, vector(2), [], "m")])
        cat.mark_missing(["/lib/gone.wav"])
        yield cat


def test_pickle_has_one_seed_entry_per_present_path(catalog, tmp_path, odd_name):
    out = tmp_path / "embeddings.pkl"
    assert export_embeddings(catalog, out) == 3
    records = pickle.loads(out.read_bytes())
    assert sorted(r["path"] for r in records) == sorted(["/lib/bd/kick.wav", odd_name, "/lib/sn/snare.wav"])
    by_path = {r["path"]: r["embedding"] for r in records}
    assert all(set(r) == {"path", "embedding"} for r in records)
    assert all(v.dtype == np.float32 and v.shape == (512,) for v in by_path.values())
    assert np.array_equal(by_path[odd_name], by_path["/lib/bd/kick.wav"])
    assert np.allclose(by_path["/lib/sn/snare.wav"], vector(2))


def test_npy_is_written_to_exactly_the_name_given_with_exact_paths(catalog, tmp_path, odd_name):
    out = tmp_path / "emb.bin"
    assert export_embeddings(catalog, out, "npy") == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("emb")) == ["emb.bin", "emb.bin.paths.json"]
    matrix = np.load(out)
    paths = json.loads(Path(str(out) + ".paths.json").read_text("ascii"))
    assert matrix.shape == (3, 512) and matrix.dtype == np.float32
    assert odd_name in paths
    assert np.array_equal(matrix[paths.index(odd_name)], matrix[paths.index("/lib/bd/kick.wav")])


def test_parquet_holds_display_paths_and_exact_bytes(catalog, tmp_path, odd_name):
    import os

    import pyarrow.parquet as pq

    out = tmp_path / "emb.parquet"
    assert export_embeddings(catalog, out) == 3
    table = pq.read_table(out).to_pylist()
    raw = {os.fsdecode(row["path_bytes"]) for row in table}
    assert raw == {"/lib/bd/kick.wav", odd_name, "/lib/sn/snare.wav"}
    assert all(len(row["embedding"]) == 512 for row in table)


def test_format_comes_from_the_flag_then_the_suffix_else_one_line():
    assert resolve_format(Path("x.bin"), "NPY") == "npy"
    assert resolve_format(Path("x.pickle"), None) == "pkl"
    assert resolve_format(Path("x.parquet"), None) == "parquet"
    with pytest.raises(TraumError, match="--format"):
        resolve_format(Path("x.bin"), None)
    with pytest.raises(TraumError, match="choose one of"):
        resolve_format(Path("x.pkl"), "csv")


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_export_refuses_to_overwrite_the_catalog(catalog, suffix):
    target = Path(str(catalog.path) + suffix)
    before = target.read_bytes() if target.exists() else None
    with pytest.raises(TraumError, match="catalog's own file"):
        export_embeddings(catalog, target, "pkl")
    assert (target.read_bytes() if target.exists() else None) == before


def test_a_failed_export_leaves_neither_a_partial_file_nor_a_temporary_one(catalog, tmp_path, monkeypatch):
    out = tmp_path / "out" / "emb.pkl"
    out.parent.mkdir()
    out.write_bytes(b"the previous export")

    def fail(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(pickle, "dump", fail)
    with pytest.raises(OSError):
        export_embeddings(catalog, out)
    assert [p.name for p in out.parent.iterdir()] == ["emb.pkl"]
    assert out.read_bytes() == b"the previous export"
