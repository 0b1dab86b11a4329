"""The ``traum`` command as a user runs it: real audio, the tiny real-format model, the real error boundary."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from tests.cli.conftest import run_traum, traum
from tests.helpers import DIRT, copy_library


def test_index_prints_a_summary_and_reruns_unchanged(library, db, tiny_model):
    result = traum("index", library, "--db", db, "--model", tiny_model)
    assert "13 indexed" in result.stderr and "2 skipped" in result.stderr and "2 not audio" in result.stderr
    again = traum("index", library, "--db", db, "--model", tiny_model, "--json")
    assert json.loads(again.stdout)["unchanged"] == 15


def test_search_json_and_table(indexed):
    hits = json.loads(traum("search", "punchy kick", "--db", indexed, "-k", "5", "--json").stdout)
    assert len(hits) == 5 and all({"path", "id", "score"} <= set(h) for h in hits)
    assert hits == sorted(hits, key=lambda h: -h["score"])
    table = traum("search", "punchy kick", "--db", indexed, "-k", "3").stdout
    assert "score" in table and all(h["path"] in table for h in hits[:3])


def test_search_without_a_model_matches_names(indexed):
    result = traum("search", "bd", "--db", indexed, "--model", "laion/larger_clap_general", "--json")
    assert "not available offline" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    hits = json.loads(result.stdout)
    assert len(hits) == 2 and all("/bd/" in h["path"] for h in hits)


def test_search_flags_explain_similar_and_duplicates(indexed):
    explained = json.loads(traum("search", "kick 125 bpm", "--db", indexed, "--explain", "--json").stdout)
    # No file in the mixed library is a 125 bpm loop: the filter, read from the text, leaves nothing.
    assert explained["query"]["filters"]["bpm"] == [120.0, 130.0] and explained["results"] == []
    everything = json.loads(traum("search", "drums", "--db", indexed, "-k", "50", "--json").stdout)
    short = json.loads(traum("search", "drums", "--db", indexed, "-k", "50", "--max-duration", "0.3", "--json").stdout)
    assert short and len(short) < len(everything) and all(h["duration"] <= 0.3 for h in short)
    some = json.loads(traum("search", "kick", "--db", indexed, "--json").stdout)[0]
    similar = json.loads(traum("similar", some["id"][:12], "--db", indexed, "-k", "3", "--json").stdout)
    assert len(similar) == 3 and some["id"] not in [h["id"] for h in similar]
    groups = json.loads(traum("duplicates", "--db", indexed, "--json").stdout)
    assert set(groups) == {"exact", "near"}


def test_analyze_json(tmp_path):
    result = run_traum("analyze", DIRT / "breaks125/016_bllstmp.wav", DIRT / "bd/BT0A0A7.wav",
                       DIRT / "808/TR808.TXT", "--json")
    loop, kick, text = json.loads(result.stdout)
    assert loop["bpm"] == pytest.approx(125, rel=0.04) and loop["is_loop"] is True
    assert kick["bpm"] is None and kick["key"] is None and kick["category"] == "kick"
    assert "not audio" in text["error"]
    assert result.code == 1  # one input failed; the others were analysed


def test_analyze_reports_a_missing_file_and_goes_on(tmp_path):
    result = run_traum("analyze", tmp_path / "gone.wav", DIRT / "bd/BT0A0A7.wav", "--json")
    gone, kick = json.loads(result.stdout)
    assert gone["error"] == "no such file or directory" and kick["category"] == "kick"
    assert result.code == 2  # as grep: a missing input is a usage error, the others are still analysed
    table = run_traum("analyze", tmp_path / "gone.wav", tmp_path, DIRT / "bd/BT0A0A7.wav")
    assert "gone.wav: no such file or directory" in table.stderr and "is a folder" in table.stderr
    assert "BT0A0A7.wav" in table.stdout and table.code == 2
    assert traum("analyze", DIRT / "bd/BT0A0A7.wav").code == 0


def test_index_exit_code_says_whether_some_file_failed(tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", ["dirt-samples/bd/BT0A0A7.wav"])
    assert run_traum("index", library, "--db", tmp_path / "a.db", "--model", tiny_model).code == 0
    # A WAV header without a single frame: a file that fails, beside one that does not.
    (library / "dirt-samples" / "broken.wav").write_bytes((DIRT / "bd/BT0A0A7.wav").read_bytes()[:44])
    result = run_traum("index", library, "--db", tmp_path / "a.db", "--model", tiny_model)
    assert result.code == 1 and "failed" in result.stderr and "broken.wav" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_that_does_not_exist_is_a_usage_error_before_any_work(tmp_path):
    typo = run_traum("index", tmp_path / "Sampels", "--db", tmp_path / "new.db")
    assert typo.code == 2 and typo.stderr == f"error: {tmp_path / 'Sampels'} does not exist\n"
    assert not (tmp_path / "new.db").exists()  # no catalog left behind by a typo
    from traum import api
    from traum.errors import InputNotFound, NotFound

    with pytest.raises(InputNotFound) as refused:  # the API says the same, a NotFound (404 over HTTP)
        api.index([tmp_path / "Sampels"], db=tmp_path / "api.db", analyse=False)
    assert isinstance(refused.value, NotFound) and refused.value.exit_code == 2


def test_status_counts(indexed):
    info = json.loads(traum("status", "--db", indexed, "--json").stdout)
    assert info["counts"]["indexed"] == 13 and info["counts"]["skipped"] == 2
    assert info["catalog_bytes"] > 0 and info["model"]["name"]
    assert info["last_run"]["stage_seconds"]["infer"] > 0
    table = traum("status", "--db", indexed).stdout
    assert "13 distinct" in table.replace("samples", "") or "13" in table


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
    assert len(got) == 13 and got.keys() == by_path.keys()
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
    assert "[512-d]" in traum("embed", clip, "--model", tiny_model).stdout


@pytest.fixture(scope="module")
def small_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("small")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAUM_CACHE_DIR", str(root / "cache"))
        env.setenv("HF_HUB_OFFLINE", "1")
        traum("index", DIRT / "cp", "--db", root / "d.db", "--model", "laion/larger_clap_general")
    return root / "d.db"


@pytest.mark.parametrize("args, message, code", [
    (["index", "/no/such/folder"], "/no/such/folder does not exist", 2),
    (["index", "/no/such/folder", "/no/such/file.wav"], "/no/such/folder does not exist (and 1 more)", 2),
    (["analyze", "/no/such.wav"], "/no/such.wav: no such file or directory", 2),
    (["analyze", "."], "is a folder", 2),
    (["embed", ".", "--model", "laion/larger_clap_general"], ". is a folder", 2),
    (["export", "--out", ".", "--db", "{db}"], "--out . is a folder", 2),
    (["search", "kick", "--db", "/no/such/catalog.db"], "no catalog at /no/such/catalog.db", 2),
    (["similar", str(DIRT / "bd/BT0A0A7.wav"), "--db", "/no/such/catalog.db"], "no catalog", 2),
    (["status", "--db", "/no/such/catalog.db"], "no catalog", 2),
    (["export", "--out", "x.csv", "--db", "/no/such/catalog.db"], "no catalog", 2),
    (["embed", "/no/such.wav", "--model", "laion/larger_clap_general"], "/no/such.wav does not exist", 2),
    (["embed", str(DIRT / "808/TR808.TXT"), "--model", "{tiny}"], "not audio", 1),
    (["export", "--format", "xml", "--out", "x.xml", "--db", "{db}"], "unknown export format", 2),
    (["index", ".", "--model", "/no/such/model/dir"], "does not exist", 2),
    (["index", ".", "--precision", "fp8"], "unknown precision 'fp8'", 2),
    (["index", ".", "--device", "gpu"], "unknown device 'gpu'", 2),
    (["index", ".", "--device", "cuda"], "sees no CUDA GPU", 2),
    (["search", "kick", "--key", "H minor", "--db", "{db}"], "cannot read key", 2),
    (["search", "kick", "--quality", "great", "--db", "{db}"], "Invalid value for '--quality'", 2),
    (["index", ".", "--bogus"], "No such option: --bogus", 2),
    (["search"], "Missing argument", 2),
    (["similar", "/no/such.wav", "--db", "{db}"], "neither a catalogued sample", 2),
    (["similar", "f00dfeed", "--db", "{db}"], "neither a catalogued sample", 2),
])
def test_bad_input_gets_one_clear_line_and_its_exit_code(args, message, code, tiny_model, small_db, tmp_path):
    import torch

    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    args = [a.replace("{tiny}", str(tiny_model)).replace("{db}", str(small_db)) for a in args]
    result = run_traum(*args, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert result.code == code


@pytest.mark.parametrize("variable, value, message", [
    ("TRAUM_LOG_LEVEL", "verbose", "TRAUM_LOG_LEVEL='verbose' is not valid"),
    ("TRAUM_CACHE_MAX_MB", "1g", "TRAUM_CACHE_MAX_MB='1g' is not valid"),
    ("TRAUM_PRECISION", "fp8", "TRAUM_PRECISION='fp8' is not valid"),
])
def test_a_bad_setting_is_one_line_and_exit_2(variable, value, message, monkeypatch, small_db):
    monkeypatch.setenv(variable, value)
    result = run_traum("status", "--db", small_db)
    assert result.code == 2 and result.stderr.strip().splitlines() == [f"error: {message}" + result.stderr
                                                                       .split(message, 1)[1].strip()]
    assert "unexpected" not in result.stderr and result.stdout == ""


def test_cache_can_be_disabled(library, db, tiny_model, monkeypatch, tmp_path):
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "0")
    report = json.loads(traum("index", library, "--db", db, "--model", tiny_model, "--json").stdout)
    assert report["indexed"] == 13 and not (tmp_path / "cache" / "embeddings.db").exists()
    monkeypatch.setenv("TRAUM_CACHE_MAX_MB", "64")
    traum("index", library, "--db", tmp_path / "other.db", "--model", tiny_model)
    assert (tmp_path / "cache" / "embeddings.db").exists()


def test_search_passes_loudness_and_quality_filters(indexed):
    everything = json.loads(run_traum("search", "kick", "--db", indexed, "--json").stdout)
    result = run_traum("search", "kick", "--db", indexed, "--quality", "ok", "--max-lufs", "-10", "--json")
    hits = json.loads(result.stdout)
    assert result.code == 0 and hits and len(hits) <= len(everything)
    # "ok" means no serious issue; a mild one (a low-ish sample rate) may still be listed.
    assert all(h["quality_ok"] and h["loudness_lufs"] <= -10 for h in hits)
    loud = json.loads(run_traum("search", "kick", "--db", indexed, "--min-lufs", "-10", "--json").stdout)
    assert {h["id"] for h in loud}.isdisjoint(h["id"] for h in hits)


def test_help_lists_every_command_without_heavy_imports():
    """The one real process: `traum --help` as installed, and what it imports."""
    result = subprocess.run([sys.executable, "-c", "import sys\nfrom traum.cli.main import main\n"
                             "try:\n    main(['--help'])\nexcept SystemExit as e:\n    code = e.code\n"
                             "heavy = [m for m in ('torch', 'transformers', 'librosa', 'numpy') if m in sys.modules]\n"
                             "print('HEAVY', heavy, code)"], capture_output=True, text=True, check=True)
    for command in ("index", "search", "similar", "analyze", "duplicates", "embed", "status", "export", "serve"):
        assert command in result.stdout
    assert "HEAVY [] 0" in result.stdout, "heavy modules imported at start-up"
    real = subprocess.run([sys.executable, "-m", "traum.cli.main", "index", ".", "--precision", "fp8"],
                          capture_output=True, text=True)
    assert real.returncode == 2 and real.stderr.startswith("error: unknown precision")
