"""Observability: the server's /metrics (behind the token, parsed with Prometheus' own parser), a
running index's metrics port, run history in `traum status`, and the log's console/JSON/verbosity."""

from __future__ import annotations

import json
import socket
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.cli.conftest import run_traum
from tests.helpers import copy_library
from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index

FILES = ["dirt-samples/bd/BT0A0A7.wav", "dirt-samples/hh/000_hh3closedhh.wav", "dirt-samples/sn/ST0T0S0.wav",
         "dirt-samples/808/TR808.TXT"]
BASE = "http://127.0.0.1:8765"


def families(text: str) -> dict[str, list]:
    """Metric family name → its samples, as Prometheus would read the page."""
    return {f.name: f.samples for f in text_string_to_metric_families(text)}


def value(samples: list, name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_model) -> Path:
    """A catalog after two runs (the second finds nothing new)."""
    root = tmp_path_factory.mktemp("obs")
    library = copy_library(root / "library", FILES)
    db = root / "catalog.db"
    with Catalog(db) as catalog:
        for _ in range(2):
            run_index([library], catalog, IndexOptions(model=str(tiny_model), cache=False))
    return db


def test_metrics_are_behind_the_token_and_parse(indexed, tiny_model):
    from traum.embedding import load_model
    from traum.web.app import create_app

    client = TestClient(create_app(indexed, model=load_model(str(tiny_model)), token="s3cret"), base_url=BASE)
    assert client.get("/metrics").status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    for text in ("kick", "bright hat", "snare"):
        assert client.get("/api/search", params={"q": text}, headers=auth).status_code == 200
    stem = client.get("/api/search", params={"q": "kick"}, headers=auth).json()["results"][0]["id"]
    assert client.get(f"/api/stems/{stem}", headers=auth).status_code == 200

    page = client.get("/metrics", headers=auth)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    metrics = families(page.text)
    requests = metrics["traum_http_requests"]
    assert value(requests, "traum_http_requests_total", route="/api/search", status="200") == 4
    assert value(requests, "traum_http_requests_total", route="/api/stems/{stem_id}") == 1  # a template, not the id
    assert value(requests, "traum_http_requests_total", status="401") == 1
    latency = metrics["traum_http_request_duration_seconds"]
    assert value(latency, "traum_http_request_duration_seconds_count", route="/api/search") == 4
    stages = metrics["traum_search_stage_seconds"]
    for stage in ("filter", "semantic", "lexical", "rank"):
        assert value(stages, "traum_search_stage_seconds_count", stage=stage) == 4, stage
    assert value(metrics["traum_catalog_samples"], "traum_catalog_samples") == 3
    assert value(metrics["traum_catalog_files"], "traum_catalog_files", status="skipped") == 1
    assert value(metrics["traum_index_runs"], "traum_index_runs_total") == 2
    assert value(metrics["traum_catalog_bytes"], "traum_catalog_bytes") > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScrapingProgress:
    """Scrapes the run's metrics port from inside the run (when the second file is done): no timing."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.done = 0
        self.scraped: dict[str, list] | None = None

    def start(self, total: int) -> None:
        pass

    def notice(self, text: str) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.done == 2:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=30) as page:
                self.scraped = families(page.read().decode())


def test_index_metrics_port_during_a_run(tmp_path, tiny_model):
    from traum.metrics import serve_index_metrics
    from traum.pipeline.indexer import current_job

    library = copy_library(tmp_path / "library", FILES)
    port = _free_port()
    stop = serve_index_metrics(port, current_job)
    progress = ScrapingProgress(port)
    try:
        with Catalog(tmp_path / "c.db") as catalog:
            run_index([library], catalog, IndexOptions(model=str(tiny_model), cache=False, batch_size=8),
                      progress)
    finally:
        stop()
    metrics = progress.scraped
    assert metrics is not None
    assert value(metrics["traum_index_files_planned"], "traum_index_files_planned") == 4
    assert value(metrics["traum_index_files_done"], "traum_index_files_done") == 2  # mid-run
    stage_names = {s.labels["stage"] for s in metrics["traum_index_stage_seconds"]}
    assert {"hash", "decode", "analyse"} <= stage_names
    assert value(metrics["traum_index_stage_seconds"], "traum_index_stage_seconds_total", stage="decode") > 0
    assert value(metrics["traum_index_batch_size"], "traum_index_batch_size") == 8
    assert value(metrics["traum_index_memory_rss_bytes"], "traum_index_memory_rss_bytes") > 50e6
    assert "traum_index_files_per_second" in metrics
    with pytest.raises(OSError):  # the port is released when the run's server stops
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)


def test_index_metrics_port_in_use_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = run_traum("index", tmp_path, "--metrics-port", busy.getsockname()[1])
    assert result.code == 2
    assert result.stderr.startswith("error: cannot serve metrics on 127.0.0.1:") and "--metrics-port" in result.stderr


def test_status_shows_each_runs_stage_timings_and_error_rate(indexed):
    info = json.loads(run_traum("status", "--db", indexed, "--json").stdout)
    runs = info["runs"]
    assert len(runs) == 2
    first, second = runs[1]["report"], runs[0]["report"]  # newest first
    assert first["indexed"] == 3 and first["skipped"] == 1 and second["unchanged"] == 4
    assert first["stage_seconds"]["decode"] > 0 and "error_rate" in first
    text = run_traum("status", "--db", indexed).stdout
    assert "recent runs" in text and "decode" in text and "0.0%" in text


def test_console_lines_verbosity_and_json_logs(tmp_path):
    default = run_traum("plugins")
    assert default.code == 0 and default.stderr == ""  # nothing worth a line
    verbose = run_traum("-v", "--log-json", "index", tmp_path / "empty_dir_does_not_exist", "--db",
                        tmp_path / "y.db")
    assert verbose.code == 2
    log_file = tmp_path / "logs" / "traum.log"
    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    assert any(r["level"] == "info" and "does not exist" in r["message"]
               for r in lines)
    console = [json.loads(line) for line in verbose.stderr.splitlines() if line.startswith("{")]
    assert any("does not exist" in r["message"] for r in console)


@pytest.mark.parametrize(("verbosity", "shown"), [(-1, ["error"]), (0, ["warning", "error"]),
                                                  (1, ["info", "warning", "error"])])
def test_one_console_line_per_event_at_each_verbosity(verbosity, shown, capsys):
    import logging

    from traum.logs import setup_logging

    setup_logging(verbosity)
    log = logging.getLogger("traum.test")
    log.info("an info")
    log.warning("a warning\nover two lines")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("an error")
    log.warning("the face said it already", extra={"console": False})
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in lines] == shown  # one line each, tracebacks only in the file
    if verbosity == 0:
        assert lines[0] == "warning: a warning over two lines"
