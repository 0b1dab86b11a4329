"""File names are data, never markup or terminal commands, and names that are not UTF-8 still print."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.cli.conftest import run_traum
from tests.helpers import DIRT

KICK, SNARE, HAT = DIRT / "bd/BT0A0A7.wav", DIRT / "sn/ST0T0S0.wav", DIRT / "hh/000_hh3closedhh.wav"
#: An OSC title change and a CSI colour hidden in a name: printed raw, they would drive the terminal.
HOSTILE = "\x1b]0;pwned\x07ev\x1b[31mil\x9b.wav"


@pytest.fixture
def odd_library(tmp_path):
    library = tmp_path / "odd"
    (library / "pack[").mkdir(parents=True)
    shutil.copy(DIRT / "bd/BT0A0D0.wav", library / "pack[" / "bad].wav")  # reads "pack[/bad].wav": a closing tag
    shutil.copy(KICK, library / "kick [loud].wav")           # "[loud]" reads as a style
    shutil.copy(SNARE, library / HOSTILE)
    return library


def _no_control(text: str) -> bool:
    return not any((ord(c) < 32 and c not in "\n") or 0x7F <= ord(c) <= 0x9F for c in text)


def test_index_and_search_print_names_as_they_are(odd_library, db, tiny_model):
    indexed = run_traum("index", odd_library, "--db", db, "--model", tiny_model)
    assert indexed.code == 0 and "3 indexed" in indexed.stderr, indexed.stderr
    table = run_traum("search", "kick", "--db", db, "-k", "3")
    assert table.code == 0, table.stderr
    flat = "".join(table.stdout.split())
    assert "kick[loud].wav" in flat and "pack[/bad].wav" in flat and "evil.wav" in flat
    assert _no_control(table.stdout)


def test_analyze_prints_names_as_they_are(odd_library):
    files = [odd_library / "pack[" / "bad].wav", odd_library / "kick [loud].wav", odd_library / HOSTILE]
    result = run_traum("analyze", *files)
    assert result.code == 0, result.stderr
    assert "kick [loud].wav" in result.stdout and "bad].wav" in result.stdout and "evil.wav" in result.stdout
    assert _no_control(result.stdout + result.stderr)
    missing = run_traum("analyze", odd_library / "gone [x].wav", odd_library / "kick [loud].wav")
    assert missing.code == 2 and "gone [x].wav: no such file or directory" in missing.stderr


def test_a_name_that_is_not_utf8_prints(tmp_path):
    name = os.fsdecode(b"caf\xe9 [x].wav")
    shutil.copy(HAT, tmp_path / name)
    result = run_traum("analyze", tmp_path / name, KICK)
    assert "caf\ufffd [x].wav" in result.stdout + result.stderr and "unexpected" not in result.stderr
    as_json = run_traum("analyze", tmp_path / name, "--json")
    assert json.loads(as_json.stdout)[0]["path"].endswith("caf\ufffd [x].wav")


def test_index_and_search_a_name_that_is_not_utf8(tmp_path, db, tiny_model):
    library = tmp_path / "lib"
    library.mkdir()
    shutil.copy(HAT, library / os.fsdecode(b"caf\xe9.wav"))
    assert run_traum("index", library, "--db", db, "--model", tiny_model).code == 0
    table = run_traum("search", "hat", "--db", db)
    assert table.code == 0 and "caf\ufffd.wav" in table.stdout
