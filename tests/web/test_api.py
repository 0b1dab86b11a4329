"""The REST API in-process (FastAPI TestClient) on a catalog built from the corpus."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from traum.web.app import create_app


@pytest.fixture
def client(web_db, web_model):
    return TestClient(create_app(web_db, model=web_model))


def first_kick(client) -> dict:
    return client.get("/api/search", params={"q": "kick", "k": 5}).json()["results"][0]


def test_search_returns_results_with_facts(client):
    body = client.get("/api/search", params={"q": "kick", "k": 5}).json()
    assert len(body["results"]) == 5 and body["query"]["mode"] == "hybrid"
    assert {"id", "path", "score", "duration", "bpm", "key", "category"} <= set(body["results"][0])
    filtered = client.get("/api/search", params={"q": "sound", "category": "kick", "k": 3}).json()["results"]
    assert filtered and all(r["category"] == "kick" for r in filtered)


def test_audio_supports_range_requests_and_counts_plays(client):
    hit = first_kick(client)
    full = client.get(f"/api/audio/{hit['id']}")
    assert full.status_code == 200 and full.headers["content-type"] == "audio/wav"
    assert full.content[:4] == b"RIFF"
    part = client.get(f"/api/audio/{hit['id']}", headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == full.content[4:12]
    assert part.headers["content-range"] == f"bytes 4-11/{len(full.content)}"
    stem = client.get(f"/api/stems/{hit['id']}").json()
    assert stem["usage_count"] >= 1 and stem["last_accessed"]


@pytest.mark.parametrize("path", [
    "/api/audio/0000000000000000000000000000000000000000000000000000000000000000",
    "/api/audio/..%2F..%2F..%2Fetc%2Fpasswd", "/api/audio/%2e%2e/%2e%2e/etc/passwd", "/api/audio/../../etc/passwd",
    "/api/stems/not-an-id", "/api/waveform/..%252F..%252Fetc%252Fpasswd", "/static/../../../../etc/passwd",
    "/api/similar/%2Fetc%2Fpasswd", "/etc/passwd",
])
def test_nothing_outside_the_catalog_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"root:" not in response.content


@pytest.mark.parametrize("params", [{"k": "abc"}, {"k": 0}, {"k": 100000}, {"key": "H minor", "q": "x"},
                                    {"bpm": "fast", "q": "x"}, {"category": "banana", "q": "x"},
                                    {"max_duration": -1}])
def test_bad_parameters_get_a_clear_4xx(client, params):
    response = client.get("/api/search", params=params)
    assert 400 <= response.status_code < 500
    assert response.json()["error"] and "Traceback" not in response.text


def test_rating_tags_waveform_and_similar(client):
    hit = first_kick(client)
    assert client.post(f"/api/stems/{hit['id']}/rating", json={"rating": 4}).json()["user_rating"] == 4
    assert client.post(f"/api/stems/{hit['id']}/rating", json={"rating": 9}).status_code == 422
    tagged = client.post(f"/api/stems/{hit['id']}/tags", json={"tags": ["zorblax", "fat "]}).json()
    assert tagged["user_tags"] == '["zorblax", "fat"]'
    assert client.get("/api/search", params={"q": "zorblax"}).json()["results"][0]["id"] == hit["id"]
    peaks = client.get(f"/api/waveform/{hit['id']}", params={"points": 50}).json()["peaks"]
    assert len(peaks) == 50 and max(peaks) > 0.1
    similar = client.get(f"/api/similar/{hit['id']}", params={"k": 4}).json()["results"]
    assert len(similar) == 4 and hit["id"] not in [r["id"] for r in similar]


def test_status_health_docs_and_page(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    status = client.get("/api/status").json()
    assert status["counts"]["indexed"] == 13 and status["model"]
    assert client.get("/docs").status_code == 200 and "/api/search" in client.get("/openapi.json").text
    page = client.get("/")
    assert page.status_code == 200 and "/static/app.js" in page.text
    assert "access-control-allow-origin" not in {k.lower() for k in page.headers}


def test_token_is_required_on_every_request(web_db):
    client = TestClient(create_app(web_db, token="s3cret"))
    assert client.get("/api/status").status_code == 401
    assert client.get("/").status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/status", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/", params={"token": "s3cret"}).status_code == 200
    assert client.get("/api/status").status_code == 200  # the cookie the page got
    assert client.get("/healthz").status_code == 200


def test_concurrent_searches_and_audio_requests_all_succeed(client):
    hit = first_kick(client)

    def request(i):
        if i % 2:
            return client.get(f"/api/audio/{hit['id']}", headers={"Range": "bytes=0-1023"}).status_code
        return client.get("/api/search", params={"q": ["kick", "snare", "pad", "bass"][i % 4]}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(request, range(50)))
    assert all(code in (200, 206) for code in codes)
