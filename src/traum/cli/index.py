"""traum index PATH..."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from traum.cli.console import err, failed, print_json, safe
from traum.cli.options import Db, Json, Model


def index(
    paths: Annotated[list[Path], typer.Argument(help="Folders or files to index.", show_default=False)],
    db: Db = None,
    model: Model = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", min=1, help="Model windows per batch "
                                                      "(default: adapts to the device).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Decoding threads.")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda or mps.")] = "auto",
    precision: Annotated[str, typer.Option("--precision", help="auto, fp32, bf16 or fp16.")] = "auto",
    analyse: Annotated[bool, typer.Option("--analyse/--no-analyse", help="Tempo, key, loudness, quality, "
                                          "category from the audio (names only without).")] = True,
    executor: Annotated[str, typer.Option("--executor", help="local, or ray (needs traum[ray]).")] = "local",
    address: Annotated[Optional[str], typer.Option("--address", help="Ray cluster: auto or ray://HOST:10001 "
                                                   "(default: start Ray here).", show_default=False)] = None,
    shards: Annotated[Optional[str], typer.Option("--shards", help="Ray: write Parquet shards to this folder "
                                                  "(any fsspec path) for `traum catalog merge`.",
                                                  show_default=False)] = None,
    metrics_port: Annotated[Optional[int], typer.Option("--metrics-port", min=1, max=65535, help="Serve the "
                                                        "run's Prometheus metrics on 127.0.0.1:PORT/metrics while "
                                                        "it runs.", show_default=False)] = None,
    windows: Annotated[Optional[str], typer.Option("--windows", help="Model windows embedded per file at most, "
                                                   "spread over it, or all for every window (best-window search "
                                                   "in long stems). Default: TRAUM_WINDOWS, 3.",
                                                   show_default=False)] = None,
    json: Json = False,
) -> None:
    """Catalog and embed every audio file under PATHS. Safe to interrupt and rerun."""
    from traum import api
    from traum.cli.inputs import require_inputs
    from traum.cli.progress import BarProgress

    require_inputs(paths, files_only=False)  # before the catalog is opened: a typo leaves no catalog behind
    api.check_hardware(device, precision)  # before the bar starts drawing: an error is then one line
    api.window_budget(windows)
    stop_metrics = _serve_metrics(metrics_port) if metrics_port else None
    bar = BarProgress()
    try:
        with _sigterm_stops_like_ctrl_c():
            report = api.index([str(p) for p in paths], db=db, model=model, batch_size=batch_size,
                               workers=workers, device=device, precision=precision, progress=bar,
                               analyse=analyse, executor=executor, address=address, shards=shards,
                               windows=windows)
    finally:
        bar.stop()
        if stop_metrics is not None:
            stop_metrics()
    if json:
        print_json(report.to_dict())
    else:
        _summary(report)
    if report.failed or report.unreadable:
        raise typer.Exit(1)


@contextmanager
def _sigterm_stops_like_ctrl_c() -> Iterator[None]:
    """``kill``, a service manager or a container stop sends SIGTERM: unwind as for Ctrl+C (workers shut
    down, the run recorded as interrupted) instead of dying mid-batch."""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt("SIGTERM")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve_metrics(port: int):
    from traum.metrics import serve_index_metrics
    from traum.pipeline.indexer import current_job

    return serve_index_metrics(port, current_job)


def _summary(report) -> None:
    line = (f"[bold]{report.indexed}[/] indexed, {report.linked} already known (duplicates/moves), "
            f"{report.unchanged} unchanged, {report.skipped} skipped, "
            f"[{'red' if report.failed else 'default'}]{report.failed} failed[/], {report.pending} pending "
            f"embeddings, {report.missing} missing — {report.elapsed:.1f} s")
    if report.files_per_second:
        line += f", {report.files_per_second:.1f} files/s"
    err.print(line, highlight=False)
    if report.skip_reasons:
        err.print("skipped: " + ", ".join(f"{n} {safe(why)}" for why, n in report.skip_reasons.most_common()),
                  highlight=False)
    for path, why in report.failures[:10]:
        failed(path, why)
    if report.failed > 10:
        err.print(f"… and {report.failed - 10} more: `traum status --json` lists them", highlight=False)
    for path, why in report.unreadable[:10]:
        failed(path, why, label="unreadable", style="yellow")
    stages = ", ".join(f"{stage} {busy:.1f}s ({share:.0%})" for stage, busy, share in report.timeline() if busy >= 0.05)
    if stages:
        err.print(f"[dim]busy by stage (summed over threads and processes; % of the run): {stages}; "
                  f"peak memory {report.peak_rss_mb:.0f} MB[/]", highlight=False)
    waits = ", ".join(f"{what} {s:.1f}s" for what, s in report.wait_seconds.items() if s >= 0.05)
    if waits:
        err.print(f"[dim]waiting: {waits}[/]", highlight=False)
    startup = ", ".join(f"{step} {s:.1f}s" for step, s in report.startup_seconds.items() if s >= 0.05)
    if startup:
        err.print(f"[dim]start-up: {startup}[/]", highlight=False)
    if report.cores:
        err.print("[dim]cores: " + ", ".join(f"{k} {v}" for k, v in report.cores.items()) + "[/]", highlight=False)
