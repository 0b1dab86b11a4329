"""The sample map and the project tempo/key preview in a real headless Chromium (WebGL via SwiftShader):
the corpus catalog on the map, hover to hear, click to select, lasso into a collection; the preview
URL at the project's BPM; frame times while panning and zooming 100k points (printed, not asserted:
performance targets live in benchmarks/). Screenshots go to test-artifacts/."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from tests.web.test_browser import CHROMIUM, TOKEN, serving, shot
from traum.catalog import Catalog, maps
from traum.catalog.store import PathOutcome, StemRecord

#: Chromium draws WebGL without a GPU only through SwiftShader, which it no longer enables by itself.
WEBGL_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-quic",
              "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--autoplay-policy=no-user-gesture-required"]
CATEGORIES = ["kick", "snare", "hihat", "bass", "pad", "synth", "vocal", "fx"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=WEBGL_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(web_db, web_model):
    from traum.web.app import create_app

    with serving(create_app(web_db, model=web_model, token=TOKEN)) as url:
        yield url


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{url}/?token={TOKEN}")
    page.wait_for_selector("#results li", timeout=20000)
    return page, errors


def show_map(page, timeout=60000):
    page.click("#tabs [data-view=map]")
    page.wait_for_selector("#map-view[data-points]", timeout=timeout)


def point_on_screen(page, index):
    x, y = page.evaluate("(i) => window.traumMap.plot.getScreenPosition(i)", index)
    box = page.locator("#map-canvas").bounding_box()
    return box["x"] + x, box["y"] + y


def test_the_map_shows_the_catalog_plays_on_hover_and_selects_on_click(browser, server):
    page, errors = open_page(browser, server)
    listed = page.evaluate("() => [...document.querySelectorAll('#results li')].length")
    show_map(page)
    data = page.evaluate("() => window.traumMap.data")
    assert len(data["ids"]) >= 12 and page.locator("#map-legend span").count() == len(data["categories"])
    shot(page, "web-map.png")
    # The first result of the list is on the map: hover it, hear it; click it, it is selected there too.
    first = page.evaluate("() => document.querySelector('#results li').dataset.id || null")
    target = data["ids"].index(first) if first in data["ids"] else 0
    page.mouse.move(*point_on_screen(page, target))
    page.wait_for_function("(id) => document.getElementById('map-view').dataset.hovered === id && "
                           "!document.getElementById('player').paused", arg=data["ids"][target], timeout=10000)
    assert data["ids"][target] in page.evaluate("() => document.getElementById('player').src")
    page.mouse.click(*point_on_screen(page, target))
    page.wait_for_function("(id) => document.getElementById('map-view').dataset.selected === id",
                           arg=data["ids"][target], timeout=5000)
    if listed and first:
        assert page.evaluate("() => document.querySelector('#results li.sel').dataset.id") == data["ids"][target]
    assert page.locator("#map-info").inner_text() != "…"
    page.context.close()
    assert not errors


def test_a_lasso_adds_a_group_to_the_collection(browser, server):
    page, errors = open_page(browser, server)
    page.fill("#new-collection", "map picks")
    page.click("#create-collection")
    page.wait_for_function("() => document.getElementById('collection').value === 'map picks'")
    show_map(page)
    box = page.locator("#map-canvas").bounding_box()
    # Shift+drag around the whole canvas: every point is inside the lasso.
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.down()
    for x, y in ((box["width"] - 5, 5), (box["width"] - 5, box["height"] - 5), (5, box["height"] - 5), (5, 8)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=8)
    page.mouse.up()
    page.keyboard.up("Shift")
    page.wait_for_selector("#map-add:not([hidden])", timeout=5000)
    count = len(page.evaluate("() => document.getElementById('map-view').dataset.selected.split(',')"))
    shot(page, "web-map-lasso.png")
    page.click("#map-add")
    page.wait_for_function("(n) => document.getElementById('collection-size').textContent.startsWith(String(n))",
                           arg=count, timeout=10000)
    page.context.close()
    assert not errors


def test_a_project_tempo_plays_loops_at_it(browser, server):
    page, errors = open_page(browser, server)
    page.fill("#project-bpm", "100")
    page.press("#project-bpm", "Enter")
    page.locator("#project-bpm").blur()
    page.wait_for_function("() => document.getElementById('project-note').textContent.includes('100 BPM')")
    page.locator("#results li .play").first.click()
    page.wait_for_function("() => !document.getElementById('player').paused", timeout=10000)
    src = page.evaluate("() => document.getElementById('player').src")
    mode = page.evaluate("async () => (await import('/static/js/preview.js')).mode")
    # The page stretches the file itself (tests/web/test_preview_browser.py); without AudioWorklet, the server.
    assert (mode == "live" and "bpm=" not in src) or (mode == "server" and "bpm=100" in src), (mode, src)
    shot(page, "web-project-tempo.png")
    page.context.close()
    assert not errors


@pytest.fixture(scope="module")
def big_db(tmp_path_factory):
    """100k synthetic samples with map points, written through the catalog module: a map to pan."""
    db = tmp_path_factory.mktemp("bigmap") / "catalog.db"
    n = 100_000
    rng = np.random.default_rng(0)
    centres = rng.uniform(-0.8, 0.8, size=(len(CATEGORIES), 2))
    labels = rng.integers(0, len(CATEGORIES), size=n)
    coords = np.clip(centres[labels] + rng.normal(scale=0.12, size=(n, 2)), -1, 1)
    ids = [f"{i:064x}" for i in range(n)]
    with Catalog(db) as catalog:
        for start in range(0, n, 10_000):
            chunk = range(start, min(n, start + 10_000))
            catalog.write_batch(
                stems=[StemRecord(ids[i], f"/synthetic/{i}.wav", 1000, 0.5, 44100, 1, 16, "WAV",
                                  {"category": CATEGORIES[labels[i]]}) for i in chunk],
                outcomes=[PathOutcome(f"/synthetic/{i}.wav", "indexed", ids[i], 1000, 1) for i in chunk],
                embeddings=[(ids[i], np.eye(8, dtype=np.float32)[labels[i]], [], "synthetic") for i in chunk])
        maps.replace_layout(catalog, "synthetic", ids, coords)
    return db


def test_frame_times_while_panning_and_zooming_100k_points(browser, big_db):
    from traum.web.app import create_app

    with serving(create_app(big_db, token=TOKEN)) as url:
        page, errors = open_page(browser, url)
        show_map(page, timeout=120000)
        assert page.evaluate("() => window.traumMap.data.ids.length") == 100_000
        box = page.locator("#map-canvas").bounding_box()
        middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.evaluate("""() => { window.frames_ = []; let last = performance.now();
            const tick = (t) => { window.frames_.push(t - last); last = t; requestAnimationFrame(tick); };
            requestAnimationFrame(tick); }""")
        page.mouse.move(*middle)
        for _ in range(3):
            for step in range(10):
                page.mouse.wheel(0, -120 if step < 5 else 120)
                page.wait_for_timeout(30)
            page.mouse.down()
            page.mouse.move(middle[0] + 200, middle[1] + 100, steps=20)
            page.mouse.move(*middle, steps=20)
            page.mouse.up()
        frames = page.evaluate("() => window.frames_.slice(2)")
        shot(page, "web-map-100k.png")
        page.context.close()
    median, p95 = statistics.median(frames), float(np.percentile(frames, 95))
    print(f"\n100k points, {len(frames)} frames while panning/zooming: median {median:.1f} ms, p95 {p95:.1f} ms")
    assert len(frames) > 20 and not errors
