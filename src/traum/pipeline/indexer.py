"""The indexing job: plan (:mod:`.plan`), prepare on worker threads (:mod:`.prepare`), share work
between same-content files (:mod:`.dedupe`) and write in batches on the main thread (:mod:`.writer`).

Worker threads hash, decode, resample and compute model features; the main thread feeds the model in
batches and writes each batch in one transaction. At most ``workers × 4`` files are in flight, so
memory stays flat on any library size, and a kill at any moment loses only the uncommitted batch: the
next run starts from the ledger. The job's resources (threads, analysis processes, reader connections,
embedding cache) are released on every way out: success, error and Ctrl+C.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

from traum.audio.discover import absolute_roots
from traum.catalog import Catalog
from traum.catalog.store import PathOutcome
from traum.embedding.base import EmbeddingModel
from traum.embedding.windows import DEFAULT_MAX_WINDOWS, WINDOW_SECONDS, policy_label
from traum.errors import ConfigError, InputNotFound, ModelUnavailable
from traum.pipeline.cores import CoreBudget, LoadProbe, apply_torch_threads, passive_threads, plan_cores
from traum.pipeline.dedupe import Claims, Waiting
from traum.pipeline.plan import MAX_RUN_RETRIES, Task, discover_files, plan_tasks, reembed_tasks
from traum.pipeline.prepare import AnalysisPool, AudioBudget, Prepared, Preparer, Readers, Source, decode_source
from traum.pipeline.processes import analysis_worker, start_worker_server, watch_parent
from traum.pipeline.report import IndexReport, NullProgress, Progress
from traum.pipeline.writer import FLUSH_SECONDS, Batch, BatchWriter

if TYPE_CHECKING:
    from traum.embedding.zero_shot import ZeroShotCategories

__all__ = ["MAX_RUN_RETRIES", "IndexJob", "IndexOptions", "IndexReport", "Progress", "Source", "decode_source",
           "run_index", "watch_parent"]

log = logging.getLogger(__name__)
#: The jobs running in this process, for live metrics (``traum index --metrics-port``).
RUNNING: list[IndexJob] = []


def current_job() -> IndexJob | None:
    return RUNNING[-1] if RUNNING else None


@dataclass
class IndexOptions:
    model: str | None = None
    device: str = "auto"
    precision: str = "auto"
    #: Model windows per inference batch; None adapts to the device.
    batch_size: int | None = None
    #: Decoding threads; None: two per free core.
    workers: int | None = None
    #: Use the machine-wide embedding cache (content hash + model + processing version).
    cache: bool = True
    #: Tempo, key, note, loudness, quality, category and descriptors for every new sample.
    analyse: bool = True
    #: Analysis processes; None: from the free cores (:func:`traum.pipeline.cores.plan_cores`), so
    #: analysis and inference share the cores instead of fighting over them.
    analysis_workers: int | None = None
    #: "local" (threads and processes here) or "ray" (:mod:`traum.pipeline.ray_executor`).
    executor: str = "local"
    #: Ray only: the cluster ("auto", "ray://HOST:10001"); None starts Ray on this machine.
    address: str | None = None
    #: Ray only: write Parquet shards to this folder (any pyarrow/fsspec path) instead of the catalog.
    shards: str | None = None
    #: Model windows per file at most, spread over the whole file; None: every window (``--windows all``),
    #: for best-window search inside long stems. Stems sampled by a smaller budget are re-embedded.
    max_windows: int | None = DEFAULT_MAX_WINDOWS
    #: Decoded audio held at once, in MB (files decoding or waiting for analysis); None: the
    #: ``index_audio_mb`` setting (``TRAUM_INDEX_AUDIO_MB``).
    audio_memory_mb: int | None = None


def run_index(paths: Sequence[str | os.PathLike[str]], catalog: Catalog, options: IndexOptions | None = None,
              progress: Progress | None = None, model: EmbeddingModel | None = None) -> IndexReport:
    """Index ``paths`` into ``catalog``; returns what was done. ``model`` may be passed pre-loaded."""
    options = options or IndexOptions()
    job = IndexJob
    if options.executor == "ray":
        from traum.pipeline.ray_executor import RayIndexJob, import_ray

        import_ray()  # a missing extra is one line before any work
        job = RayIndexJob
    elif options.executor != "local" or options.shards or options.address:
        raise ConfigError(f"executor {options.executor!r}: use local or ray (--address and --shards need ray)")
    return job(catalog, options, progress or NullProgress(), model).run(paths)


class IndexJob:
    def __init__(self, catalog: Catalog, options: IndexOptions, progress: Progress,
                 model: EmbeddingModel | None) -> None:
        self.catalog = catalog
        self.options = options
        self.progress = progress
        self.model = model
        self.report = IndexReport()
        self.cores: CoreBudget | None = None
        self._zero_shot: ZeroShotCategories | None = None
        self._analysis: AnalysisPool | None = None
        #: Decoded audio held at once (its ``peak`` shows the bound held).
        self.audio_budget: AudioBudget | None = None
        #: For live metrics (traum.metrics.IndexCollector): files to process, start, the batch writer.
        self.planned = 0
        self.started = time.perf_counter()
        self.writer: BatchWriter | None = None

    @property
    def workers(self) -> int:
        return self.cores.decode_threads if self.cores else self.options.workers or 2

    def batch_size(self) -> int | None:
        """Model windows per inference batch now (it shrinks after an out-of-memory)."""
        return getattr(self.writer, "_batch", None) or self.options.batch_size

    def run(self, paths: Sequence[str | os.PathLike[str]]) -> IndexReport:
        RUNNING.append(self)
        try:
            return self._run(paths)
        except BaseException as err:
            self._save_unfinished(err)
            raise
        finally:
            RUNNING.remove(self)

    def _save_unfinished(self, err: BaseException) -> None:
        """A run stopped by Ctrl+C, SIGTERM or a crash is in ``traum status --runs`` with what it did."""
        from traum.catalog.runs import record_unfinished

        self.report.finish(self.started)
        record_unfinished(self.catalog, {**self.report.to_dict(), "planned": self.planned}, err,
                          began=self.cores is not None, executor=self.options.executor)

    def _run(self, paths: Sequence[str | os.PathLike[str]]) -> IndexReport:
        started = self.started = time.perf_counter()
        self.report.startup_seconds["process"] = _process_age()
        probe = LoadProbe()
        roots = absolute_roots(paths)
        if self.options.model and self.model is None:
            from traum.embedding.hub import check_model_name

            check_model_name(self.options.model)
        for root in roots:
            if not os.path.exists(root):
                raise InputNotFound(f"{root} does not exist", path=root, reason="does not exist")
        with self.report.timed("discover"), self.report.startup("discover"):
            found = discover_files(roots, self.report)
        with self.report.startup("plan"):
            tasks = plan_tasks(found, self.catalog, self.report)
        if self.options.analyse and any(t.kind == "full" for t in tasks):
            start_worker_server()
        if tasks or self._model_changed() or self._sampled_stems():
            self._ensure_model()
        if self.model is None:
            tasks = [t for t in tasks if t.kind == "full"]
        tasks += reembed_tasks(self.catalog, self.model, {t.found.path for t in tasks}, {f.path: f for f in found},
                               self.options.max_windows)
        self.report.windows_per_file = policy_label(self.options.max_windows)
        self.report.rewindowed = sum(t.kind == "windows" for t in tasks)
        self.planned = len(tasks)
        self.progress.start(len(tasks))
        with self.report.startup("load probe"):
            self.cores = self._plan_cores(probe.others_busy() if tasks else 0.0)
        with ExitStack() as resources:
            self._process(tasks, resources)
        seen = {f.path for f in found}
        gone = [p for p in self.catalog.paths_under(roots, ("indexed", "pending", "failed", "skipped"))
                if p not in seen]
        self.report.missing = self.catalog.mark_missing(gone)
        self.report.pending = self.catalog.counts()["pending"]
        self.report.finish(started)
        self._save_run()
        log.info("index run: %s", {k: v for k, v in self.report.to_dict().items() if k != "failures"})
        return self.report

    def _model_changed(self) -> bool:
        """Another model than the last run's was asked for: its embeddings must be made."""
        last = (self.catalog.get_meta("model") or {}).get("name")
        return self.options.model is not None and last is not None and self.options.model != last

    def _sampled_stems(self) -> bool:
        """Stems of the last run's model with fewer windows than this run's budget asks for (an earlier
        budgeted run, now ``--windows all``): the model is needed even if no file changed."""
        from traum.pipeline.plan import sampled_stems

        model_id = (self.catalog.get_meta("model") or {}).get("id")
        if self.model is not None or not model_id:
            return False
        stand_in = SimpleNamespace(model_id=model_id, window_seconds=WINDOW_SECONDS)
        return bool(sampled_stems(self.catalog, cast(EmbeddingModel, stand_in), self.options.max_windows))

    def _plan_cores(self, others_busy: float) -> CoreBudget:
        device = None
        if self.model is not None:
            device = "cpu" if getattr(self.model, "device", "cpu") == "cpu" else "gpu"
        cores = plan_cores(analyse=self.options.analyse, others_busy=others_busy,
                           analysis_processes=self.options.analysis_workers, decode_threads=self.options.workers,
                           inference_device=device)
        if device == "cpu":
            apply_torch_threads(cores.inference_threads, interop=True)
        self.report.cores = {"usable": cores.usable, "taken by others": cores.taken,
                             "inference threads": cores.inference_threads,
                             "analysis processes": cores.analysis_processes, "decode threads": cores.decode_threads}
        log.info("cores: %s (others kept %.2f busy)", self.report.cores, others_busy)
        return cores

    def _inference_cores(self) -> int | None:
        """Before each round of inference: the free cores the analysis processes are not using now, so
        the two never oversubscribe the machine (and inference takes every free core when analysis is
        idle, which is most of the time once it is cheaper than inference). None on a GPU."""
        if self.cores is None or getattr(self.model, "device", "cpu") != "cpu":
            return None
        busy = self._analysis.busy() if self._analysis is not None else 0
        return max(1, self.cores.free - busy)

    def _ensure_model(self) -> None:
        if self.model is not None:
            self._prompts()
            return
        from traum.embedding import load_model
        from traum.embedding.hub import probe_model
        from traum.settings import default_model

        passive_threads()
        try:
            probe_model(self.options.model or default_model())
            with self.report.startup("imports"):
                from traum.embedding.clap import import_libraries

                import_libraries()
            with self.report.startup("model"):
                self.model = load_model(self.options.model, device=self.options.device,
                                        precision=self.options.precision)
        except ModelUnavailable as err:
            self.report.model_error = str(err)
            log.warning("indexing without embeddings: %s", err, extra={"console": False})  # the notice says it
            self.progress.notice(f"{err}. Files are catalogued; embeddings stay pending until the model is "
                                 "available and you run `traum index` again.")
            return
        self.report.model = self.model.name
        self.report.device = getattr(self.model, "device", None)
        self.report.precision = getattr(self.model, "precision", None)
        self._prompts()

    def _prompts(self) -> None:
        """The zero-shot prompt vectors, before the first file: cached per model after the first run."""
        from traum.embedding.zero_shot import ZeroShotCategories

        if self.model is not None and self._zero_shot is None:
            with self.report.startup("prompts"):
                self._zero_shot = ZeroShotCategories(self.model)

    def _process(self, tasks: list[Task], resources: ExitStack) -> None:
        """Released in reverse order of acquisition: threads first (they use everything else)."""
        cache = None
        if self.options.cache:
            from traum.embedding.cache import default_cache

            cache = default_cache()
            if cache is not None:
                resources.callback(cache.close)
        readers = Readers(self.catalog.path)
        resources.callback(readers.close)
        assert self.cores is not None
        analysis = self._analysis = AnalysisPool(max(1, self.cores.analysis_processes), analysis_worker)
        resources.callback(analysis.shutdown)
        claims = Claims()
        budget = self.audio_budget = AudioBudget(self._audio_memory_mb() << 20)
        prepare = Preparer(self.model, cache, claims, readers, analysis, self.report, self.options.analyse,
                           self.options.max_windows, budget)
        writer = self.writer = BatchWriter(self.catalog, self.model, cache, claims, self.report, self.progress,
                                           self.options.batch_size, self._zero_shot, self._inference_cores,
                                           self.options.max_windows)
        pool = resources.enter_context(ThreadPoolExecutor(self.workers, thread_name_prefix="traum-prepare"))
        queue = deque(tasks)
        inflight: set[Future[Prepared | Waiting | PathOutcome]] = set()
        batch = Batch()
        limit = self.workers * 4
        try:
            while queue or inflight:
                while queue and len(inflight) < limit:
                    inflight.add(pool.submit(prepare, queue.popleft()))
                with self.report.timed_wait("writer waits for decoded files"):
                    done, inflight = wait(inflight, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    writer.accept(future.result(), batch)
                if writer.full(batch):
                    batch = writer.flush(batch)
            writer.flush(batch, final=True)
        except BaseException:
            for future in inflight:
                future.cancel()
            raise

    def _audio_memory_mb(self) -> int:
        from traum import settings

        mb = self.options.audio_memory_mb
        return int(settings.get("index_audio_mb")) if mb is None else mb

    def _save_run(self) -> None:
        from traum.catalog.runs import record_run

        with self.catalog.transaction():
            self.catalog.set_meta("last_run", self.report.to_dict())
            record_run(self.catalog, self.report.to_dict(), executor=self.options.executor)
            if self.model is not None:
                self.catalog.set_meta("model", {"name": self.model.name, "id": self.model.model_id})


def _process_age() -> float:
    """Seconds since this process started: the interpreter and imports before the job (CLI start-up)."""
    import psutil

    try:
        return max(0.0, time.time() - float(psutil.Process().create_time()))
    except psutil.Error:
        return 0.0

