"""Offline is found out through huggingface_hub itself, so proxies and HF_ENDPOINT count, and quickly."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

PROBE = r"""
import json, sys, time
connects = []
def audit(event, args):
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple):
            connects.append(list(address[:2]))
sys.addaudithook(audit)
from traum.errors import ModelUnavailable
from traum.embedding import load_model
start = time.perf_counter()
try:
    load_model("laion/clap-htsat-unfused")
    outcome = "loaded"
except ModelUnavailable as err:
    outcome = "unavailable: " + str(err)
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - start, "connects": connects}))
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def online_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HTTP", "http", "NO_PROXY", "no_proxy"))}
    port = _closed_port()
    env.update(HF_HOME=str(tmp_path / "hf"), HTTPS_PROXY=f"http://127.0.0.1:{port}",
               HTTP_PROXY=f"http://127.0.0.1:{port}", TRAUM_CACHE_DIR=str(tmp_path / "cache"))
    return env, port


def test_an_unreachable_hub_behind_a_proxy_means_model_unavailable(online_env):
    env, port = online_env
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    wall = time.perf_counter() - start
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outcome"].startswith("unavailable: CLAP model 'laion/clap-htsat-unfused' is not available")
    # The proxy was asked (the only way out here); nothing went around it to port 443.
    assert [a for a in report["connects"] if a[1] == 443] == []
    assert any(a == ["127.0.0.1", port] for a in report["connects"]), report["connects"]
    # Generous bound: the default retries of from_pretrained took ~30 s; a 5 s timeout, once, does not.
    assert report["seconds"] < 15, (report, wall)


def test_hf_hub_offline_skips_the_hub(online_env):
    env, _port = online_env
    env["HF_HUB_OFFLINE"] = "1"
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outcome"].startswith("unavailable:") and report["connects"] == []


def test_a_reachable_hub_is_asked_once_per_model(online_env):
    """The probe before torch is imported and the load after it ask the Hub once between them."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    asked: list[str] = []

    class Hub(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = json.dumps({"id": "laion/clap-htsat-unfused", "sha": "0" * 40, "siblings": []}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    env, _port = online_env
    for proxy in ("HTTPS_PROXY", "HTTP_PROXY"):
        env.pop(proxy)
    with ThreadingHTTPServer(("127.0.0.1", 0), Hub) as hub:
        threading.Thread(target=hub.serve_forever, daemon=True).start()
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{hub.server_address[1]}"
        script = ("from traum.embedding.hub import check_hub, probe_model\n"
                  "assert probe_model('laion/clap-htsat-unfused') is False\n"
                  "check_hub('laion/clap-htsat-unfused')\n")
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
        hub.shutdown()
    assert result.returncode == 0, result.stderr
    assert [p for p in asked if p.startswith("/api/models/")] == ["/api/models/laion/clap-htsat-unfused"], asked
