"""`traum search` takes its query vectors from a running `traum serve`'s model (no second copy loaded),
over the warm text tower's private socket; the socket goes when the server stops."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.web.test_serve import Server, free_port
from traum import api
from traum.search import warm


@pytest.fixture
def tower_env(monkeypatch):
    """The warm tower on, in a private runtime folder short enough for a socket path."""
    runtime = Path(tempfile.mkdtemp(prefix="tw"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("TRAUM_TEXT_TOWER_IDLE_S", "120")
    yield runtime
    shutil.rmtree(runtime, ignore_errors=True)


def hello_of(name: str) -> dict:
    sock = warm._try_connect(warm.runtime_dir() / f"text-{warm.tower_key(name)}.sock")
    assert sock is not None, "nothing answers on the tower's socket"
    with sock, sock.makefile("rb") as reader:
        return json.loads(reader.readline())


def test_cli_search_uses_the_running_servers_model(web_db, tiny_model, tower_env, tmp_path):
    db = tmp_path / "catalog.db"
    shutil.copy(web_db, db)
    server = Server(["--db", str(db), "--port", str(free_port())])
    try:
        server.url()
        assert hello_of(str(tiny_model))["pid"] == server.proc.pid
        searched = subprocess.run([sys.executable, "-m", "traum.cli.main", "search", "dusty kick", "--db", str(db),
                                   "--explain"], capture_output=True, text=True, timeout=300)
        assert searched.returncode == 0, searched.stderr
        # "warm", not "cold": this search started no tower of its own, the server answered.
        assert "(warm)" in searched.stdout and "(cold)" not in searched.stdout, searched.stdout
    finally:
        server.stop()
    assert not list((tower_env / "traum").glob("*.sock"))


def test_a_hosted_tower_gives_the_in_process_vectors_and_yields_to_a_running_one(web_db, web_model, tiny_model,
                                                                               tower_env):
    name = str(tiny_model)
    stop = warm.host(web_model, name, threading.RLock())
    assert stop is not None
    try:
        assert warm.host(web_model, name) is None  # one tower per model: the second process leaves it
        warmed = api.search("dusty kick", db=web_db, k=5, warm=True)
        assert warmed.text_vector == "warm"
        assert [h.id for h in warmed.hits] == [h.id for h in api.search("dusty kick", db=web_db, k=5).hits]
    finally:
        stop()
    with pytest.raises(warm.WarmUnavailable):
        warm.connect(name, start=False)


def test_no_hosted_tower_when_the_tower_is_off(web_model, tiny_model, monkeypatch):
    monkeypatch.setenv("TRAUM_TEXT_TOWER_IDLE_S", "0")
    assert warm.host(web_model, str(tiny_model)) is None
