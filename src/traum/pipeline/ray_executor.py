"""The indexing job on Ray (``traum index --executor ray``): the same plan, the same results, more machines.

The driver discovers and plans exactly as the local job does (:class:`~traum.pipeline.indexer.IndexJob`),
then Ray Data does the work in two passes:

1. **hash**: CPU tasks hash the files still to do. The driver settles each content as the local job
   does (:mod:`.dedupe`): content the catalog holds is linked, a second file with content already in
   this run waits for the first, only new content goes on. So nothing is decoded twice.
2. **content**: CPU tasks decode, analyse and cut the model's windows (no model in them: the windows
   are the resampled audio, far smaller than the model's padded input); an actor pool embeds them
   (each actor loads the model once; one GPU per actor where the cluster has GPUs) and adds CLAP's
   zero-shot category. The rows stream back to the driver (``iter_batches``), where the one catalog
   writer (:mod:`.writer`) commits them in batches, or, with shards, the workers write them as Parquet
   files (:mod:`traum.catalog.shards`) and only their verdicts come back.

Workers never open the catalog: SQLite has one writer, on one host. A crashed task or actor is retried
by Ray; a killed driver loses only its uncommitted batch and the next run plans from the catalog (and
from the shards already written).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from traum.audio import Found
from traum.catalog import Catalog, shards
from traum.catalog.store import PathOutcome
from traum.embedding.base import EmbeddingModel, Window
from traum.embedding.windows import DEFAULT_MAX_WINDOWS
from traum.errors import ConfigError
from traum.pipeline.dedupe import Claims, Waiting
from traum.pipeline.indexer import IndexJob
from traum.pipeline.plan import Task
from traum.pipeline.prepare import Prepared, _new_stem, decode_source, failure, with_retry
from traum.pipeline.report import IndexReport, NullProgress
from traum.pipeline.writer import Batch, BatchWriter

if TYPE_CHECKING:
    import pyarrow as pa

    from traum.embedding.cache import Vectors

log = logging.getLogger(__name__)

# Retries: Ray Data runs its tasks with max_retries=-1 (a task whose worker died, by a kill or a lost
# node, runs again) and its actors with max_restarts=-1, max_task_retries=-1 (a dead actor is replaced
# and its batch redone); passing them again is deprecated since Ray 2.60. A file's own error never
# reaches Ray: it is that file's row (failed, as locally).
#: Files per CPU task: small enough to spread a few files over all workers, large enough to amortise a task.
FILES_PER_TASK = 4
#: Files per embedding call of an actor, by where it runs (the model batches their windows itself).
FILES_PER_ACTOR_BATCH_CPU = 4
FILES_PER_ACTOR_BATCH_GPU = 64
#: CPU actors: one per this many cluster CPUs (the rest decode and analyse).
CPUS_PER_CPU_ACTOR = 4
INSTALL_HINT = "the ray executor needs Ray: install traum[ray] (pip install 'traum[ray]')"


def import_ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as err:
        raise ConfigError(INSTALL_HINT) from err
    return ray


def connect(address: str | None, num_cpus: int | None, resources: ExitStack) -> Any:
    """Join the Ray the caller already started, the cluster at ``address``, or start one on this machine
    (shut down again at the end)."""
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                     log_to_driver=False, logging_level=logging.WARNING)
        except Exception as err:
            where = f"at {address}" if address else "on this machine"
            raise ConfigError(f"cannot start or reach Ray {where}: {err}") from err
        resources.callback(ray.shutdown)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the CLI draws its own bar
    context.print_on_execution_start = False
    # Ray Data would warn that its bars are off, and log every execution plan: the user's bar is ours.
    logging.getLogger("ray.data").setLevel(logging.ERROR)
    return ray


class RayIndexJob(IndexJob):
    """Plans, reports and finishes as :class:`IndexJob`; only the processing of the tasks differs.
    ``options.address`` names the cluster; ``options.shards`` a folder for Parquet shards."""

    def _process(self, tasks: list[Task], resources: ExitStack) -> None:
        ray = connect(self.options.address, self.options.workers, resources)
        directory = self.options.shards
        if directory:
            tasks = self._skip_sharded(tasks, directory)
        claims = Claims()
        writer = _RayWriter(self.catalog, self.model, None, claims, self.report, self.progress,
                            self.options.batch_size)
        sink: _Sink = _ShardSink(writer, directory) if directory else _CatalogSink(writer)
        todo = self._settle_hashes(ray, tasks, claims, sink)
        sink.end_of_hashing()
        if todo:
            for table in self._content(ray, todo).iter_batches(batch_size=None, batch_format="pyarrow"):
                for row in shards.read_rows(table):
                    sink.accept(_result(row, claims))
                sink.batch_done()
        sink.finish()

    def _skip_sharded(self, tasks: list[Task], directory: str) -> list[Task]:
        """Files the shards already hold (a rerun after a killed driver) are not done again."""
        done = shards.done_in_shards(directory)
        left = [t for t in tasks if (t.found.path, t.found.size, t.found.mtime_ns) not in done]
        self.report.unchanged += len(tasks) - len(left)
        self.progress.advance(len(tasks) - len(left))
        return left

    # -- pass 1: hashes ------------------------------------------------------------------------------

    def _settle_hashes(self, ray: Any, tasks: list[Task], claims: Claims,
                       sink: _Sink) -> list[tuple[PathOutcome, bool]]:
        """As :class:`~traum.pipeline.prepare.Preparer` does per file: link known content, park a second
        file of content in flight, send only new content on."""
        if not tasks:
            return []
        wanted = self.model.model_id if self.model is not None else None
        # Embedded by this model but with fewer windows than the run's budget: embedded again.
        rewindow = {t.found.path for t in tasks if t.kind == "windows"}
        hashed = _dataset(ray, shards.to_table([_task_row(t) for t in tasks])).map_batches(
            hash_files, batch_size=FILES_PER_TASK, batch_format="pyarrow")
        todo = []
        for table in hashed.iter_batches(batch_size=None, batch_format="pyarrow"):
            for row in shards.read_rows(table):
                outcome = row.outcome
                if outcome.status != shards.HASHED:
                    sink.accept(outcome)
                    continue
                digest = cast(str, outcome.file_hash)
                outcome = PathOutcome(path=outcome.path, status="indexed", file_hash=digest,
                                      file_size=outcome.file_size, mtime_ns=outcome.mtime_ns)
                known = self.catalog.stem_embedded_with(digest)
                if known is not False and (wanted is None or known == wanted) and outcome.path not in rewindow:
                    sink.accept(outcome)
                elif not claims.claim(digest):
                    sink.accept(Waiting(digest, outcome))
                else:
                    todo.append((outcome, known is False))
            sink.batch_done()
        return todo

    # -- pass 2: decode, analyse, embed -------------------------------------------------------------------

    def _content(self, ray: Any, todo: list[tuple[PathOutcome, bool]]) -> Any:
        import pyarrow as pa

        model = self.model
        window = {"sample_rate": model.sample_rate, "window_seconds": model.window_seconds} if model else None
        table = shards.to_table([shards.to_row(outcome) for outcome, _ in todo])
        table = table.append_column("new_stem", pa.array([new for _, new in todo], pa.bool_()))
        dataset = _dataset(ray, table).map_batches(
            decode_files, fn_kwargs={"window": window, "analyse": self.options.analyse,
                                     "max_windows": self.options.max_windows},
            batch_size=FILES_PER_TASK, batch_format="pyarrow")
        if model is not None:
            gpus = int(ray.cluster_resources().get("GPU", 0)) if self.options.device != "cpu" else 0
            cpus = int(ray.cluster_resources().get("CPU", 1))
            actors = gpus or max(1, cpus // CPUS_PER_CPU_ACTOR)
            dataset = dataset.map_batches(
                Embedder, fn_constructor_kwargs={"model": model.name, "device": self.options.device,
                                                 "precision": self.options.precision,
                                                 "batch_size": self.options.batch_size},
                compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
                batch_size=FILES_PER_ACTOR_BATCH_GPU if gpus else FILES_PER_ACTOR_BATCH_CPU,
                batch_format="pyarrow", num_gpus=1 if gpus else 0, num_cpus=1)
        if self.options.shards:
            dataset = dataset.map_batches(write_rows, fn_kwargs={"directory": self.options.shards},
                                          batch_size=None, batch_format="pyarrow")
        return dataset


#: Input blocks per dataset at most: a block is one task's share, so this bounds the driver's bookkeeping
#: on a library of millions while giving every CPU of a large cluster work.
MAX_BLOCKS = 4096


def _dataset(ray: Any, table: pa.Table) -> Any:
    """One block per task's share: Ray Data runs a block in one task, so one block would be one worker."""
    size = max(FILES_PER_TASK, -(-table.num_rows // MAX_BLOCKS))
    return ray.data.from_arrow([table.slice(start, size) for start in range(0, table.num_rows, size)])


def _task_row(task: Task) -> dict[str, Any]:
    f = task.found
    known = task.state.file_hash if task.kind in ("embed", "windows") and task.state else None
    return shards.to_row(PathOutcome(path=f.path, status=shards.HASHED, file_hash=known, file_size=f.size,
                                     mtime_ns=f.mtime_ns))


def _result(row: shards.ShardRow, claims: Claims) -> Prepared | PathOutcome:
    outcome = row.outcome
    if outcome.status != "indexed":
        if outcome.status == "failed" and outcome.file_hash:
            claims.fail(outcome.file_hash, outcome)
        return outcome
    digest = cast(str, outcome.file_hash)
    offsets = [o for o, _ in row.vectors[1]] if row.vectors else []
    return Prepared(outcome, row.stem, digest, offsets, [], row.vectors)


# -- the driver's two ways out: the catalog, or shards -----------------------------------------------------

class _RayWriter(BatchWriter):
    """The local writer, fed vectors the actors made (as if from the cache), so it never infers."""

    def accept(self, result: Prepared | Waiting | PathOutcome, batch: Batch) -> None:
        super().accept(result, batch)
        if isinstance(result, Prepared) and result.cached is not None:
            batch.windows += max(1, len(result.cached[1]))  # commit as often as the local job does

    def _add_zero_shot_categories(self, model: EmbeddingModel, ready: list[tuple[Prepared, Vectors | None]]
                                  ) -> None:
        """Done by the actors, so that shards carry it too."""


class _Sink:
    def accept(self, result: Prepared | Waiting | PathOutcome) -> None:
        raise NotImplementedError

    def batch_done(self) -> None:
        pass

    def end_of_hashing(self) -> None:
        pass

    def finish(self) -> None:
        pass


class _CatalogSink(_Sink):
    def __init__(self, writer: _RayWriter) -> None:
        self.writer = writer
        self.batch = Batch()

    def accept(self, result: Prepared | Waiting | PathOutcome) -> None:
        self.writer.accept(result, self.batch)

    def batch_done(self) -> None:
        if self.writer.full(self.batch):
            self.batch = self.writer.flush(self.batch)

    def finish(self) -> None:
        self.writer.flush(self.batch)


class _ShardSink(_Sink):
    """The workers wrote the content's rows; the driver writes one shard of what it settled itself
    (links to known content, files waiting for same-content files, hashing failures)."""

    def __init__(self, writer: _RayWriter, directory: str) -> None:
        self.writer = writer
        self.directory = directory
        self.rows: list[dict[str, Any]] = []

    def accept(self, result: Prepared | Waiting | PathOutcome) -> None:
        if isinstance(result, Prepared):
            self.writer._count(result.outcome, linked=False)
            return
        outcome = result.outcome if isinstance(result, Waiting) else result
        self.rows.append(shards.to_row(outcome))
        self.writer._count(outcome)

    def end_of_hashing(self) -> None:
        if self.rows:
            shards.write_shard(shards.to_table(self.rows), self.directory, prefix="driver")
            self.rows = []


# -- what runs on the workers ------------------------------------------------------------------------------

def hash_files(table: pa.Table) -> pa.Table:
    """Content hashes (or the file's failure), as the local preparer computes them."""
    from traum.audio import content_hash
    from traum.audio.decode import undecodable

    out = []
    for row in shards.read_rows(table):
        o = row.outcome
        base: dict[str, Any] = {"path": o.path, "file_size": o.file_size, "mtime_ns": o.mtime_ns}
        try:
            if o.file_size == 0:
                raise undecodable(o.path, "empty file")  # every empty file has the same hash
            digest = o.file_hash or with_retry(partial(content_hash, o.path), o.path)
            out.append(shards.to_row(PathOutcome(status=shards.HASHED, file_hash=digest, **base)))
        except Exception as err:  # noqa: BLE001 - one bad file never stops a run
            out.append(shards.to_row(failure(err, base)))
    return shards.to_table(out)


@dataclass(frozen=True)
class WindowCutter:
    """Stands in for the model in :func:`decode_source`: cuts its windows, leaves the features (the model's
    padded input, up to 20× the audio of a short sample) to the actors."""

    sample_rate: int
    window_seconds: float

    def prepare(self, samples: np.ndarray) -> list[Window]:
        from traum.embedding.windows import split_windows

        return [Window(offset, clip) for offset, clip in
                split_windows(samples, self.sample_rate, window=self.window_seconds)]


#: Columns that carry a file's model windows from the decoding tasks to the actors.
CLIP_COLUMNS = ("clip_offsets", "clip_lengths", "clip_samples")


def decode_files(table: pa.Table, window: dict[str, Any] | None, analyse: bool,
                 max_windows: int | None = DEFAULT_MAX_WINDOWS) -> pa.Table:
    """Decode, analyse and cut windows; a failure is the file's row, shared later with same-content files."""
    import pyarrow as pa

    cutter = cast(EmbeddingModel, WindowCutter(**window)) if window else None
    out, clips = [], []
    new_stem = table.column("new_stem").to_pylist()
    for row, wants_stem in zip(shards.read_rows(table), new_stem, strict=True):
        o = row.outcome
        base: dict[str, Any] = {"path": o.path, "file_size": o.file_size, "mtime_ns": o.mtime_ns,
                                "file_hash": o.file_hash}
        try:
            started = time.perf_counter()
            source = with_retry(partial(decode_source, o.path, cutter, max_windows), o.path)
            stem = None
            if wants_stem:
                facts = _facts(o.path, source, analyse)
                found = Found(o.path, cast(int, o.file_size), cast(int, o.mtime_ns))
                stem = _new_stem(cast(str, o.file_hash), found, source.info, facts)
            outcome = PathOutcome(status="indexed", processing_time=round(time.perf_counter() - started, 4), **base)
            out.append(shards.to_row(outcome, stem))
            clips.append((source.offsets, source.features))
        except Exception as err:  # noqa: BLE001 - recorded, and shared with same-content files
            out.append(shards.to_row(failure(err, base)))
            clips.append(([], []))
    result = shards.to_table(out)
    result = result.append_column("clip_offsets", pa.array([c[0] for c in clips], pa.list_(pa.float64())))
    result = result.append_column("clip_lengths", pa.array([[len(x) for x in c[1]] for c in clips],
                                                           pa.list_(pa.int64())))
    samples = [np.concatenate(c[1]).astype(np.float32, copy=False).tobytes() if c[1] else b"" for c in clips]
    return result.append_column("clip_samples", pa.array(samples, pa.large_binary()))


def _facts(path: str, source: Any, analyse: bool) -> dict[str, Any]:
    """What the local job's analysis processes compute, plugins included; here the task is its own process."""
    from traum.analysis import name_facts
    from traum.plugins.analysis import analyse_for_catalog

    if not analyse:
        return name_facts(path)
    info = source.info
    try:
        facts: dict[str, Any] = analyse_for_catalog(source.samples, info.sample_rate, path, info.sample_rate,
                                                    info.bit_depth, source.truncated, source.whole)
        return facts
    except Exception:
        log.exception("analysis failed for %s; keeping what its name says", path)
        return name_facts(path)


def _clips(offsets: list[float], lengths: list[int], samples: bytes) -> Iterator[tuple[float, np.ndarray]]:
    flat = np.frombuffer(samples, np.float32)
    start = 0
    for offset, n in zip(offsets, lengths, strict=True):
        yield offset, flat[start:start + n]
        start += n


class Embedder:
    """An embedding actor: loads the model once and embeds batches of files as the local writer does."""

    def __init__(self, model: str, device: str, precision: str, batch_size: int | None) -> None:
        from traum.embedding import load_model

        self.model = load_model(model, device=device, precision=precision)
        # The local writer's embedding and zero-shot code, without its catalog (it never writes here).
        self.writer = BatchWriter(cast(Catalog, None), self.model, None, Claims(), IndexReport(), NullProgress(),
                                  batch_size)

    def __call__(self, table: pa.Table) -> pa.Table:
        model = self.model
        items: list[Prepared | PathOutcome] = []
        clip_columns = zip(*(table.column(c).to_pylist() for c in CLIP_COLUMNS), strict=True)
        for row, (offsets, lengths, samples) in zip(shards.read_rows(table), clip_columns, strict=True):
            if row.outcome.status != "indexed":
                items.append(row.outcome)
                continue
            windows = list(_clips(offsets, lengths, samples))
            features = [model.prepare(clip)[0].features for _, clip in windows]
            items.append(Prepared(row.outcome, row.stem, cast(str, row.outcome.file_hash),
                                  [o for o, _ in windows], features))
        prepared = [i for i in items if isinstance(i, Prepared)]
        vectors = self.writer._embed(model, prepared) if prepared else {}
        self.writer._add_zero_shot_categories(model, [(item, vectors.get(item.stem_id)) for item in prepared])
        return shards.to_table([
            shards.to_row(i.outcome, i.stem, vectors[i.stem_id], model.name, model.model_id)
            if isinstance(i, Prepared) else shards.to_row(i) for i in items])


def write_rows(table: pa.Table, directory: str) -> pa.Table:
    """On a worker: the rows become a shard; only their verdicts go back to the driver."""
    full = table.drop_columns([c for c in CLIP_COLUMNS if c in table.column_names])
    shards.write_shard(full, directory, prefix="rows")
    return shards.to_table([shards.to_row(r.outcome) for r in shards.read_rows(full)])
