"""`traum`'s own options (-v, -q, --log-json) work before or after the command, and `--` ends them."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import run_traum
from tests.helpers import copy_library
from traum.cli.main import hoist_logging_flags

KICK = "dirt-samples/bd/BT0A0D0.wav"


@pytest.fixture
def one_file(tmp_path):
    return copy_library(tmp_path / "lib", [KICK])


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_the_command(one_file, tmp_path, where):
    command = ["index", one_file, "--db", tmp_path / "c.db", "--no-analyse"]
    result = run_traum(*(["-v", *command] if where == "before" else [*command, "-v"]))
    assert result.code == 0, result.stderr
    assert "info: migrating catalog" in result.stderr


def test_log_json_and_quiet_after_the_command(one_file, tmp_path):
    logged = run_traum("index", one_file, "--db", tmp_path / "a.db", "--no-analyse", "--log-json", "-v")
    lines = [json.loads(line) for line in logged.stderr.splitlines() if line.startswith("{")]
    assert any(line["level"] == "info" and line["message"].startswith("migrating catalog") for line in lines), (
        logged.stderr)
    quiet = run_traum("index", one_file, "--db", tmp_path / "b.db", "--no-analyse", "-q", "-v")
    assert "info:" not in quiet.stderr  # -q wins, as before the command


def test_after_a_double_dash_the_flags_are_arguments():
    assert hoist_logging_flags(["search", "kick", "-v", "--json"]) == ["-v", "search", "kick", "--json"]
    assert hoist_logging_flags(["search", "--", "-v"]) == ["search", "--", "-v"]
    assert hoist_logging_flags(["index", "lib", "--log-json", "-q", "--", "-vv"]) == [
        "--log-json", "-q", "index", "lib", "--", "-vv"]
