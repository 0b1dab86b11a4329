"""End to end in a real headless Chromium (Debian's package) driven by Playwright: type, audition, browse,
collect, export; each view's screenshot goes to test-artifacts/ for a person to look at (docs/web.md).

One server and one browser per module keep the CI time down; each test gets a fresh page (and cookie).
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is installed by .ci/run")
if not Path(CHROMIUM).exists():  # .ci/run installs it; a developer machine may not have it
    pytest.skip("Debian's chromium package is not installed", allow_module_level=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TOKEN = "browser-test-token"
PAD = "alien-monolith-pad.wav"  # 12 s: long enough to watch the playhead move


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


@pytest.fixture(scope="module")
def server(web_db, web_model):
    from traum.web.app import create_app

    with serving(create_app(web_db, model=web_model, token=TOKEN)) as url:
        yield url


def launch(p):
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    """A fresh page on the app, signed in with the token; fails the test on any page error."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.open = lambda query="": (page.goto(f"{server}/?token={TOKEN}{query}"),
                                  page.wait_for_selector("#results li", timeout=10000))
    yield page
    context.close()
    assert not errors


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=False)


def names(page) -> list[str]:
    return page.locator("#results li .name").all_inner_texts()


def search(page, text: str) -> None:
    page.fill("#q", text)
    page.wait_for_function("(t) => document.getElementById('summary-text').textContent.length > 0 && "
                           "document.getElementById('q').value === t", arg=text)
    page.wait_for_timeout(400)  # the debounce (150 ms) and the round trip


def test_the_token_moves_into_a_cookie(page, server):
    page.open()
    assert page.url == f"{server}/"
    cookie, = page.context.cookies()
    assert cookie["value"] == TOKEN and cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_space_types_in_the_search_box_and_plays_outside_it(page):
    page.open()
    page.click("#q")
    page.keyboard.type("punchy kick")
    assert page.input_value("#q") == "punchy kick"
    assert page.evaluate("() => document.getElementById('player').paused")
    page.wait_for_function("() => document.querySelector('#results li .name')")
    page.keyboard.press("ArrowDown")  # leaves the box for the results
    page.keyboard.press(" ")
    page.wait_for_function("() => !document.getElementById('player').paused", timeout=5000)
    assert page.locator("#results li.sel").count() == 1


def test_play_state_and_a_moving_playhead(page):
    page.open("&n=50")
    row = page.locator("#results li", has=page.locator(".name", has_text=PAD))
    row.locator(".play").click()
    page.wait_for_function("(n) => [...document.querySelectorAll('#results li.playing .name')]"
                           ".some((e) => e.textContent === n)", arg=PAD, timeout=10000)
    assert row.locator(".play").get_attribute("aria-label") == "stop"
    head = row.locator(".playhead")
    page.wait_for_function("(h) => Number(h.dataset.fraction) > 0.02", arg=head.element_handle(), timeout=10000)
    first = float(head.get_attribute("data-fraction"))
    page.wait_for_function("([h, f]) => Number(h.dataset.fraction) > f + 0.02", arg=[head.element_handle(), first],
                           timeout=10000)
    shot(page, "web-playing.png")
    page.keyboard.press(" ")  # the focus is not on the button: space stops, once
    page.wait_for_function("() => document.getElementById('player').paused")
    assert row.locator(".play").get_attribute("aria-label") == "play" and page.locator("li.playing").count() == 0


