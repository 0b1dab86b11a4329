"""`traum serve` as a user starts it: a token by default, a URL that survives odd characters, a Host
check, and `--no-token` refused off loopback."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from traum.errors import ConfigError

SERVE = [sys.executable, "-m", "traum.cli.main", "serve"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen([*SERVE, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def url(self) -> str:
        deadline = time.monotonic() + 120  # a guard against a server that never starts
        while time.monotonic() < deadline and self.proc.poll() is None:
            found = [m.group(0) for line in self.lines if (m := re.search(r"http://\S+", line))]
            if found:
                base = found[0].split("?")[0]
                try:
                    if httpx.get(base + "healthz").status_code == 200:
                        return found[0]
                except httpx.TransportError:
                    pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"traum serve did not start: {''.join(self.lines)}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(20)


@pytest.fixture
def odd_db(web_db, tmp_path) -> Path:
    """The catalog in a folder whose name Rich would read as markup."""
    folder = tmp_path / "lib[" / "]b"
    folder.mkdir(parents=True)
    shutil.copy(web_db, folder / "catalog.db")
    return folder / "catalog.db"


def test_serve_makes_a_token_and_prints_the_url_that_carries_it(odd_db):
    port = free_port()
    server = Server(["--db", str(odd_db), "--port", str(port)])
    try:
        url = server.url()
        token = re.search(r"\?token=([\w-]+)$", url).group(1)
        assert len(token) >= 40 and str(odd_db) in "".join(server.lines)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/api/status").status_code == 401
        opened = httpx.get(url, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/"
        status = httpx.get(f"{base}/api/status", cookies=opened.cookies)
        assert status.status_code == 200 and status.json()["counts"]["indexed"] == 13
        rebound = httpx.get(f"{base}/api/status", headers={"Host": "evil.example", "Authorization": f"Bearer {token}"})
        assert rebound.status_code == 400
    finally:
        server.stop()


def test_a_token_with_markup_characters_starts_and_works(odd_db):
    port = free_port()
    server = Server(["--db", str(odd_db), "--port", str(port), "--token", "a[/]b"])
    try:
        url = server.url()
        assert url.endswith("?token=a%5B%2F%5Db")
        status = httpx.get(f"http://127.0.0.1:{port}/api/status", headers={"Authorization": "Bearer a[/]b"})
        assert status.status_code == 200
    finally:
        server.stop()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.7"])
def test_no_token_is_refused_off_loopback(odd_db, host):
    result = subprocess.run([*SERVE, "--db", str(odd_db), "--host", host, "--no-token"], check=False,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == ConfigError.exit_code == 2  # a configuration error, as grep
    assert "loopback only" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
