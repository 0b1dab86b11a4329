"""Plugins: the example package from examples/ installed with pip into a folder on PYTHONPATH (the
shared environment stays untouched), seen by `traum plugins`, `traum analyze`, the catalog and search;
a plugin that raises is logged with its name and counted, and the run goes on."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, copy_library, install_bare_plugin, traum_runs_in_one_process

FILES = ["dirt-samples/bd/BT0A0A7.wav", "dirt-samples/hh/000_hh3closedhh.wav", "dirt-samples/sn/ST0T0S0.wav"]

BROKEN = '''
from traum.plugins import hookimpl

@hookimpl
def analyze_file(path):
    raise RuntimeError("no luck with " + path.rsplit("/", 1)[-1])
'''


@pytest.fixture(scope="module")
def plugin_path(tmp_path_factory) -> Path:
    """examples/traum-brightness installed by pip (--target), plus a broken plugin as a bare dist-info."""
    tmp = tmp_path_factory.mktemp("plugins")
    source = shutil.copytree(REPO / "examples" / "traum-brightness", tmp / "src")  # the build writes beside it
    target = tmp / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(source)], check=True, capture_output=True)
    install_bare_plugin(target, "broken", BROKEN)
    return target


def plugin_env(plugin_path: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), str(REPO / "src")])}


def traum(plugin_path: Path, *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "traum.cli.main", *map(str, args)], capture_output=True,
                            text=True, env=plugin_env(plugin_path))
    assert not check or result.returncode == 0, result.stderr
    return result


def test_plugins_lists_the_example_and_the_builtin_hooks(plugin_path):
    rows = {r["name"]: r for r in json.loads(traum(plugin_path, "plugins", "--json").stdout)}
    assert rows["brightness"]["distribution"] == "traum-brightness"
    assert rows["brightness"]["version"] == "0.1.0"
    assert rows["brightness"]["hooks"] == ["analyze_file"]
    assert set(rows["traum"]["hooks"]) >= {"analyze_file", "embedding_models", "exporters"}


def test_example_fact_in_analyze_catalog_and_search(plugin_path, tmp_path, tiny_model):
    library = copy_library(tmp_path / "lib", FILES)
    db = tmp_path / "catalog.db"
    # Both commands in one process with the plugins installed (the analysis workers start once), the index
    # first: it runs as in a process of its own, nothing loaded before it.
    (code, index_out, index_err), (_, analyze_out, _) = traum_runs_in_one_process(
        [["index", library, "--db", db, "--model", tiny_model, "--json"],
         ["analyze", *(library / f for f in FILES), "--json"]], plugin_env(plugin_path))
    analyzed = json.loads(analyze_out)
    brightness = {Path(r["path"]).parent.name: r["facts"]["brightness"] for r in analyzed}
    assert brightness["hh"] > 0.1 > brightness["bd"]  # a closed hat is bright, a kick is not
    assert all(r["plugin_errors"][0]["plugin"] == "broken" for r in analyzed)

    assert code == 0, index_err
    report = json.loads(index_out)
    assert report["indexed"] == 3 and report["failed"] == 0
    assert report["plugin_errors"] == {"broken": 3}  # counted, and the run went on
    log = (tmp_path / "logs" / "traum.log").read_text()
    assert "plugin broken: " in log and "no luck with BT0A0A7.wav" in log

    with sqlite3.connect(db) as conn:
        stored = {Path(p).parent.name: (json.loads(v), plugin) for p, v, plugin in conn.execute(
            "SELECT s.path, f.value, f.plugin FROM stem_facts f JOIN stems s ON s.id = f.stem_id "
            "WHERE f.name = 'brightness'")}
        hat_tags = json.loads(conn.execute("SELECT tags FROM stems WHERE path LIKE '%hh3closedhh%'").fetchone()[0])
    assert stored == {name: (value, "brightness") for name, value in brightness.items()}
    assert "bright" in hat_tags

    # Searching needs no plugin (the facts are in the catalog): the CLI in this process, not one more process
    # importing torch and loading the model.
    from tests.cli.conftest import traum as traum_here

    hits = json.loads(traum_here("search", "sound", "--db", db, "--model", tiny_model, "--json",
                                 "--fact", "brightness>=0.1").stdout)
    assert {Path(h["path"]).parent.name for h in hits} == {"hh"}

    # The conditions' meaning, through the API `traum search` calls.
    def found(*fact: str) -> set[str]:
        from traum import api

        return {Path(h.path).parent.name for h in api.search("sound", db=db, model=str(tiny_model), facts=fact).hits}

    assert found("brightness>=0.1") == {"hh"}
    assert found("brightness<0.1") == {"bd", "sn"}
    assert found("brightness") == {"bd", "hh", "sn"}
    assert found("brightness>=0.1", "brightness<0.1") == set()
    assert found("loudness>0") == set()  # no plugin gave that fact


def test_fact_conditions_read_as_a_producer_writes_them():
    from traum.catalog.facts import FactCondition
    from traum.errors import QueryError

    assert FactCondition.parse("brightness >= 0.3") == FactCondition("brightness", ">=", 0.3)
    assert FactCondition.parse("mood:dark") == FactCondition("mood", "=", "dark")
    assert FactCondition.parse("has_vocals") == FactCondition("has_vocals")
    with pytest.raises(QueryError, match="give a number") as bad:
        FactCondition.parse("brightness>=bright")
    assert bad.value.exit_code == 2


def test_without_plugins_nothing_changes(tmp_path):
    """No plugin installed: only Traum's own implementations, and no facts table rows."""
    from traum.plugins import describe

    assert [r["name"] for r in describe()] == ["traum"]


class _Extra:
    """A plugin registered in this process: an export format, a model family and a broken exporter hook."""

    @staticmethod
    def write_paths(catalog, out) -> int:
        paths = catalog.path_embeddings()[0]
        Path(out).write_text("\n".join(paths))
        return len(paths)

    def __init__(self) -> None:
        from traum.plugins import ModelProvider, hookimpl

        self.exporters = hookimpl(lambda: {"txt": self.write_paths})
        self.embedding_models = hookimpl(lambda: [ModelProvider("fake", lambda name: name.startswith("fake:"),
                                                                lambda name, device, precision: ("fake", name))])
        self.register_commands = hookimpl(lambda app: 1 / 0)


@pytest.fixture
def extra_plugin():
    from traum.plugins import manager

    plugin = _Extra()
    manager().register(plugin, name="extra")
    yield plugin
    manager().unregister(name="extra")


def test_export_format_and_model_from_a_plugin(extra_plugin, tmp_path, tiny_model):
    from traum import api
    from traum.embedding import load_model
    from traum.plugins import errors, register_commands

    api.index([copy_library(tmp_path / "lib", FILES)], db=tmp_path / "c.db", model=str(tiny_model))
    assert api.export(tmp_path / "paths.out", format="txt", db=tmp_path / "c.db") == 3
    assert sorted(Path(p).name for p in (tmp_path / "paths.out").read_text().splitlines()) == sorted(
        Path(f).name for f in FILES)
    assert load_model("fake:x") == ("fake", "fake:x")
    from traum.embedding.hub import check_model_name, probe_model

    check_model_name("fake:x")  # the plugin's name, not an unknown CLAP model
    assert probe_model("fake:x")  # and loadable without asking the Hub
    assert type(load_model(str(tiny_model))).__name__ == "ClapEmbedder"  # other names stay CLAP's
    before = errors().get("extra", 0)
    register_commands(object())  # raises inside the plugin: counted, not raised
    assert errors()["extra"] == before + 1
