"""The ``traum`` command as a user runs it: a real process, real audio, the tiny real-format model."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.helpers import DIRT


def traum(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "traum.cli.main", *map(str, args)], capture_output=True,
                            text=True, **kwargs)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def indexed(library, db, tiny_model):
    traum("index", library, "--db", db, "--model", tiny_model)
    return db


def test_index_prints_a_summary(library, db, tiny_model):
    result = traum("index", library, "--db", db, "--model", tiny_model)
    assert "13 indexed" in result.stderr and "2 skipped" in result.stderr and "2 not audio" in result.stderr
    again = traum("index", library, "--db", db, "--model", tiny_model, "--json")
    assert json.loads(again.stdout)["unchanged"] == 15


def test_search_json_and_table(indexed, tiny_model):
    hits = json.loads(traum("search", "punchy kick", "--db", indexed, "-k", "5", "--json").stdout)
    assert len(hits) == 5 and all({"path", "id", "score"} <= set(h) for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])
    table = traum("search", "punchy kick", "--db", indexed, "-k", "3").stdout
    assert "score" in table and hits[0]["path"][-20:] in table.replace("\n", "")


def test_search_without_a_model_matches_names(indexed, monkeypatch):
    result = traum("search", "bd", "--db", indexed, "--model", "nobody/nothing", "--json")
    assert "not available offline" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    hits = json.loads(result.stdout)
    assert hits and all("/bd/" in h["path"] for h in hits)


def test_search_flags_explain_similar_and_duplicates(indexed):
    explained = json.loads(traum("search", "kick 125 bpm", "--db", indexed, "--explain", "--json").stdout)
    assert explained["query"]["filters"]["bpm"] == [120.0, 130.0] and explained["results"] == []
    hits = json.loads(traum("search", "drums", "--db", indexed, "--max-duration", "0.3", "--json").stdout)
    assert all(h["duration"] <= 0.3 for h in hits)
    some = json.loads(traum("search", "kick", "--db", indexed, "--json").stdout)[0]
    similar = json.loads(traum("similar", some["id"][:12], "--db", indexed, "-k", "3", "--json").stdout)
    assert len(similar) == 3 and some["id"] not in [h["id"] for h in similar]
    groups = json.loads(traum("duplicates", "--db", indexed, "--json").stdout)
    assert set(groups) == {"exact", "near"}


def test_analyze_json(tmp_path):
    result = traum("analyze", DIRT / "breaks125/016_bllstmp.wav", DIRT / "bd/BT0A0A7.wav", DIRT / "808/TR808.TXT",
                   "--json")
    loop, kick, text = json.loads(result.stdout)
    assert loop["bpm"] == pytest.approx(125, rel=0.04) and loop["is_loop"] is True
    assert kick["bpm"] is None and kick["key"] is None and kick["category"] == "kick"
    assert "not audio" in text["error"]


def test_analyze_reports_a_missing_file_and_goes_on(tmp_path):
    result = traum("analyze", tmp_path / "gone.wav", DIRT / "bd/BT0A0A7.wav", "--json")
    gone, kick = json.loads(result.stdout)
    assert gone["error"] == "no such file or directory" and kick["category"] == "kick"
    table = traum("analyze", tmp_path / "gone.wav", tmp_path)
    assert "gone.wav: no such file or directory" in table.stderr and "is a folder" in table.stderr
    assert "Traceback" not in table.stderr


def test_status_counts(indexed):
    info = json.loads(traum("status", "--db", indexed, "--json").stdout)
    assert info["counts"]["indexed"] == 13 and info["counts"]["skipped"] == 2
    assert info["catalog_bytes"] > 0 and info["model"]["name"]
    assert info["last_run"]["stage_seconds"]["infer"] > 0


@pytest.mark.parametrize("fmt", ["pkl", "npy", "parquet"])
def test_export_round_trips(indexed, tmp_path, fmt):
    out = tmp_path / f"emb.{fmt}"
    traum("export", "--db", indexed, "--format", fmt, "--out", out)
    from traum.catalog import Catalog

    with Catalog(indexed, readonly=True) as catalog:
        ids, matrix = catalog.embeddings()
        by_path = {s["path"]: matrix[ids.index(s["id"])] for s in catalog.stems(ids)}
    if fmt == "pkl":
        records = pickle.loads(out.read_bytes())
        got = {r["path"]: r["embedding"] for r in records}
        assert all(r["embedding"].dtype == np.float32 and r["embedding"].shape == (512,) for r in records)
    elif fmt == "npy":
        got = dict(zip(json.loads(out.with_name(out.name + ".paths.json").read_text()), np.load(out), strict=True))
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(out).to_pydict()
        got = {p: np.array(e, np.float32) for p, e in zip(table["path"], table["embedding"], strict=True)}
    assert got.keys() == by_path.keys()
    for path, vec in by_path.items():
        np.testing.assert_array_equal(got[path], vec)


def test_embed_json_out_and_text(tiny_model, tmp_path):
    clip = DIRT / "bd/BT0A0A7.wav"
    records = json.loads(traum("embed", clip, "--model", tiny_model, "--json").stdout)
    assert records[0]["path"] == str(clip) and len(records[0]["embedding"]) == 512
    traum("embed", clip, clip, "--model", tiny_model, "--out", tmp_path / "x.npy")
    matrix = np.load(tmp_path / "x.npy")
    assert matrix.shape == (2, 512) and matrix.dtype == np.float32
    np.testing.assert_allclose(matrix[0], records[0]["embedding"], atol=1e-6)
    text = json.loads(traum("embed", "--text", "dusty kick", "--model", tiny_model, "--json").stdout)
    assert len(text[0]["embedding"]) == 512


@pytest.mark.parametrize("args, message", [
    (["index", "/no/such/folder"], "does not exist"),
    (["search", "kick", "--db", "/no/such/catalog.db"], "no catalog"),
    (["embed", "/no/such.wav", "--model", "x/y"], "is not a file"),
    (["embed", str(DIRT / "808/TR808.TXT"), "--model", "{tiny}"], "not audio"),
    (["export", "--format", "xml", "--out", "x.xml"], "unknown export format"),
    (["index", ".", "--model", "/no/such/model/dir"], "does not exist"),
    (["search", "kick", "--key", "H minor", "--db", "{db}"], "cannot read key"),
    (["index", ".", "--bogus"], "No such option: --bogus"),
    (["search"], "Missing argument"),
    (["similar", "/no/such.wav", "--db", "{db}"], "neither a catalogued sample"),
])
def test_bad_input_gets_one_clear_line(args, message, tiny_model, tmp_path):
    if "{db}" in args:
        traum("index", DIRT / "cp", "--db", tmp_path / "d.db", "--model", "x/y")
    args = [a.replace("{tiny}", str(tiny_model)).replace("{db}", str(tmp_path / "d.db")) for a in args]
    if args[0] == "export":
        traum("index", DIRT / "cp", "--db", tmp_path / "c.db", "--model", "x/y")
        args += ["--db", str(tmp_path / "c.db")]
    result = traum(*args, check=False, cwd=tmp_path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr


def test_help_is_fast_and_lists_every_command():
    start = time.perf_counter()
    result = traum("--help")
    elapsed = time.perf_counter() - start
    for command in ("index", "search", "similar", "analyze", "duplicates", "embed", "status", "export", "serve"):
        assert command in result.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, traum.cli.main; "
                            "print(sorted(m for m in ('torch', 'transformers', 'librosa', 'numpy') if m in sys.modules))"],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "[]", "heavy modules imported at start-up"
    assert elapsed < 5