def test_results_show_the_folder_and_copy_the_full_path(page):
    page.open()
    search(page, "kick")
    first = page.locator("#results li").first
    assert first.locator(".folder").inner_text() == "dirt-samples/bd"
    first.locator(".reveal").click()
    path = first.locator(".path").inner_text()
    assert path.endswith("/dirt-samples/bd/" + first.locator(".name").inner_text())
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    first.locator(".copy").click()
    page.wait_for_function("() => document.getElementById('status').textContent.startsWith('copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == path
    shot(page, "web-search.png")


def test_an_empty_result_says_which_filter_excluded_everything(page):
    page.open()
    page.select_option("#key", "C# minor")
    page.locator("#chips .chip", has_text="pad").click()
    page.wait_for_selector("#empty:not([hidden])", timeout=5000)
    assert page.locator("#results li").count() == 0
    culprits = page.locator("#why li.culprit").all_inner_texts()
    assert culprits == ["key C# minor: 0 samples on their own"]
    assert "category pad: 1 sample" in page.locator("#why").inner_text()
    assert "no results" in page.locator("#summary-text").inner_text()
    shot(page, "web-empty.png")


def test_paging_shows_the_total_and_loads_more(page):
    page.open("&n=5")  # the library lists itself, five at a time
    assert page.locator("#results li").count() == 5
    assert page.locator("#summary-text").inner_text().startswith("13 in the library")
    page.click("#more")
    page.wait_for_function("() => document.querySelectorAll('#results li').length === 10")
    page.click("#more")
    page.wait_for_function("() => document.querySelectorAll('#results li').length === 13")
    assert page.locator("#more").is_hidden()
    assert len(set(names(page))) == 13 or len(set(page.locator("#results li").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.id)"))) == 13


def test_sort_orders_the_list_on_the_server(page):
    page.open()
    page.select_option("#sort", "duration")
    page.wait_for_function("() => document.getElementById('summary-text').textContent.includes('sorted by duration')")
    durations = [float(t.split(" s")[0]) for t in page.locator("#results li .meta").all_inner_texts()]
    assert durations == sorted(durations) and len(durations) == 13
    page.click("#sort-dir")
    page.wait_for_function("(d) => Number(document.querySelector('#results li .meta').textContent.split(' s')[0])"
                           " === d", arg=max(durations))
    page.select_option("#sort", "name")
    page.click("#sort-dir")  # back to A→Z
    page.wait_for_function("() => document.getElementById('summary-text').textContent.includes('sorted by name')")
    # The summary says "by name" from the select already; the direction's new list may still be coming.
    deadline = time.monotonic() + 10
    while (shown := names(page)) != sorted(shown, key=str.lower) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert shown == sorted(shown, key=str.lower) and len(shown) == 13


def test_similar_has_its_context_aspects_and_a_way_back(page):
    page.open()
    search(page, "kick")
    before = names(page)
    page.keyboard.press("Escape")  # leave the box
    page.keyboard.press("ArrowDown")
    target = page.locator("#results li.sel .name").inner_text()
    page.keyboard.press("s")
    page.wait_for_selector("#context:not([hidden])", timeout=5000)
    page.wait_for_function("() => /\\d+ results?/.test(document.getElementById('context-note').textContent)")
    assert page.locator("#context-name").inner_text() == target
    assert page.locator("#summary-text").inner_text() == f"similar to {target}, by sound"
    ids = page.locator("#results li").evaluate_all("(rows) => rows.map((r) => r.dataset.id)")
    assert ids and len(ids) == len(set(ids))
    page.locator("#aspects .chip", has_text="same category").click()
    page.wait_for_function("() => document.getElementById('summary-text').textContent.endsWith('same category')")
    page.wait_for_function("() => /\\d+ results?/.test(document.getElementById('context-note').textContent)")
    metas = page.locator("#results li .meta").all_inner_texts()
    assert metas and all(" kick " in f" {m.replace('·', ' ')} " for m in metas)
    shot(page, "web-similar.png")
    page.locator("#aspects .chip", has_text="same tempo").click()  # one-shots have no tempo: said, not silent
    page.wait_for_selector("#context-note.error", timeout=5000)
    assert "no tempo" in page.locator("#context-note").inner_text()
    page.keyboard.press("Escape")
    page.wait_for_selector("#context", state="hidden")
    assert names(page) == before and page.locator("#results li.sel .name").inner_text() == target


def test_keys_rate_and_move(page):
    page.open()
    search(page, "snare")
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    assert page.locator("#results li").nth(1).get_attribute("class").split() == ["hit", "sel"]
    page.keyboard.press("3")
    page.wait_for_function("() => document.querySelectorAll('#results li.sel .stars button.on').length === 3")
    page.keyboard.press("0")
    page.wait_for_function("() => document.querySelectorAll('#results li.sel .stars button.on').length === 0")
    page.locator("#results li.sel .tags").fill("3 s a")  # keys typed in a field are text, not shortcuts
    assert page.locator("#results li.sel .stars button.on").count() == 0 and page.locator("#context").is_hidden()


def test_collection_add_filter_and_kit_export(page):
    page.open()
    page.fill("#new-collection", "Browser Kit")
    page.click("#create-collection")
    page.wait_for_function("() => document.getElementById('collection').value === 'Browser Kit'")
    search(page, "kick")
    kicks = names(page)[:2]
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # the selected (first) result
    page.wait_for_function("() => document.getElementById('collection-size').textContent === '1 sample'")
    page.locator("#results li").nth(1).locator(".add").click()
    page.wait_for_function("() => document.getElementById('collection-size').textContent === '2 samples'")
    page.check("#only-collection")
    search(page, "")
    assert sorted(names(page)) == sorted(kicks)
    assert page.locator("#kit-drag").get_attribute("draggable") == "true"
    shot(page, "web-collection.png")
    with page.expect_download() as download:
        page.click("#kit-sfz")
    data = Path(download.value.path()).read_bytes()
    members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(m.rsplit("/", 1)[-1] for m in members if "/samples/" in m) == sorted(kicks)
    assert "Browser Kit/Browser Kit.sfz" in members


def test_no_layout_shift_while_results_arrive_and_the_phone_layout_fits(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page = context.new_page()
    page.add_init_script("""window.__shift = 0; new PerformanceObserver((list) => { for (const e of list.getEntries())
        if (!e.hadRecentInput) window.__shift += e.value; }).observe({type: 'layout-shift', buffered: true});""")
    page.goto(f"{server}/?token={TOKEN}")
    page.wait_for_function("() => document.querySelectorAll('#results .wave.drawn').length >= 5", timeout=10000)
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__shift") < 0.01
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "web-phone.png")
    context.close()


HOSTILE = '<img src=x onerror="window.pwned=1">kick<svg onload="window.pwned=2">.wav'


def test_hostile_names_are_text_and_similar_without_embeddings_says_why(browser, tmp_path):
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
        run_index([library], catalog, IndexOptions(cache=False, analyse=False))
    with serving(create_app(db, token=TOKEN)) as url:
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/?token={TOKEN}")
        page.fill("#q", "onerror")
        page.wait_for_selector("#results li", timeout=5000)
        assert page.locator("#results li .name").first.inner_text() == HOSTILE
        assert page.locator("#results img, #results svg").count() == 0
        assert page.evaluate("() => window.pwned") is None
        page.locator("#results li .similar").first.click()
        page.wait_for_selector("#context-note.error", timeout=5000)
        assert "no embedding" in page.locator("#context-note").inner_text()
        assert page.locator("#back").is_visible()
        page.close()
    assert not errors


def test_api_docs_render_offline_under_the_csp(browser, server):
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
    page.close()
    assert not errors and not remote
