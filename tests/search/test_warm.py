"""Fast CLI search: names only without torch, query vectors from the warm background text tower; no torch
for a model that cannot be had."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import copy_library
from traum import api
from traum.search import warm

#: Runs `traum ARGS` in a fresh interpreter and reports the output and whether torch got imported.
PROBE = """
import io, json, sys, contextlib
from traum.cli.main import main
out = io.StringIO()
code = 0
with contextlib.redirect_stdout(out):
    try:
        main(sys.argv[1:])
    except SystemExit as exit_:
        code = exit_.code or 0
heavy = sorted(m for m in ("torch", "transformers", "librosa", "faiss") if m in sys.modules)
print(json.dumps({"code": code, "stdout": out.getvalue(), "heavy": heavy}))
"""


@pytest.fixture(scope="module")
def names_db(tmp_path_factory) -> Path:
    """The mixed library indexed without a model: a catalog that can only be searched by names."""
    root = tmp_path_factory.mktemp("names")
    library = copy_library(root / "library")
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        with Catalog(root / "names.db") as catalog:
            run_index([library], catalog, IndexOptions(model="laion/larger_clap_general", cache=False, analyse=False))
    return root / "names.db"


@pytest.fixture(scope="module")
def model_db(tmp_path_factory, tiny_model) -> Path:
    root = tmp_path_factory.mktemp("model")
    library = copy_library(root / "library")
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    with Catalog(root / "model.db") as catalog:
        run_index([library], catalog, IndexOptions(model=str(tiny_model), cache=False, analyse=False))
    return root / "model.db"


@pytest.fixture
def tower_env(monkeypatch):
    """The warm tower on, in a private runtime folder short enough for a socket path; its processes end
    with the test (by the pid they announce)."""
    runtime = Path(tempfile.mkdtemp(prefix="tw"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TRAUM_TEXT_TOWER_IDLE_S", "120")
    yield runtime
    for sock in (runtime / "traum").glob("*.sock"):
        pid = _tower_pid(sock)
        if pid:
            os.kill(pid, signal.SIGTERM)


def _tower_pid(path: Path) -> int | None:
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(path))
            return int(json.loads(sock.makefile("rb").readline())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def _fresh_traum(*args: object) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("flags", [[], ["--names-only"]], ids=["no model available", "--names-only"])
def test_names_only_search_imports_no_torch(names_db, flags):
    result = _fresh_traum("search", "kick", "--db", names_db, "-k", "3", "--json", *flags)
    assert result["code"] == 0 and result["heavy"] == []
    paths = [hit["path"] for hit in json.loads(result["stdout"])]
    assert len(paths) == 2 and all("/bd/" in p for p in paths)


def test_an_unreachable_hub_is_found_out_without_importing_torch(model_db, monkeypatch):
    """Not told to stay offline, and the model is not cached: the Hub is asked (huggingface_hub alone) before
    torch and transformers are imported for a load that could only fail (~5 s of a names-only search)."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: refused at once
    result = _fresh_traum("search", "kick", "--db", model_db, "--model", "laion/larger_clap_general", "--json")
    assert result["code"] == 0 and result["heavy"] == []
    assert all("/bd/" in hit["path"] for hit in json.loads(result["stdout"])[:2])


def test_an_index_whose_model_cannot_be_had_imports_no_torch(tmp_path, monkeypatch):
    """The same probe before `traum index` loads the model: files are catalogued (embeddings pending) without
    the torch and transformers imports a doomed load would cost."""
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    library = copy_library(tmp_path / "library")
    result = _fresh_traum("index", library, "--db", tmp_path / "c.db", "--model", "laion/larger_clap_general",
                          "--no-analyse", "--json")
    report = json.loads(result["stdout"])
    assert result["code"] == 0 and result["heavy"] == []
    assert "not available offline" in report["model_error"] and report["pending"] == report["indexed"] > 0


def test_a_catalog_without_vectors_is_searched_without_loading_the_model(names_db, tiny_model):
    result = _fresh_traum("search", "kick", "--db", names_db, "--model", tiny_model, "--json", "--explain")
    assert result["code"] == 0 and result["heavy"] == []
    explained = json.loads(result["stdout"])
    assert explained["query"]["mode"] == "names" and "no sound vectors" in explained["query"]["notice"]


def test_a_query_typed_before_loads_no_model(model_db, tiny_model):
    first = _fresh_traum("search", "dusty vinyl kick", "--db", model_db, "--model", tiny_model, "--json", "--explain")
    again = _fresh_traum("search", "dusty vinyl kick", "--db", model_db, "--model", tiny_model, "--json", "--explain")
    assert "torch" in first["heavy"] and again["heavy"] == []
    before, after = (json.loads(r["stdout"]) for r in (first, again))
    assert before["query"]["text_vector"] == "in-process" and after["query"]["text_vector"] == "cached"
    assert [(h["id"], h["score"]) for h in before["results"]] == [(h["id"], h["score"]) for h in after["results"]]


