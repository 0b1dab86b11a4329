"""Who may reach the server and what it will hand out: Host check, token, files that still match the
catalog, body limit, framing and CSP, offline /docs, error classes (docs/security.md lists these)."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.helpers import CORPUS
from tests.web.conftest import BASE, KICK, stem_id_of
from traum.catalog import Catalog
from traum.errors import CatalogError, ConfigError, NotFound, TraumError
from traum.pipeline import IndexOptions, run_index
from traum.web.app import create_app, status_of
from traum.web.security import LOOPBACK_NAMES, allowed_hosts

STATIC = Path(__file__).resolve().parents[2] / "src" / "traum" / "web" / "static"


# -- DNS rebinding: the Host header must name this server ---------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8765", "127.0.0.1.evil.example",
                                  "localhost.evil.example:8765", "192.168.1.10:8765"])
def test_a_foreign_host_header_gets_400_and_no_data(small_client, host):
    for path in ("/api/status", "/", "/api/search?q=kick"):
        response = small_client.get(path, headers={"Host": host})
        assert response.status_code == 400
        assert "counts" not in response.text and "Traum" not in response.text


@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST", "127.0.0.1"])
def test_loopback_names_are_answered(small_client, host):
    assert small_client.get("/api/status", headers={"Host": host}).status_code == 200


def test_hosts_allowed_for_each_kind_of_bind():
    import socket

    assert set(allowed_hosts("127.0.0.1")) == set(LOOPBACK_NAMES) == set(allowed_hosts("::1"))
    lan = allowed_hosts("192.0.2.7", ["studio.example", "[2001:db8::1]"])
    assert {"192.0.2.7", socket.gethostname().lower(), "studio.example", "[2001:db8::1]"} <= set(lan)
    assert set(LOOPBACK_NAMES) <= set(allowed_hosts("0.0.0.0"))


def test_an_added_host_name_is_answered_and_others_are_not(small_library):
    app = create_app(small_library[0], token="t", hosts=allowed_hosts("192.0.2.7", ["studio.example"]))
    client = TestClient(app, base_url="http://studio.example:8765", headers={"Authorization": "Bearer t"})
    assert client.get("/api/status").status_code == 200
    assert client.get("/api/status", headers={"Host": "192.0.2.7:8765"}).status_code == 200
    assert client.get("/api/status", headers={"Host": "evil.example"}).status_code == 400


# -- the token ----------------------------------------------------------------------------------------

def test_token_is_required_on_every_request_but_healthz(small_library):
    client = TestClient(create_app(small_library[0], token="s3cret"), base_url=BASE)
    assert client.get("/healthz").json() == {"status": "ok"}
    for path in ("/", "/api/status", "/docs", "/openapi.json", "/static/app.js"):
        assert client.get(path).status_code == 401, path
    assert client.get("/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/status", params={"token": "s3cre"}).status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/status", params={"token": "s3cret"}).status_code == 200
    assert client.get("/api/status").status_code == 401  # an API call with ?token= sets no cookie


def test_the_page_moves_the_token_into_an_httponly_strict_cookie(small_library):
    client = TestClient(create_app(small_library[0], token="s3cret"), base_url=BASE)
    moved = client.get("/", params={"token": "s3cret", "q": "kick"}, follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"] == "/?q=kick" and "s3cret" not in moved.headers["location"]
    cookie = moved.headers["set-cookie"]
    assert "s3cret" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/?q=kick")  # the redirect target, with the cookie only
    assert page.status_code == 200 and "/static/js/main.js" in page.text
    assert client.get("/api/status").status_code == 200


def test_serve_makes_a_token_by_default_and_no_token_is_loopback_only():
    from traum.cli.serve import _token, _url

    first, second = _token("127.0.0.1", None, False), _token("127.0.0.1", None, False)
    assert first and second and first != second and len(first) >= 40
    assert _token("127.0.0.1", "mine", False) == "mine"
    assert _token("127.0.0.1", None, True) is None
    for host in ("0.0.0.0", "192.0.2.7", "::"):
        with pytest.raises(ConfigError, match="loopback only"):
            _token(host, None, True)
    assert _url("127.0.0.1", 8765, "a[/]b&c") == "http://127.0.0.1:8765/?token=a%5B%2F%5Db%26c"


# -- files are served only while they still match the catalog ------------------------------------------

def test_a_file_swapped_for_a_symlink_to_a_secret_is_not_served(small_client, small_library, tmp_path):
    db, library = small_library
    kick = library / KICK
    stem_id = stem_id_of(db, kick)
    assert small_client.get(f"/api/audio/{stem_id}").content[:4] == b"RIFF"
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 10)
    kick.unlink()
    kick.symlink_to(secret)
    for path in (f"/api/audio/{stem_id}", f"/api/waveform/{stem_id}"):
        response = small_client.get(path)
        assert response.status_code == 404
        assert b"root:" not in response.content and "changed since indexing" in response.json()["error"]


def test_a_file_whose_size_changed_is_not_served(small_client, small_library):
    db, library = small_library
    kick = library / KICK
    stem_id = stem_id_of(db, kick)
    before = kick.stat()
    with open(kick, "ab") as fh:
        fh.write(b"\0" * 1024)
    os.utime(kick, ns=(before.st_atime_ns, before.st_mtime_ns))  # same time: only the size gives it away
    response = small_client.get(f"/api/audio/{stem_id}")
    assert response.status_code == 404 and "run `traum index`" in response.json()["error"]


def test_a_fifo_swapped_in_is_refused_without_blocking(small_client, small_library):
    db, library = small_library
    kick = library / KICK
    stem_id = stem_id_of(db, kick)
    kick.unlink()
    os.mkfifo(kick)
    codes: dict[str, int] = {}

    def ask() -> None:
        for path in (f"/api/audio/{stem_id}", f"/api/waveform/{stem_id}"):
            codes[path] = small_client.get(path).status_code

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(60)  # a guard against hanging the suite, not a timing assertion
    if asker.is_alive():  # a reader blocked in open(): give it a writer so the thread can finish
        os.close(os.open(kick, os.O_WRONLY | os.O_NONBLOCK))
        asker.join(10)
        pytest.fail("a request blocked opening the FIFO")
    assert set(codes.values()) == {404}


def test_waveform_of_a_deleted_file_is_404_with_the_reason_and_no_traceback(small_client, small_library, caplog):
    db, library = small_library
    kick = library / KICK
    stem_id = stem_id_of(db, kick)
    kick.unlink()
    with caplog.at_level(logging.INFO):
        response = small_client.get(f"/api/waveform/{stem_id}")
    assert response.status_code == 404
    assert "no longer on disk" in response.json()["error"] and "run `traum index`" in response.json()["error"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# -- request bodies are capped ------------------------------------------------------------------------

def test_a_large_body_gets_413_declared_or_streamed(small_client, small_library):
    db, library = small_library
    stem_id = stem_id_of(db, library / KICK)
    big = json.dumps({"tags": ["x" * 50] * 3000}).encode()  # ≈ 160 KB
    assert small_client.post(f"/api/stems/{stem_id}/tags", content=big,
                             headers={"Content-Type": "application/json"}).status_code == 413

    def chunks():
        for start in range(0, len(big), 4096):
            yield big[start:start + 4096]

    streamed = small_client.post(f"/api/stems/{stem_id}/tags", content=chunks(),
                                 headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413
    ok = small_client.post(f"/api/stems/{stem_id}/tags", json={"tags": ["fine"]})
    assert ok.status_code == 200 and ok.json()["user_tags"] == ["fine"]


# -- framing, sniffing, referrers, script sources --------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/api/status", "/static/app.js", "/api/stems/not-an-id", "/docs"])
def test_every_response_forbids_framing_sniffing_and_referrers(small_client, path):
    headers = small_client.get(path).headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    policy = dict(part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";"))
    assert policy["frame-ancestors"] == "'none'" and policy["default-src"] == "'self'"
    # Scripts from 'self' only: nothing inline, nothing remote ('unsafe-eval' for regl's compiled draw calls).
    assert set(policy.get("script-src", "'self'").split()) <= {"'self'", "'unsafe-eval'", "'wasm-unsafe-eval'"}


@pytest.mark.parametrize("page", ["index.html", "docs.html"])
def test_pages_have_no_inline_script(page):
    html = (STATIC / page).read_text()
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html))
    assert not re.search(r"<script[^>]*>\s*[^<\s]", html)
    assert not re.search(r"\son[a-z]+\s*=", html)


# -- /docs works offline -----------------------------------------------------------------------------

def test_docs_load_nothing_from_elsewhere_and_their_assets_are_served(small_client):
    docs = small_client.get("/docs")
    assert docs.status_code == 200
    assert not re.search(r"https?://", docs.text)
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert small_client.get(asset).status_code == 200, asset
    assert small_client.get("/redoc").status_code == 404
    assert (STATIC / "vendor/swagger-ui/LICENSE").read_text().count("Apache License") >= 1


# -- errors: the right class of status -----------------------------------------------------------------

def test_a_catalog_that_breaks_while_serving_is_a_500_in_one_line(small_client, small_library):
    db, library = small_library
    stem_id = stem_id_of(db, library / KICK)
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE processing_status")
    conn.commit()
    conn.close()
    for path in ("/api/status", f"/api/stems/{stem_id}", "/api/search?q=kick"):
        response = small_client.get(path)
        assert response.status_code == 500, path
        error = response.json()["error"]
        assert "catalog" in error and "\n" not in error and "Traceback" not in response.text


def test_error_classes_map_to_status_codes():
    assert status_of(NotFound("x")) == 404
    assert status_of(CatalogError("x")) == 500
    assert status_of(ConfigError("x")) == 400
    assert status_of(TraumError("x")) == 400


def test_a_file_named_in_a_legacy_encoding_is_listed_and_playable(tmp_path):
    """A name that is not UTF-8 (an archive unpacked with the wrong code page) is a sample like any other."""
    library = tmp_path / "library"
    library.mkdir()
    legacy = library / os.fsdecode(b"caf\xe9 kick.wav")
    shutil.copy(CORPUS / KICK, legacy)
    db = tmp_path / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(analyse=False, cache=False))
    client = TestClient(create_app(db), base_url=BASE)
    stem_id = stem_id_of(db, legacy)
    found = client.get("/api/search", params={"q": "kick"})
    assert found.status_code == 200, found.text
    hits = found.json()["results"]
    assert [h["id"] for h in hits] == [stem_id] and hits[0]["path"].endswith("caf\ufffd kick.wav")
    audio = client.get(f"/api/audio/{stem_id}")
    assert audio.status_code == 200 and audio.content == legacy.read_bytes()
    assert client.get(f"/api/waveform/{stem_id}").status_code == 200
