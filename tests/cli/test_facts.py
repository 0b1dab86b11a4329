"""Plugin facts shown where a producer looks: `--json` results, and a column for each fact a search filters by."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run_traum, traum
from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.catalog.facts import PLUGIN_FACTS, write_stem_facts

KICK, HAT = "dirt-samples/bd/BT0A0D0.wav", "dirt-samples/hh/000_hh3closedhh.wav"


@pytest.fixture
def with_facts(tmp_path):
    """A catalog whose hat carries what a brightness/mood plugin would have stored at indexing time."""
    library = copy_library(tmp_path / "lib", [KICK, HAT])
    db = tmp_path / "c.db"
    traum("index", library, "--db", db, "--no-analyse")
    with Catalog(db) as catalog:
        hat = catalog.stem_by_path(str(library / HAT))
        with catalog.transaction() as conn:
            write_stem_facts(conn, hat, {PLUGIN_FACTS: {"brightness": (0.4213, "brightness"),
                                                        "mood": (["dark", "airy"], "mood")}})
    return db


def test_search_json_carries_each_hits_plugin_facts(with_facts):
    hits = json.loads(traum("search", "hh", "--db", with_facts, "--names-only", "--json").stdout)
    assert hits[0]["path"].endswith("000_hh3closedhh.wav")
    assert hits[0]["facts"] == {"brightness": 0.4213, "mood": ["dark", "airy"]}
    kick = json.loads(traum("search", "bd", "--db", with_facts, "--names-only", "--json").stdout)[0]
    assert kick["facts"] == {}


def test_a_fact_filter_gets_its_column_and_the_default_table_stays_compact(with_facts):
    plain = traum("search", "hh", "--db", with_facts, "--names-only").stdout
    assert "brightness" not in plain and "0.421" not in plain
    filtered = traum("search", "sound", "--db", with_facts, "--names-only", "--fact", "brightness>=0.3",
                     "--fact", "mood=dark").stdout
    header = filtered.splitlines()[0].split()
    assert header[-2:] == ["brightness", "mood"]
    assert "0.421" in filtered and "dark, airy" in filtered and "BT0A0D0" not in filtered
    assert run_traum("search", "x", "--db", with_facts, "--names-only", "--fact", "brightness>=loud").code == 2


MOODY = '''
from traum.plugins import hookimpl

@hookimpl
def analyze_file(samples, path):
    return {"peakiness": float(abs(samples).max()) * 0.9, "mood": ["dark", "airy"] if "hh" in path else ["round"]}
'''


@pytest.fixture(scope="module")
def moody_plugin(tmp_path_factory):
    """A plugin giving two facts, installed as pip would (a module and its dist-info's entry point)."""
    from tests.helpers import install_bare_plugin

    site = tmp_path_factory.mktemp("plugin")
    install_bare_plugin(site, "moody", MOODY)
    return site


def analyze_with(plugin_site, *runs):
    """`traum analyze` with each argument list, in one fresh process that has the plugin installed (its
    analysis workers start once)."""
    import os
    from pathlib import Path

    import traum
    from tests.helpers import traum_runs_in_one_process

    src = str(Path(traum.__file__).parents[1])  # this traum, also in the analysis processes
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_site), src]), "COLUMNS": "250"}
    return traum_runs_in_one_process([["analyze", *args] for args in runs], env)


def test_analyze_shows_plugin_facts_in_the_table_and_json(moody_plugin):
    from tests.helpers import DIRT

    files = [DIRT / "hh/000_hh3closedhh.wav", DIRT / "bd/BT0A0D0.wav"]
    (code, as_json, err), (table_code, table, table_err) = analyze_with(moody_plugin, [*files, "--json"], files)
    assert code == 0, err
    hat, kick = json.loads(as_json)
    assert hat["facts"]["mood"] == ["dark", "airy"] and kick["facts"]["mood"] == ["round"]
    assert 0 < kick["facts"]["peakiness"] < 1
    assert table_code == 0, table_err
    header, hat_row, kick_row = table.splitlines()
    assert header.split()[-2:] == ["mood", "peakiness"]
    assert hat_row.split()[-3:] == ["dark,", "airy", f"{hat['facts']['peakiness']:.3g}"]
    assert kick_row.split()[-2:] == ["round", f"{kick['facts']['peakiness']:.3g}"]
