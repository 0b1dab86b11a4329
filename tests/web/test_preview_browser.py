"""The page's own tempo/key preview (Signalsmith Stretch's WASM in an AudioWorklet) in real headless
Chromium: quality of what the worklet renders, measured in Python on the samples the page sends back,
and latency of play and of a tempo change while playing, against the server's render."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import indexed_library
from tests.web import test_browser
from tests.web.test_browser import TOKEN, serving
from tests.web.test_map_preview import BREAK, KICK, MOOG, _pitch_hz
from traum.catalog import Catalog

# The browser and the page of the list's browser test, on this module's server.
browser, page = test_browser.browser, test_browser.page


@pytest.fixture(scope="module")
def stretched(tmp_path_factory, tiny_model):
    """(catalog, library) of a 125 BPM break, a Moog note (C3) and a kick, analysed and embedded."""
    return indexed_library(tmp_path_factory, "stretch", [BREAK, MOOG, KICK], tiny_model)


@pytest.fixture(scope="module")
def server(stretched, web_model):
    from traum.web.app import create_app

    with serving(create_app(stretched[0], model=web_model, token=TOKEN)) as url:
        yield url


def _id(stretched, relative: str) -> str:
    from tests.web.conftest import stem_id_of

    return stem_id_of(stretched[0], stretched[1] / relative)


RENDER = """async ([id, plan, rate, seconds]) => {
  const { renderOffline } = await import("/static/js/stretch.js");
  const { channels, latency } = await renderOffline(`/api/audio/${id}`, plan, rate);
  return { latency, samples: Array.from(channels[0].subarray(0, Math.round(seconds * rate))) };
}"""


def _audible_seconds(samples: np.ndarray, rate: int) -> float:
    """From the first to the last sample above -40 dB of the peak: the loop's length, whatever silence
    (the worklet's latency, the render's padding) surrounds it."""
    loud = np.flatnonzero(np.abs(samples) > np.abs(samples).max() * 10 ** (-40 / 20))
    return float(loud[-1] - loud[0]) / rate


def test_the_worklet_stretches_a_loop_and_shifts_a_note_in_tune(page, stretched):
    import soundfile as sf

    page.open()
    loop_id = _id(stretched, BREAK)
    matching = page.evaluate("(id) => fetch(`/api/preview/${id}`).then((r) => r.json())", loop_id)
    assert matching["bpm"] and abs(matching["bpm"] - 125) < 2, matching["bpm"]
    fetch = "([path]) => fetch(path).then(async (r) => [r.status, await r.json()])"
    status, halved = page.evaluate(fetch, [f"/api/preview/{loop_id}?tempo=half"])
    assert status == 200 and halved["bpm"] == matching["bpm"] / 2
    assert page.evaluate(fetch, [f"/api/preview/{loop_id}?tempo=triple"])[0] == 400
    from traum.audio.transform import note_shift
    from traum.web.preview import root_note

    with Catalog(stretched[0], readonly=True) as catalog:
        note = root_note(catalog.stem(_id(stretched, MOOG)) or {})
    moog = page.evaluate(fetch, [f"/api/preview/{_id(stretched, MOOG)}"])[1]
    assert note and moog["bpm"] is None  # a one-shot: varispeeded into each key, as the server renders it
    assert moog["keys"]["E major"] == {"method": "varispeed", "semitones": note_shift(note, "E major")}
    plan = page.evaluate("async ([m]) => (await import('/static/js/preview.js')).planOf(m, {bpm: 100, key: null})",
                         [matching])
    assert plan["method"] == "stretch" and plan["semitones"] == 0
    original, rate = sf.read(stretched[1] / BREAK, dtype="float32")
    rendered = page.evaluate(RENDER, [loop_id, plan, rate, 10])
    ratio = _audible_seconds(np.asarray(rendered["samples"]), rate) / _audible_seconds(original, rate)
    expected = 1 / plan["time_factor"]  # 125 → 100 BPM: 1.25 x as long
    print(f"\nloop {matching['bpm']:.1f} → 100 BPM in the worklet: length x{ratio:.4f} (expected x{expected:.4f}); "
          f"worklet latency {rendered['latency'] * 1000:.0f} ms")
    assert abs(ratio / expected - 1) < 0.01

    note_id = _id(stretched, MOOG)
    before, note_rate = sf.read(stretched[1] / MOOG, dtype="float32", always_2d=True)
    # Slowed as well: the element's varispeed lowers the pitch, which the worklet must take back.
    plan = {"method": "stretch", "time_factor": 0.8, "semitones": 4}
    shifted = page.evaluate(RENDER, [note_id, plan, note_rate, 3])
    after = np.asarray(shifted["samples"], dtype=np.float32)[round(shifted["latency"] * note_rate):]
    cents = 1200 * np.log2(_pitch_hz(after[:, None], note_rate) / _pitch_hz(before, note_rate))
    print(f"Moog C3 +4 semitones (and slowed to 0.8x) in the worklet: {cents:.1f} cents (expected 400)")
    assert abs(cents - 400) < 10


LISTEN = """async ([id]) => {
  const preview = await import("/static/js/preview.js");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; !preview.live && i < 3000; i++) await sleep(10);
  const { context, node } = preview.live;
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  node.connect(analyser);
  const mute = context.createGain();  // pulled by the destination, silent: the analyser sees every block
  mute.gain.value = 0;
  analyser.connect(mute).connect(context.destination);
  const wave = new Float32Array(analyser.fftSize);
  const player = document.getElementById("player");
  player.loop = true;  // a 2 s loop: still playing when the tempo changes
  const started = performance.now();
  let playing = null;
  player.addEventListener("playing", () => { playing = performance.now() - started; }, { once: true });
  document.querySelector(`#results li[data-id="${id}"] .play`).click();
  for (let i = 0; i < 2000; i++) {
    analyser.getFloatTimeDomainData(wave);
    if (wave.some((v) => Math.abs(v) > 1e-3)) break;
    await sleep(1);
  }
  const firstAudio = performance.now() - started;
  return { playing, firstAudio, latency: await node.latency(), ready: preview.timings.ready };
}"""


def test_a_loop_plays_at_the_project_tempo_in_the_page_and_follows_a_change_without_a_request(page, stretched):
    loop_id = _id(stretched, BREAK)
    page.open()
    page.evaluate("async () => { await import('/static/js/preview.js'); }")  # its handlers are attached
    page.fill("#project-bpm", "100")
    page.dispatch_event("#project-bpm", "change")
    heard = page.evaluate(LISTEN, [loop_id])
    page.wait_for_function("() => !document.getElementById('player').paused")
    true_bpm = page.evaluate("(id) => fetch(`/api/preview/${id}`).then((r) => r.json()).then((m) => m.bpm)", loop_id)
    page.wait_for_function("(r) => Math.abs(document.getElementById('player').playbackRate - r) < 1e-6",
                           arg=100 / true_bpm)
    assert page.evaluate("async () => (await import('/static/js/preview.js')).live.through") is True
    played = page.evaluate("() => document.getElementById('player').currentSrc")
    assert played.endswith(f"/api/audio/{loop_id}")  # the file itself: the page stretches it

    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.fill("#project-bpm", "120")
    page.dispatch_event("#project-bpm", "change")
    page.wait_for_function("(r) => Math.abs(document.getElementById('player').playbackRate - r) < 1e-6",
                           arg=120 / true_bpm)
    page.wait_for_function("async () => (await import('/static/js/preview.js')).timings.change > 0")
    change = page.evaluate("async () => (await import('/static/js/preview.js')).timings.change")
    assert not page.evaluate("() => document.getElementById('player').paused")
    assert not [u for u in requests if "/api/" in u], requests  # no render, not even a plan: known already

    # The baseline: the server's render of the same change (a tempo not rendered before), fetched by the page.
    server_ms = page.evaluate("""async (id) => { const t = performance.now();
        await (await fetch(`/api/audio/${id}?bpm=111`)).arrayBuffer(); return performance.now() - t; }""", loop_id)
    print(f"\nin the page: stretcher ready {heard['ready']:.0f} ms after the first project setting; "
          f"play → playing {heard['playing']:.0f} ms, first audio out of the worklet {heard['firstAudio']:.0f} ms; "
          f"BPM change → worklet has it "
          f"{change:.1f} ms, heard after its latency {heard['latency'] * 1000:.0f} ms | "
          f"server render of a new tempo (baseline): {server_ms:.0f} ms + restart")


def test_without_audioworklet_the_page_plays_the_servers_render(page, stretched):
    loop_id = _id(stretched, BREAK)
    page.add_init_script("delete window.AudioWorkletNode")  # as in a page opened over plain http on the LAN
    page.open()
    page.evaluate("async () => { await import('/static/js/preview.js'); }")  # its handlers are attached
    page.fill("#project-bpm", "100")
    page.dispatch_event("#project-bpm", "change")
    # preview.js (an ES module) has taken the change: before it loads, a play is the plain file.
    page.wait_for_function("() => document.getElementById('project-note').textContent.includes('100 BPM')")
    started = page.evaluate("""(id) => new Promise((done) => { const t = performance.now();
        document.getElementById("player").addEventListener("playing", () => done(performance.now() - t), {once: true});
        document.querySelector(`#results li[data-id="${id}"] .play`).click(); })""", loop_id)
    assert page.evaluate("() => document.getElementById('player').src").endswith(f"/api/audio/{loop_id}?bpm=100")
    print(f"\nserver render (the fallback): play → playing {started:.0f} ms")
    assert page.evaluate("async () => (await import('/static/js/preview.js')).mode") == "server"


RESULTS = "async () => (await import('/static/js/bus.js')).state.results.map((h) => [h.id, h.bpm, h.duration])"
PLAY = "async (id) => { const [bus, player] = await Promise.all([import('/static/js/bus.js'), " \
       "import('/static/js/player.js')]); await player.play(bus.state.results.find((h) => h.id === id), 0); }"


def test_loops_repeat_one_shots_play_once_and_l_switches_it(page, stretched):
    page.open()
    loop_id, shot_id = _id(stretched, BREAK), _id(stretched, KICK)
    loop_seconds = next(r[2] for r in page.evaluate(RESULTS) if r[0] == loop_id)
    assert page.get_attribute("#loop-toggle", "aria-pressed") == "true"
    page.evaluate(PLAY, loop_id)
    page.wait_for_timeout(int(loop_seconds * 1000) + 1500)  # past its end: still playing, from the top again
    assert page.evaluate("() => { const a = document.getElementById('player'); return a.loop && !a.paused }")
    page.evaluate("() => document.activeElement.blur()")  # out of the search box: keys are shortcuts
    page.keyboard.press("l")  # switched off while it plays: this pass is the last
    assert page.get_attribute("#loop-toggle", "aria-pressed") == "false"
    page.wait_for_function("() => document.getElementById('player').paused", timeout=int(loop_seconds * 1000) + 5000)
    page.keyboard.press("l")
    page.evaluate(PLAY, shot_id)  # a one-shot plays once, whatever the switch says
    assert page.evaluate("() => document.getElementById('player').loop") is False
    page.reload()  # the choice is kept in this browser
    page.wait_for_selector("#results li")
    assert page.get_attribute("#loop-toggle", "aria-pressed") == "true"