def test_a_model_folder_that_changed_since_indexing_is_refused_not_mixed(tmp_path, tiny_model):
    """The catalog's model is taken by name and id without loading it; when a new query makes it load,
    weights that are no longer the indexed ones are a clear error, not cosines across two spaces."""
    import shutil

    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    model = shutil.copytree(tiny_model, tmp_path / "model")
    library = copy_library(tmp_path / "library", ["dirt-samples/bd/BT0A0A7.wav", "dirt-samples/sn/ST0T0S0.wav"])
    with Catalog(tmp_path / "c.db") as catalog:
        run_index([library], catalog, IndexOptions(model=str(model), cache=False, analyse=False))
    # Another filter bank: another model (random weights of one shape share their fingerprint tensors).
    config = json.loads((model / "processor_config.json").read_text())
    config["feature_extractor"]["frequency_max"] = 13_000
    (model / "processor_config.json").write_text(json.dumps(config))
    # The CLI in this process: no import is checked here, and a process of its own would import torch again.
    from tests.cli.conftest import run_traum

    done = run_traum("search", "snappy snare", "--db", tmp_path / "c.db", "--model", model)
    assert done.code == 2 and "not the one this catalog was indexed with" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_names_only_skips_an_available_model(model_db, tiny_model):
    result = _fresh_traum("search", "kick", "--db", model_db, "--model", tiny_model, "--names-only", "--json",
                          "--explain")
    assert result["code"] == 0 and result["heavy"] == []
    query = json.loads(result["stdout"])["query"]
    assert query["mode"] == "names" and query["text_vector"] is None
    assert {"start-up and imports", "catalog open", "ranking"} <= set(query["timings_ms"])


def test_warm_tower_gives_the_in_process_results(model_db, tiny_model, tower_env, monkeypatch, tmp_path):
    queries = ["punchy kick", "bright analog pad", "spoken word"]
    warm_results = [api.search(q, db=model_db, model=str(tiny_model), warm=True) for q in queries]
    assert [r.text_vector for r in warm_results] == ["cold", "warm", "warm"]
    monkeypatch.setenv("TRAUM_CACHE_DIR", str(tmp_path / "other-cache"))  # so the vectors are computed again
    local = [api.search(q, db=model_db, model=str(tiny_model)) for q in queries]
    assert [r.text_vector for r in local] == ["in-process"] * 3
    for remote, here in zip(warm_results, local, strict=True):
        assert remote.mode == here.mode == "hybrid"
        assert [(h.id, h.score, h.extra["cosine"]) for h in remote.hits] == \
               [(h.id, h.score, h.extra["cosine"]) for h in here.hits]
    again = api.search(queries[0], db=model_db, model=str(tiny_model), warm=True)
    assert again.text_vector == "cached" and set(again.timings) >= {"catalog open", "model", "text vector"}


def test_cli_uses_the_warm_tower_and_explains_the_time(model_db, tiny_model, tower_env):
    first = _fresh_traum("search", "kick", "--db", model_db, "--model", tiny_model, "--explain")
    assert first["code"] == 0 and "text vector" in first["stdout"] and "(cold)" in first["stdout"]
    second = _fresh_traum("search", "snare", "--db", model_db, "--model", tiny_model, "--explain", "--json")
    assert second["heavy"] == []  # the model lives in the tower, not in this process
    query = json.loads(second["stdout"])["query"]
    assert query["mode"] == "hybrid" and query["text_vector"] == "warm"


def test_the_tower_answers_only_bounded_text_requests(model_db, tiny_model, tower_env):
    tower = warm.connect(str(tiny_model))
    try:
        assert tower.embed_text(["kick"]).shape == (1, 512)
        with pytest.raises(Exception, match="refused"):
            tower.embed_text(["x" * (warm.MAX_CHARS + 1)])
    finally:
        tower.close()
    path = next((tower_env / "traum").glob("*.sock"))
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct((tower_env / "traum").stat().st_mode & 0o777) == "0o700"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(str(path))
        reader = sock.makefile("rb")
        reader.readline()  # hello
        sock.sendall(b'{"texts": "not a list"}\n')
        assert "error" in json.loads(reader.readline())


def test_a_runtime_folder_others_can_enter_is_refused(model_db, tiny_model, tower_env):
    (tower_env / "traum").mkdir(mode=0o755)
    os.chmod(tower_env / "traum", 0o755)
    with pytest.raises(warm.WarmUnavailable, match="not a private folder"):
        warm.connect(str(tiny_model))
    result = api.search("kick", db=model_db, model=str(tiny_model), warm=True)
    assert result.mode == "hybrid" and result.text_vector == "in-process"  # the search still answers
    assert not list((tower_env / "traum").glob("*.sock"))


def test_the_tower_exits_when_idle(tiny_model, tower_env, monkeypatch):
    monkeypatch.setenv("TRAUM_TEXT_TOWER_IDLE_S", "1")
    tower = warm.connect(str(tiny_model))
    tower.close()
    sockets = list((tower_env / "traum").glob("*.sock"))
    deadline = time.monotonic() + 60
    while any(s.exists() for s in sockets) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sockets and not any(s.exists() for s in sockets)


def test_off_means_no_tower(tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_TEXT_TOWER_IDLE_S", "0")
    with pytest.raises(warm.WarmUnavailable, match="off"):
        warm.connect(str(tiny_model))
