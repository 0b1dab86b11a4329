"""`traum model list`, the check of --model names, and a catalog refusing another model's text tower."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cli.conftest import run_traum, traum
from tests.helpers import DIRT, copy_library

KNOWN = ["laion/clap-htsat-unfused", "laion/clap-htsat-fused", "laion/larger_clap_music",
         "laion/larger_clap_music_and_speech", "laion/larger_clap_general"]


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """An empty Hugging Face cache and user data folder of the test's own."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))  # read once, at import
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def put_in_hf_cache(model_dir: Path, cache: Path, repo_id: str) -> None:
    """Lay ``model_dir`` out as huggingface_hub does after a download (blobs + snapshot symlinks)."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    snapshot = repo / "snapshots" / ("0" * 40)
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    for i, file in enumerate(sorted(model_dir.iterdir())):
        blob = repo / "blobs" / f"{i:040x}"
        shutil.copy(file, blob)
        (snapshot / file.name).symlink_to(blob)


def test_list_shows_known_models_cached_ones_and_imported_folders(homes, tiny_model):
    listed = {e["name"]: e for e in json.loads(traum("model", "list", "--json").stdout)}
    assert list(listed) == KNOWN and not any(e["offline"] for e in listed.values())
    assert listed["laion/clap-htsat-unfused"]["default"] and "music" in listed["laion/larger_clap_music"]["good_for"]

    put_in_hf_cache(tiny_model, homes / "hf", "laion/clap-htsat-fused")
    imported = homes / "data" / "traum" / "models" / "my-clap"
    shutil.copytree(tiny_model, imported)
    (homes / "data" / "traum" / "models" / "not-a-model").mkdir()
    listed = {e["name"]: e for e in json.loads(traum("model", "list", "--json").stdout)}
    assert [n for n, e in listed.items() if e["offline"]] == ["laion/clap-htsat-fused", str(imported)]
    assert listed[str(imported)]["size_bytes"] > 1_000_000 and "HTSAT-16" in listed[str(imported)]["good_for"]
    table = traum("model", "list").stdout
    assert "laion/larger_clap_general" in table and str(imported) in table and "download first" in table


def test_an_unknown_model_name_is_refused_with_the_list(homes):
    result = run_traum("embed", "--text", "kick", "--model", "laion/clap-htsat-unfussed")
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "unknown model 'laion/clap-htsat-unfussed'" in result.stderr
    assert all(name in result.stderr for name in KNOWN)


def test_a_model_in_the_hf_cache_loads_by_its_id_offline(homes, tiny_model):
    put_in_hf_cache(tiny_model, homes / "hf", "laion/clap-htsat-fused")
    vectors = json.loads(traum("embed", "--text", "kick", "--model", "laion/clap-htsat-fused", "--json").stdout)
    assert len(vectors[0]["embedding"]) == 512


@pytest.fixture(scope="module")
def small_catalog(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("catalog")
    library = copy_library(root / "library", [f"dirt-samples/bd/{p.name}" for p in sorted((DIRT / "bd").iterdir())[:3]])
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAUM_CACHE_DIR", str(root / "cache"))
        traum("index", library, "--db", root / "c.db", "--model", tiny_model)
    return root / "c.db"


def test_searching_with_another_models_text_tower_is_refused(small_catalog, tiny_model, tmp_path):
    from traum.testing import build_random_clap

    assert json.loads(traum("search", "kick", "--db", small_catalog, "--json").stdout)
    other = build_random_clap(tmp_path / "other-clap", seed=1)
    result = run_traum("search", "kick", "--db", small_catalog, "--model", other)
    assert result.code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"embedded with {tiny_model}" in result.stderr
    assert f"--model {tiny_model}" in result.stderr and f"re-index it with --model {other}" in result.stderr
