"""End to end in a real headless Chromium (Debian's package) driven by Playwright: type, see, play, rate."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run")
if not Path(CHROMIUM).exists():  # .ci/run installs it; a developer machine may not have it
    pytest.skip("Debian's chromium package is not installed", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKEN = "browser-test-token"


@contextmanager
def serving(app):
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(5)


@pytest.fixture
def server(web_db, web_model):
    from traum.web.app import create_app

    with serving(create_app(web_db, model=web_model, token=TOKEN)) as url:
        yield url


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])


def test_type_see_play_rate_in_a_real_browser(server, tmp_path):
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server}/?token={TOKEN}")
        # The token went into an HttpOnly cookie; the address bar no longer shows it.
        assert page.url == f"{server}/"
        cookie, = page.context.cookies()
        assert cookie["value"] == TOKEN and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        page.fill("#q", "kick")
        page.wait_for_selector("#results li", timeout=5000)
        assert page.locator("#results li").count() >= 3
        assert "kick" in page.locator("#results li .meta").first.inner_text()
        page.locator("#results li .play").first.click()
        page.wait_for_function("() => document.getElementById('player').currentTime > 0.05", timeout=10000)
        page.locator("#results li").first.locator(".stars button").nth(2).click()
        page.wait_for_function("() => document.querySelectorAll('#results li')[0]"
                               ".querySelectorAll('.stars button.on').length === 3", timeout=5000)
        page.wait_for_function("() => document.getElementById('status').textContent.includes('samples')", timeout=5000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "web-ui.png"), full_page=True)
        browser.close()
    assert not errors


HOSTILE = '<img src=x onerror="window.pwned=1">kick<svg onload="window.pwned=2">.wav'


def test_hostile_file_names_are_shown_as_text(tmp_path):
    from tests.helpers import CORPUS
    from tests.web.conftest import KICK
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index
    from traum.web.app import create_app

    library = tmp_path / "library"
    library.mkdir()
    shutil.copy(CORPUS / KICK, library / HOSTILE)
    db = tmp_path / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(cache=False))
    with serving(create_app(db, token=TOKEN)) as url, playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/?token={TOKEN}")
        page.fill("#q", "onerror")
        page.wait_for_selector("#results li", timeout=5000)
        assert page.locator("#results li .name").first.inner_text() == HOSTILE
        assert page.locator("#results img, #results svg").count() == 0
        assert page.evaluate("() => window.pwned") is None
        browser.close()
    assert not errors


def test_api_docs_render_offline_under_the_csp(server):
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page()
        errors, remote = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
        page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(server) else None)
        page.goto(f"{server}/docs?token={TOKEN}")
        assert page.url == f"{server}/docs"
        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
        assert "Traum" in page.locator(".swagger-ui .info .title").inner_text()
        page.wait_for_selector('.opblock-summary-path:has-text("/api/search")', timeout=5000)
        browser.close()
    assert not errors and not remote
