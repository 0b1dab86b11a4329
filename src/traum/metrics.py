"""Prometheus metrics (prometheus-client): the web server's ``/metrics`` and the live view of an
indexing run (``traum index --metrics-port N``). Names and meanings are in docs/observability.md.

Each server or run gets its own registry, so two apps in one process (tests, an embedding host) never
share or clash on counters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from functools import wraps
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Latency buckets in seconds: a search is milliseconds, an audio file a few hundred.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The search engine's steps timed for ``traum_search_stage_seconds`` (stage → method).
SEARCH_STAGES = {"filter": "_allowed", "semantic": "_semantic", "lexical": "_lexical", "rank": "_rank"}


# -- the web server ------------------------------------------------------------------------------------

class WebMetrics:
    """Request counts and latencies by route, search latency by stage, catalog and run figures."""

    def __init__(self, catalog_stats: Callable[[], dict[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("traum_http_requests", "HTTP requests by route, method and status.",
                                ("route", "method", "status"), registry=self.registry)
        self.latency = Histogram("traum_http_request_duration_seconds", "HTTP request latency by route.",
                                 ("route",), buckets=BUCKETS, registry=self.registry)
        self.errors = Counter("traum_http_errors", "Requests that failed on the server (status 5xx) by route.",
                              ("route",), registry=self.registry)
        self.search_stage = Histogram("traum_search_stage_seconds", "Search latency by stage.", ("stage",),
                                      buckets=BUCKETS, registry=self.registry)
        self.registry.register(_CatalogCollector(catalog_stats))

    def middleware(self, app: ASGIApp) -> ASGIApp:
        return _Timed(app, self)

    def instrument_search(self, engine: Any) -> None:
        """Time the engine's stages by wrapping them on this instance (the engine knows no metrics)."""
        for stage, method in SEARCH_STAGES.items():
            original = getattr(engine, method, None)
            if original is not None:
                setattr(engine, method, self._timed(stage, original))

    def _timed(self, stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
        histogram = self.search_stage.labels(stage)

        @wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with histogram.time():
                return function(*args, **kwargs)

        return timed

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _Timed:
    """ASGI middleware: one count and one latency observation per HTTP request, labelled with the
    route's template (``/api/stem/{stem_id}``), never the raw path, so labels stay few."""

    def __init__(self, app: ASGIApp, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            route = getattr(scope.get("route"), "path", None) or ("/static" if scope["path"].startswith(
                "/static/") else "unmatched")
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            if status >= 500:
                self.metrics.errors.labels(route).inc()


class _CatalogCollector(Collector):
    """Catalog size and index runs, read at scrape time."""

    def __init__(self, stats: Callable[[], dict[str, Any]]) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        from traum.plugins import errors as plugin_errors

        stats = self.stats()
        samples = GaugeMetricFamily("traum_catalog_samples", "Distinct samples in the catalog.")
        samples.add_metric([], stats["samples"])
        yield samples
        files = GaugeMetricFamily("traum_catalog_files", "Catalogued paths by status.", labels=["status"])
        for status, count in stats["files"].items():
            files.add_metric([status], count)
        yield files
        size = GaugeMetricFamily("traum_catalog_bytes", "Size of the catalog file on disk.")
        size.add_metric([], stats["bytes"])
        yield size
        runs = CounterMetricFamily("traum_index_runs", "Indexing runs recorded in the catalog.")
        runs.add_metric([], stats["runs"]["runs"])
        yield runs
        failed = CounterMetricFamily("traum_index_failed_files", "Files that failed, over all recorded runs.")
        failed.add_metric([], stats["runs"]["failed"])
        yield failed
        yield _plugin_errors(plugin_errors())


def _plugin_errors(counts: dict[str, int]) -> Metric:
    family = CounterMetricFamily("traum_plugin_errors", "Plugin hook calls that raised, by plugin.",
                                 labels=["plugin"])
    for plugin, count in counts.items():
        family.add_metric([plugin], count)
    return family


# -- an indexing run -----------------------------------------------------------------------------------

class IndexCollector(Collector):
    """A running ``traum index``: progress, time and rate per stage, batch size, memory, GPU."""

    def __init__(self, job: Callable[[], Any]) -> None:
        self.job = job

    def collect(self) -> Iterator[Metric]:
        job = self.job()
        if job is None:
            return
        report = job.report
        yield _gauge("traum_index_files_planned", "Files this run has to process.", getattr(job, "planned", 0))
        done = GaugeMetricFamily("traum_index_files_done", "Files processed so far, by outcome.", labels=["outcome"])
        for outcome in ("indexed", "linked", "skipped", "failed"):
            done.add_metric([outcome], getattr(report, outcome))
        yield done
        elapsed = time.perf_counter() - getattr(job, "started", time.perf_counter())
        processed = report.indexed + report.linked + report.skipped + report.failed
        yield _gauge("traum_index_elapsed_seconds", "Time since the run started.", elapsed)
        yield _gauge("traum_index_files_per_second", "Files processed per second so far.",
                     processed / elapsed if elapsed > 0 else 0.0)
        stages = CounterMetricFamily("traum_index_stage_seconds", "Time spent per stage, summed over threads "
                                     "(rate() gives the stage's load).", labels=["stage"])
        for stage, seconds in dict(report.stage_seconds).items():
            stages.add_metric([stage], seconds)
        yield stages
        windows = CounterMetricFamily("traum_index_windows_embedded", "Model windows embedded.")
        windows.add_metric([], report.windows_embedded)
        yield windows
        yield _gauge("traum_index_batch_size", "Model windows per inference batch now.", job.batch_size() or 0)
        yield _gauge("traum_index_error_rate", "Failed over attempted files so far.", report.error_rate)
        yield _plugin_errors(dict(report.plugin_errors))
        yield from _resources(getattr(report, "device", None))


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], float(value))
    return family


def _resources(device: str | None) -> Iterator[Metric]:
    import psutil

    memory = psutil.Process().memory_info()
    yield _gauge("traum_index_memory_rss_bytes", "Resident memory of the indexing process.", memory.rss)
    if device and device.startswith("cuda"):
        import torch

        yield _gauge("traum_index_gpu_memory_bytes", "GPU memory the model holds.", torch.cuda.memory_allocated())
        try:
            utilisation = float(torch.cuda.utilization()) / 100.0
        except Exception:  # noqa: BLE001 - pynvml missing or not permitted: leave the metric out
            return
        yield _gauge("traum_index_gpu_utilisation_ratio", "GPU utilisation (0-1).", utilisation)


def serve_index_metrics(port: int, job: Callable[[], Any], host: str = "127.0.0.1") -> Callable[[], None]:
    """Expose a run's metrics on ``http://host:port/metrics`` (loopback by default) in a daemon thread;
    returns the function that stops the server."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    registry.register(IndexCollector(job))
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as err:
        from traum.errors import ConfigError

        raise ConfigError(f"cannot serve metrics on {host}:{port}: {err.strerror or err}; choose another "
                          "--metrics-port") from err

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
