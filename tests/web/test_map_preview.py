"""GET /api/map (the sample map, laid out off the request thread) and /api/audio/{id}?bpm=&key=&tempo=
(previews at the project's tempo and key), on real audio."""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from tests.helpers import indexed_library
from tests.web.conftest import BASE, stem_id_of
from traum.catalog import Catalog

BREAK = "dirt-samples/breaks125/016_bllstmp.wav"
MOOG = "dirt-samples/moog/001_Mighty Moog C3.wav"
KICK = "dirt-samples/bd/BT0A0D0.wav"
SNARE = "dirt-samples/sn/ST0T0S0.wav"
PAD = "dirt-samples/pad/alien-monolith-pad.wav"


@pytest.fixture(scope="module")
def matched(tmp_path_factory, tiny_model):
    """(catalog, library) of a break, a pitched note and three drums, analysed and embedded."""
    return indexed_library(tmp_path_factory, "match", [BREAK, MOOG, KICK, SNARE, PAD], tiny_model)


@pytest.fixture(scope="module")
def client(matched, web_model):
    from traum.web.app import create_app

    return TestClient(create_app(matched[0], model=web_model, token="t"), base_url=BASE,
                      headers={"Authorization": "Bearer t"})


def _stem(client, matched, relative) -> dict:
    return client.get(f"/api/stems/{stem_id_of(matched[0], matched[1] / relative)}").json()


def test_the_map_is_laid_out_off_the_request_thread_then_lists_every_present_sample(matched, client, monkeypatch):
    import threading

    from traum.search import layout

    # A fit of 5 samples is instant; held until the first answer is seen, it stands for a big one.
    gate, real_fit = threading.Event(), layout.fit
    monkeypatch.setattr(layout, "fit", lambda vectors: (gate.wait(30), real_fit(vectors))[1])
    first = client.get("/api/map")
    gate.set()
    assert first.status_code == 202 and not first.json()["ready"]
    assert first.json()["message"].startswith("laying out 5 samples")
    deadline = time.monotonic() + 120
    while (answer := client.get("/api/map")).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
    body = answer.json()
    assert answer.status_code == 200 and body["ready"]
    ids = {stem_id_of(matched[0], matched[1] / rel) for rel in (BREAK, MOOG, KICK, SNARE, PAD)}
    assert set(body["ids"]) == ids and len(body["ids"]) == 5
    assert all(-1 <= v <= 1 for v in body["x"] + body["y"]) and len(set(zip(body["x"], body["y"], strict=True))) == 5
    for stem_id, category in zip(body["ids"], body["category"], strict=True):
        assert body["categories"][category] == client.get(f"/api/stems/{stem_id}").json()["category"]
    assert TestClient(client.app, base_url=BASE).get("/api/map").status_code == 401  # the token, as everywhere


def test_a_loop_plays_at_the_project_tempo(matched, client):
    loop = _stem(client, matched, BREAK)
    assert loop["bpm"], "the break's tempo was not detected"
    original = sf.info(matched[1] / BREAK).frames
    started = time.perf_counter()
    answer = client.get(f"/api/audio/{loop['id']}", params={"bpm": "100"})
    first = time.perf_counter() - started
    assert answer.status_code == 200 and answer.headers["content-type"] == "audio/wav"
    rendered, _rate = sf.read(io.BytesIO(answer.content), always_2d=True)
    assert abs(len(rendered) / original - loop["bpm"] / 100) < 0.01 * loop["bpm"] / 100
    halved = client.get(f"/api/audio/{loop['id']}", params={"bpm": "100", "tempo": "half"})  # true tempo: bpm / 2
    assert abs(sf.info(io.BytesIO(halved.content)).frames / original - loop["bpm"] / 200) < 0.01 * loop["bpm"] / 200
    print(f"render of a {original / sf.info(matched[1] / BREAK).samplerate:.1f} s loop: {first * 1000:.0f} ms")


def _pitch_hz(samples: np.ndarray, rate: int) -> float:
    import librosa

    mono = samples.mean(axis=1)[: rate * 2]
    f0, voiced, _ = librosa.pyin(mono, fmin=30, fmax=2000, sr=rate, frame_length=4096)
    return float(np.nanmedian(f0[voiced]))


def test_a_note_is_shifted_to_the_project_key(matched, client):
    from traum.audio.transform import key_shift, note_shift
    from traum.web.preview import root_note

    note = _stem(client, matched, MOOG)
    with Catalog(matched[0], readonly=True) as catalog:
        root = root_note(catalog.stem(note["id"]) or {})
    assert root or note["key"], "the note's pitch was not detected"
    shift = note_shift(root, "E minor") if root else key_shift(note["key"], "E minor")
    assert shift != 0
    answer = client.get(f"/api/audio/{note['id']}", params={"key": "E minor"})
    assert answer.status_code == 200
    before, rate = sf.read(matched[1] / MOOG, always_2d=True)
    after, rate_after = sf.read(io.BytesIO(answer.content), always_2d=True)
    cents = 1200 * np.log2(_pitch_hz(after, rate_after) / _pitch_hz(before, rate))
    assert abs(cents - 100 * shift) < 10


def test_a_drum_one_shot_is_served_as_it_is_and_bad_parameters_say_what_is_wrong(matched, client):
    kick = _stem(client, matched, KICK)
    plain = client.get(f"/api/audio/{kick['id']}")
    assert client.get(f"/api/audio/{kick['id']}", params={"bpm": "100"}).content == plain.content
    for params, word in (({"bpm": "fast"}, "bpm="), ({"bpm": "900"}, "bpm="), ({"key": "H major"}, "key="),
                         ({"bpm": "100", "tempo": "triple"}, "tempo=")):
        answer = client.get(f"/api/audio/{kick['id']}", params=params)
        assert answer.status_code == 400 and answer.json()["error"].startswith(word), params
        assert "\n" not in answer.json()["error"]


def test_a_changed_file_is_not_rendered(matched, client):
    loop = _stem(client, matched, BREAK)
    path = matched[1] / BREAK
    saved, stat = path.read_bytes(), path.stat()
    try:
        path.write_bytes(saved[:-1000])
        assert client.get(f"/api/audio/{loop['id']}", params={"bpm": "100"}).status_code == 404
    finally:
        path.write_bytes(saved)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
