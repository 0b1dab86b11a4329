"""The REST API in-process (FastAPI TestClient) on a catalog built from the corpus."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import BASE
from traum.web.app import create_app


@pytest.fixture
def client(web_db, web_model):
    return TestClient(create_app(web_db, model=web_model), base_url=BASE)


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
    assert tagged["user_tags"] == ["zorblax", "fat"]
    found = client.get("/api/search", params={"q": "zorblax"}).json()["results"][0]
    assert found["id"] == hit["id"]
    # A fresh search shows what was saved: the page draws stars and tags from the hits.
    assert found["user_rating"] == 4 and found["user_tags"] == ["zorblax", "fat"]
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
    assert page.status_code == 200 and "/static/js/main.js" in page.text
    assert "access-control-allow-origin" not in {k.lower() for k in page.headers}


def test_concurrent_searches_and_audio_requests_all_succeed(client):
    hit = first_kick(client)

    def request(i):
        if i % 2:
            return client.get(f"/api/audio/{hit['id']}", headers={"Range": "bytes=0-1023"}).status_code
        return client.get("/api/search", params={"q": ["kick", "snare", "pad", "bass"][i % 4]}).status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(request, range(50)))
    assert all(code in (200, 206) for code in codes)


def test_stem_json_columns_are_lists_and_objects_not_strings(client):
    hit = first_kick(client)
    stem = client.get(f"/api/stems/{hit['id']}").json()
    assert isinstance(stem["tags"], list) and isinstance(stem["user_tags"], list)
    assert isinstance(stem["quality_issues"], list)
    assert isinstance(stem["spectral_features"], dict) and isinstance(stem["spectral_features"]["mfcc_mean"], list)
    assert isinstance(stem["temporal_features"], dict) and isinstance(stem["harmonic_features"], dict)
    assert stem["quality_ok"] in (True, False) and stem["paths"] == [hit["path"]]
    assert {"loudness_lufs", "true_peak_dbfs"} <= set(stem)


def test_openapi_documents_the_shapes_the_endpoints_return(client):
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if path.startswith("/api/audio") or path.endswith("/kit"):
                continue
            body = op["responses"]["200"]["content"]["application/json"]["schema"]
            assert "$ref" in body, f"{method.upper()} {path} returns an undocumented shape"
            if path.startswith("/api/"):
                assert op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    hit = schemas["Hit"]["properties"]
    assert hit["user_tags"]["type"] == "array" and hit["quality_issues"]["type"] == "array"
    assert {"user_rating", "loudness_lufs", "true_peak_dbfs", "quality_ok"} <= set(hit)
    assert schemas["Stem"]["properties"]["tags"]["type"] == "array"
    search = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert {"quality", "min_lufs", "max_lufs"} <= search


def test_quality_and_loudness_filters(client):
    ok = client.get("/api/search", params={"q": "sound", "quality": "ok", "k": 50}).json()["results"]
    issues = client.get("/api/search", params={"q": "sound", "quality": "issues", "k": 50}).json()["results"]
    assert ok and all(r["quality_ok"] is True for r in ok)
    assert all(r["quality_ok"] is False for r in issues)
    assert not {r["id"] for r in ok} & {r["id"] for r in issues}
    loud = client.get("/api/search", params={"q": "sound", "min_lufs": -30, "max_lufs": 0}).json()["results"]
    assert all(r["loudness_lufs"] is not None and -30 <= r["loudness_lufs"] <= 0 for r in loud)
    assert client.get("/api/search", params={"q": "x", "quality": "great"}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "min_lufs": "loud"}).status_code == 422


def test_the_library_lists_sorted_and_paged_on_the_server(client):
    whole = client.get("/api/search", params={"sort": "duration", "k": 500}).json()
    durations = [r["duration"] for r in whole["results"]]
    assert whole["total"] == 13 and durations == sorted(durations) and whole["query"]["mode"] == "list"
    pages = [client.get("/api/search", params={"sort": "duration", "k": 5, "offset": o}).json() for o in (0, 5, 10)]
    assert [r["id"] for p in pages for r in p["results"]] == [r["id"] for r in whole["results"]]
    assert all(p["total"] == 13 for p in pages)
    loud = client.get("/api/search", params={"sort": "loudness"}).json()
    assert loud["descending"] is True
    lufs = [r["loudness_lufs"] for r in loud["results"]]
    assert lufs == sorted(lufs, reverse=True)
    z_to_a = client.get("/api/search", params={"sort": "name", "desc": True}).json()["results"]
    names = [r["filename"].lower() for r in z_to_a]
    assert names == sorted(names, reverse=True)
    assert client.get("/api/search", params={"sort": "colour"}).status_code == 422


def test_a_text_query_ranks_by_relevance_or_sorts_by_a_fact(client):
    ranked = client.get("/api/search", params={"q": "drum hit", "k": 8}).json()
    assert ranked["sort"] == "relevance" and [r["rank"] for r in ranked["results"]] == list(range(1, 9))
    assert ranked["total"] >= 8
    by_length = client.get("/api/search", params={"q": "drum hit", "k": 8, "sort": "duration"}).json()["results"]
    assert [r["duration"] for r in by_length] == sorted(r["duration"] for r in by_length)
    second = client.get("/api/search", params={"q": "drum hit", "k": 4, "offset": 4}).json()["results"]
    assert [r["id"] for r in second] == [r["id"] for r in ranked["results"][4:8]]


def test_an_empty_result_says_what_each_condition_lets_through(client):
    body = client.get("/api/search", params={"q": "kick", "key": "C# minor", "category": "pad"}).json()
    assert body["results"] == [] and body["total"] == 0
    assert {"filter": "key", "value": "C# minor", "matching": 0} in body["why_empty"]
    assert {"filter": "category", "value": "pad", "matching": 1} in body["why_empty"]
    assert client.get("/api/search", params={"q": "kick"}).json()["why_empty"] == []


def test_similar_names_its_target_and_matches_by_aspect(client):
    kick = first_kick(client)
    body = client.get(f"/api/similar/{kick['id']}", params={"aspect": "category"}).json()
    assert body["target"]["id"] == kick["id"] and body["aspect"] == "category"
    assert body["results"] and all(r["category"] == kick["category"] for r in body["results"])
    assert kick["id"] not in [r["id"] for r in body["results"]]
    everything = client.get(f"/api/similar/{kick['id']}", params={"k": 500}).json()
    assert everything["total"] == 12 and len(everything["results"]) == 12
    page = client.get(f"/api/similar/{kick['id']}", params={"k": 3, "offset": 3}).json()["results"]
    assert [r["id"] for r in page] == [r["id"] for r in everything["results"][3:6]]
    one_shot = client.get(f"/api/similar/{kick['id']}", params={"aspect": "bpm"})
    assert one_shot.status_code == 400 and "no tempo" in one_shot.json()["error"]
    pad = client.get("/api/search", params={"category": "pad"}).json()["results"][0]
    same_key = client.get(f"/api/similar/{pad['id']}", params={"aspect": "key"}).json()["results"]
    assert same_key and all(r["key"] == pad["key"] for r in same_key)


def test_collections_filter_search_and_export_as_kits(client):
    import io
    import zipfile

    made = client.post("/api/collections", json={"name": "  API   Kit "}).json()
    assert made == {"name": "API Kit", "size": 0, "created_at": made["created_at"]}
    kicks = [r["id"] for r in client.get("/api/search", params={"q": "kick", "category": "kick"}).json()["results"]]
    pad = client.get("/api/search", params={"category": "pad"}).json()["results"][0]["id"]
    assert client.post("/api/collections/api kit/items", json={"ids": [*kicks, pad, kicks[0]]}).json()["size"] == 3
    listed = {c["name"]: c["size"] for c in client.get("/api/collections").json()["collections"]}
    assert listed["API Kit"] == 3
    inside = client.get("/api/search", params={"collection": "API Kit", "sort": "name"}).json()
    assert sorted(r["id"] for r in inside["results"]) == sorted([*kicks, pad]) and inside["total"] == 3
    assert client.get("/api/search", params={"q": "pad", "collection": "API Kit"}).json()["total"] >= 1
    assert client.delete(f"/api/collections/API Kit/items/{pad}").json()["size"] == 2
    archive = client.get("/api/collections/API Kit/kit", params={"format": "sfz"})
    assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert "API Kit/API Kit.sfz" in names and len([n for n in names if "/samples/" in n]) == 2
    flac = client.get("/api/collections/API Kit/kit", params={"audio_format": "flac", "sample_rate": 22050})
    assert all(n.endswith(".flac") for n in zipfile.ZipFile(io.BytesIO(flac.content)).namelist())
    assert client.get("/api/collections/nope/kit").status_code == 404
    assert client.get("/api/collections/API Kit/kit", params={"bit_depth": 12}).status_code == 400
    assert client.post("/api/collections/API Kit/items", json={"ids": ["../etc"]}).status_code == 422
    assert client.post("/api/collections", json={"name": " "}).status_code == 400


def test_a_text_query_with_another_models_text_tower_is_refused(web_db, web_model, tmp_path):
    """Cosines between two CLAP spaces are noise: the server refuses as `traum search` does (one line, 409)."""
    from traum.embedding import load_model
    from traum.testing import build_random_clap

    other = load_model(str(build_random_clap(tmp_path / "other-clap", seed=1)))
    client = TestClient(create_app(web_db, model=other), base_url=BASE)
    refused = client.get("/api/search", params={"q": "dusty kick"})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert "\n" not in error and f"embedded with {web_model.name}" in error and "traum serve" in error
    # What needs no text tower still works: a list by facts, and similar sounds in the catalog's own space.
    listed = client.get("/api/search", params={"q": "kick", "category": "kick"})
    assert listed.status_code == 409  # "kick" is a word to rank by
    facts_only = client.get("/api/search", params={"category": "kick", "k": 3}).json()["results"]
    assert facts_only and all(r["category"] == "kick" for r in facts_only)
    similar = client.get(f"/api/similar/{facts_only[0]['id']}", params={"k": 3})
    assert similar.status_code == 200 and len(similar.json()["results"]) == 3
    # The right model is not refused.
    assert TestClient(create_app(web_db, model=web_model), base_url=BASE).get(
        "/api/search", params={"q": "dusty kick"}).status_code == 200


def test_a_samples_detail_carries_its_plugin_facts(small_library):
    from tests.web.conftest import KICK, stem_id_of
    from traum.catalog import Catalog
    from traum.catalog.facts import PLUGIN_FACTS, write_stem_facts

    db, library = small_library
    kick = stem_id_of(db, library / KICK)
    client = TestClient(create_app(db), base_url=BASE)
    assert client.get(f"/api/stems/{kick}").json()["facts"] == {}
    with Catalog(db) as catalog, catalog.transaction() as conn:
        write_stem_facts(conn, kick, {PLUGIN_FACTS: {"brightness": (0.05, "brightness"), "mood": ("dark", "mood")}})
    assert client.get(f"/api/stems/{kick}").json()["facts"] == {"brightness": 0.05, "mood": "dark"}


#: Keys a producer's library holds, and the order a DJ's key column shows them in: the Camelot wheel
#: (1A G# minor, 1B B major, … relative keys side by side), unknown last.
CAMELOT = ["G# minor", "B major", "F minor", "C minor", "A minor", "C major", "E minor", "E major"]


@pytest.fixture
def keyed_client(tmp_path):
    """Real files catalogued with the keys above (as analysis would have stored them), shuffled."""
    import random
    import shutil

    from tests.catalog.conftest import record
    from tests.helpers import DIRT
    from traum.catalog import Catalog

    sources = sorted((DIRT / "bd").iterdir())[:len(CAMELOT) + 1]
    keys = [*CAMELOT, None]
    random.Random(3).shuffle(keys)
    with Catalog(tmp_path / "c.db") as catalog:
        for number, (source, key) in enumerate(zip(sources, keys, strict=True)):
            target = tmp_path / "dusty" / f"take {number}.wav"
            target.parent.mkdir(exist_ok=True)
            shutil.copy(source, target)
            stem, outcome = record(str(target), source, {"key": key})
            catalog.write_batch([stem], [outcome])
    return TestClient(create_app(tmp_path / "c.db"), base_url=BASE)


def test_sort_by_key_follows_the_camelot_wheel(keyed_client):
    listed = keyed_client.get("/api/search", params={"sort": "key"}).json()["results"]
    assert [r["key"] for r in listed] == [*CAMELOT, None]
    down = keyed_client.get("/api/search", params={"sort": "key", "desc": True}).json()["results"]
    assert [r["key"] for r in down] == [*reversed(CAMELOT), None]
    # A ranked query re-sorted by key pages through its candidates the same way.
    ranked = keyed_client.get("/api/search", params={"q": "dusty take", "sort": "key"}).json()
    assert ranked["query"]["mode"] != "list" and [r["key"] for r in ranked["results"]] == [*CAMELOT, None]
