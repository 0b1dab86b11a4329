"""The indexing job.

Worker threads hash, decode, resample and compute model features (libsndfile, soxr, numpy and
hashlib release the GIL); the main thread feeds the model in batches and writes each batch in one
transaction. At most ``workers × 4`` files are in flight, so memory stays flat on any library size,
and a kill at any moment loses only the uncommitted batch: the next run starts from the ledger.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from traum.analysis.stream import STREAM_SECONDS, WholeFile, read_long
from traum.audio import Found, Unreadable, content_hash, discover
from traum.audio.decode import AudioInfo, load, probe, resample, undecodable
from traum.audio.discover import absolute_roots
from traum.catalog import Catalog, FileState, StemRecord
from traum.catalog.store import PathOutcome
from traum.embedding.base import EmbeddingModel, pool_windows
from traum.errors import (
    AudioError,
    CatalogError,
    ModelUnavailable,
    NotAudio,
    NotFound,
    TraumError,
)
from traum.pipeline.report import IndexReport, NullProgress, Progress

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

    from traum.embedding.cache import EmbeddingCache, Vectors
    from traum.embedding.zero_shot import ZeroShotCategories

__all__ = ["IndexJob", "IndexOptions", "IndexReport", "Progress", "Source", "decode_source", "run_index",
           "watch_parent"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A failed file is retried by later runs only if its error looked transient, this many times.
MAX_RUN_RETRIES = 3
#: In-run retries of transient I/O errors, with exponential backoff from BACKOFF_SECONDS.
ATTEMPTS = 4
BACKOFF_SECONDS = 0.1
#: Commit at least this often, so a long run never holds much unsaved work.
FLUSH_SECONDS = 5.0


@dataclass
class IndexOptions:
    model: str | None = None
    device: str = "auto"
    precision: str = "auto"
    #: Model windows per inference batch; None adapts to the device.
    batch_size: int | None = None
    workers: int | None = None
    #: Use the machine-wide embedding cache (content hash + model + processing version).
    cache: bool = True
    #: Tempo, key, note, loudness, quality, category and descriptors for every new sample.
    analyse: bool = True
    #: Analysis processes; None: half the decoding threads, so analysis and inference share the cores
    #: instead of fighting over them.
    analysis_workers: int | None = None


@dataclass(frozen=True, slots=True)
class Task:
    found: Found
    state: FileState | None
    #: "full": new or changed file; "embed": catalogued, only the embedding is missing.
    kind: str


@dataclass(slots=True)
class Prepared:
    """A decoded file ready for the model: a new stem, or an existing one that lacks an embedding."""

    outcome: PathOutcome
    stem: StemRecord | None
    stem_id: str
    offsets: list[float]
    features: list[np.ndarray]
    #: Vectors found in the embedding cache: no inference needed.
    cached: Vectors | None = None


@dataclass(slots=True)
class Waiting:
    """Same content as a file still in flight: written with it, never decoded twice."""

    digest: str
    outcome: PathOutcome


@dataclass
class Batch:
    prepared: list[Prepared] = field(default_factory=list)
    outcomes: list[PathOutcome] = field(default_factory=list)
    windows: int = 0
    started: float = field(default_factory=time.monotonic)

    def __len__(self) -> int:
        return len(self.prepared) + len(self.outcomes)


def run_index(paths: Sequence[str | os.PathLike[str]], catalog: Catalog, options: IndexOptions | None = None,
              progress: Progress | None = None, model: EmbeddingModel | None = None) -> IndexReport:
    """Index ``paths`` into ``catalog``; returns what was done. ``model`` may be passed pre-loaded."""
    return IndexJob(catalog, options or IndexOptions(), progress or NullProgress(), model).run(paths)


class IndexJob:
    def __init__(self, catalog: Catalog, options: IndexOptions, progress: Progress,
                 model: EmbeddingModel | None) -> None:
        self.catalog = catalog
        self.options = options
        self.progress = progress
        self.model = model
        self.report = IndexReport()
        self.workers = options.workers or max(2, os.cpu_count() or 2)
        self._local = threading.local()
        self._readers: list[Catalog] = []
        self._pool: ProcessPoolExecutor | None = None
        #: Content hash → "inflight", "done", or the failure every file with that content shares.
        self._claims: dict[str, str | PathOutcome] = {}
        self._claims_lock = threading.Lock()
        self._waiting: dict[str, list[PathOutcome]] = {}
        self._cache: EmbeddingCache | None = None
        self._zero_shot: ZeroShotCategories | None = None
        #: Windows per inference batch: the caller's choice, else the device's default, shrunk on OOM.
        self._batch: int | None = options.batch_size
        if options.cache:
            from traum.embedding.cache import default_cache

            self._cache = default_cache()

    # -- plan -------------------------------------------------------------------------------------

    def run(self, paths: Sequence[str | os.PathLike[str]]) -> IndexReport:
        started = time.perf_counter()
        roots = absolute_roots(paths)
        if self.options.model and self.model is None:
            from traum.embedding.clap import check_model_name

            check_model_name(self.options.model)
        for root in roots:
            if not os.path.exists(root):
                raise NotFound(f"{root} does not exist")
        with self.report.timed("discover"):
            found = self._discover(roots)
        tasks = self._plan(found)
        if tasks or self._model_changed():
            self._ensure_model()
        if self.model is None:
            tasks = [t for t in tasks if t.kind == "full"]
        tasks += self._reembed_tasks({t.found.path for t in tasks}, {f.path: f for f in found})
        self.progress.start(len(tasks))
        self._process(tasks)
        seen = {f.path for f in found}
        gone = [p for p in self.catalog.paths_under(roots, ("indexed", "pending", "failed", "skipped"))
                if p not in seen]
        self.report.missing = self.catalog.mark_missing(gone)
        self.report.pending = self.catalog.counts()["pending"]
        self.report.finish(started)
        self._save_run()
        if self._cache is not None:
            self._cache.close()
        for reader in self._readers:
            reader.close()
        if self._pool is not None:
            self._pool.shutdown()
        log.info("index run: %s", {k: v for k, v in self.report.to_dict().items() if k != "failures"})
        return self.report

    def _discover(self, roots: list[str]) -> list[Found]:
        found = []
        for item in discover(roots):
            if isinstance(item, Unreadable):
                log.warning("cannot read %s: %s", item.path, item.reason)
                self.report.unreadable.append((item.path, item.reason))
            else:
                found.append(item)
        self.report.files_seen = len(found)
        return found

    def _plan(self, found: Iterable[Found]) -> list[Task]:
        tasks = []
        for f in found:
            state = self.catalog.file_state(f.path)
            kind = _task_kind(f, state)
            if kind is None:
                self.report.unchanged += 1
            else:
                tasks.append(Task(f, state, kind))
        return tasks

    def _reembed_tasks(self, planned: set[str], found: dict[str, Found]) -> list[Task]:
        """Stems embedded by another model (or never) whose files are otherwise unchanged."""
        if self.model is None:
            return []
        tasks = []
        for _stem_id, path in self.catalog.pending_stems(self.model.model_id):
            if path not in planned and path in found:
                tasks.append(Task(found[path], self.catalog.file_state(path), "embed"))
        return tasks

    def _model_changed(self) -> bool:
        """Another model than the last run's was asked for: its embeddings must be made."""
        last = (self.catalog.get_meta("model") or {}).get("name")
        return self.options.model is not None and last is not None and self.options.model != last

    def _ensure_model(self) -> None:
        if self.model is not None:
            return
        from traum.embedding import load_model

        try:
            self.model = load_model(self.options.model, device=self.options.device,
                                    precision=self.options.precision)
        except ModelUnavailable as err:
            self.report.model_error = str(err)
            log.warning("indexing without embeddings: %s", err)
            self.progress.notice(f"{err}. Files are catalogued; embeddings stay pending until the model is "
                                 "available and you run `traum index` again.")
            return
        self.report.model = self.model.name
        self.report.device = getattr(self.model, "device", None)
        self.report.precision = getattr(self.model, "precision", None)

    # -- run --------------------------------------------------------------------------------------

    def _process(self, tasks: list[Task]) -> None:
        queue = deque(tasks)
        inflight: set[Future[Prepared | Waiting | PathOutcome]] = set()
        batch = Batch()
        limit = self.workers * 4
        with ThreadPoolExecutor(self.workers, thread_name_prefix="traum-prepare") as pool:
            try:
                while queue or inflight:
                    while queue and len(inflight) < limit:
                        inflight.add(pool.submit(self._prepare, queue.popleft()))
                    done, inflight = wait(inflight, timeout=FLUSH_SECONDS, return_when=FIRST_COMPLETED)
                    for future in done:
                        self._accept(future.result(), batch)
                    if self._batch_full(batch):
                        batch = self._flush(batch)
                self._flush(batch)
            except BaseException:
                for future in inflight:
                    future.cancel()
                raise

    def _batch_full(self, batch: Batch) -> bool:
        if self.model is not None and batch.windows >= self._batch_size():
            return True
        return len(batch) >= 256 or (bool(batch) and time.monotonic() - batch.started > FLUSH_SECONDS)

    def _batch_size(self) -> int:
        if not self._batch:
            from traum.embedding.batching import default_batch_size

            self._batch = default_batch_size(getattr(self.model, "device", "cpu"))
        return self._batch

    def _accept(self, result: Prepared | Waiting | PathOutcome, batch: Batch) -> None:
        if isinstance(result, Prepared):
            batch.prepared.append(result)
            batch.windows += len(result.features)
            return
        if isinstance(result, Waiting):
            with self._claims_lock:
                claim = self._claims.get(result.digest)
                if claim == "inflight":
                    self._waiting.setdefault(result.digest, []).append(result.outcome)
                    return
            result = _same_failure(claim, result.outcome) if isinstance(claim, PathOutcome) else result.outcome
        if result.status == "failed" and result.file_hash:
            with self._claims_lock:
                waiters = self._waiting.pop(result.file_hash, [])
            for waiter in waiters:
                self._accept(_same_failure(result, waiter), batch)
        self._count(result)
        batch.outcomes.append(result)

    def _count(self, outcome: PathOutcome, *, linked: bool = True) -> None:
        if outcome.status == "skipped":
            self.report.skipped += 1
            self.report.skip_reasons[(outcome.error or "").split(" (")[0].split(": ")[-1]] += 1
        elif outcome.status == "failed":
            self.report.failed += 1
            self.report.failures.append((outcome.path, outcome.error or ""))
        elif linked:
            self.report.linked += 1
        else:
            self.report.indexed += 1
        self.progress.advance()

    def _flush(self, batch: Batch) -> Batch:
        if not batch:
            return Batch()
        model = self.model
        embeddings = []
        if model is not None and batch.prepared:
            vectors = self._embed(model, batch.prepared)
            self._add_zero_shot_categories(model, batch.prepared, vectors)
            embeddings = [(sid, pooled, windows, model.model_id) for sid, (pooled, windows) in vectors.items()]
        outcomes = list(batch.outcomes)
        for item in batch.prepared:
            outcomes.append(item.outcome)
            outcomes.extend(self._waiting.get(item.stem_id, []))
        with self.report.timed("write"):
            try:
                self.catalog.write_batch((p.stem for p in batch.prepared if p.stem), outcomes, embeddings)
            except sqlite3.OperationalError as err:
                # One transaction per batch: nothing of it is recorded, everything before it is kept.
                raise CatalogError(f"cannot write the catalog {self.catalog.path}: {err}. Everything committed "
                                   "so far is kept; fix the cause and run the same command again") from err
        with self._claims_lock:
            for item in batch.prepared:
                self._claims[item.stem_id] = "done"
                for waiter in self._waiting.pop(item.stem_id, []):
                    self._count(waiter)
        for item in batch.prepared:
            self._count(item.outcome, linked=False)
        return Batch()

    def _add_zero_shot_categories(self, model: EmbeddingModel, prepared: list[Prepared],
                                  vectors: dict[str, Vectors]) -> None:
        """CLAP's zero-shot verdict joins the names and acoustics (it counts only when sure)."""
        from traum.analysis.category import fuse_zero_shot
        from traum.embedding.zero_shot import ZeroShotCategories

        new = [(item.stem, vectors[item.stem_id][0]) for item in prepared
               if item.stem is not None and item.stem_id in vectors]
        if not new:
            return
        if self._zero_shot is None:
            self._zero_shot = ZeroShotCategories(model)
        for stem, pooled in new:
            facts = stem.facts
            current = (facts.get("category"), facts.get("category_confidence"))
            facts["category"], facts["category_confidence"] = fuse_zero_shot(current, self._zero_shot.classify(pooled))

    def _embed(self, model: EmbeddingModel, prepared: list[Prepared]) -> dict[str, Vectors]:
        from traum.embedding.batching import embed_in_batches

        out = {item.stem_id: item.cached for item in prepared if item.cached is not None}
        todo = [item for item in prepared if item.cached is None]
        features = [f for item in todo for f in item.features]
        if features:
            with self.report.timed("infer"):
                vectors, self._batch = embed_in_batches(model, features, self._batch_size())
            self.report.windows_embedded += len(features)
        start = 0
        for item in todo:
            mine = vectors[start:start + len(item.features)]
            start += len(item.features)
            out[item.stem_id] = (pool_windows(mine), list(zip(item.offsets, mine, strict=True)))
        if self._cache is not None and todo:
            self._cache.put_many([(_cache_key(item.stem_id, model), out[item.stem_id]) for item in todo])
        return out

    # -- worker side --------------------------------------------------------------------------------

    def _prepare(self, task: Task) -> Prepared | Waiting | PathOutcome:
        started = time.perf_counter()
        f = task.found
        base: dict[str, Any] = {"path": f.path, "file_size": f.size, "mtime_ns": f.mtime_ns}
        try:
            return self._prepare_file(task, base, started)
        except Exception as err:  # noqa: BLE001 - one bad file never stops a run
            return _failure(err, base)

    def _prepare_file(self, task: Task, base: dict[str, Any], started: float) -> Prepared | Waiting | PathOutcome:
        f = task.found
        if f.size == 0:
            # Every empty file has the same hash; the verdict depends on the name, so it is never shared.
            raise undecodable(f.path, "empty file")
        if task.kind == "embed" and task.state and task.state.file_hash:
            digest = task.state.file_hash
        else:
            with self.report.timed("hash"):
                digest = _with_retry(lambda: content_hash(f.path), f.path)
        outcome = PathOutcome(status="indexed", file_hash=digest, **base)
        known = self._reader().stem_embedded_with(digest)
        wanted = self.model
        if known is not False and (wanted is None or known == wanted.model_id):
            return outcome
        with self._claims_lock:
            if digest in self._claims:
                return Waiting(digest, outcome)
            self._claims[digest] = "inflight"
        cached = self._cache.get(_cache_key(digest, wanted)) if self._cache is not None and wanted is not None else None
        if cached is not None and (known is not False or not self.options.analyse):
            return self._from_cache(digest, f, cached, known is False, started, base)
        # Embedding cache and analysis are independent: a new stem is always analysed, even when its
        # vectors come from the cache (another catalog, a moved library); only inference is skipped.
        model = self.model if cached is None else None
        try:
            with self.report.timed("decode"):
                source = _with_retry(lambda: decode_source(f.path, model), f.path)
        except Exception as err:  # noqa: BLE001 - recorded, and shared with same-content files
            failure = _failure(err, {**base, "file_hash": digest})
            with self._claims_lock:
                self._claims[digest] = failure
            return failure
        stem = None
        if known is False:
            stem = _new_stem(digest, f, source.info, self._analyse(f.path, source))
        offsets = [o for o, _ in cached[1]] if cached is not None else source.offsets
        elapsed = time.perf_counter() - started
        outcome = PathOutcome(status="indexed", file_hash=digest, processing_time=round(elapsed, 4), **base)
        return Prepared(outcome, stem, digest, offsets, source.features, cached)

    def _analyse(self, path: str, source: Source | None) -> dict[str, Any]:
        """Analysis runs in a process pool (librosa is GIL-bound); this worker thread waits for it,
        the main thread keeps feeding the model. The input is the native-rate decode, exactly what
        ``traum analyze`` analyses (:func:`traum.analysis.analyse_path`), so both give the same facts."""
        from traum.analysis import analyse_for_catalog, name_facts

        if source is None or not self.options.analyse:
            return name_facts(path)
        with self.report.timed("analyse"):
            info = source.info
            try:
                facts: dict[str, Any] = self._analysis_pool().submit(
                    analyse_for_catalog, source.samples, info.sample_rate, path, info.sample_rate, info.bit_depth,
                    source.truncated, source.whole).result()
                return facts
            except Exception:
                log.exception("analysis failed for %s; keeping what its name says", path)
                return name_facts(path)

    def _analysis_pool(self) -> ProcessPoolExecutor:
        with self._claims_lock:
            if self._pool is None:
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(self.options.analysis_workers or max(1, self.workers // 2),
                                                 initializer=watch_parent, initargs=(os.getpid(),))
            return self._pool

    def _from_cache(self, digest: str, f: Found, cached: Vectors, new_stem: bool, started: float,
                    base: dict[str, Any]) -> Prepared:
        """Vectors from the cache; only the header is read for a new stem's facts."""
        stem = None
        if new_stem:
            info = probe(f.path)
            stem = _new_stem(digest, f, info, self._analyse(f.path, None))
        outcome = PathOutcome(status="indexed", file_hash=digest, processing_time=round(time.perf_counter() -
                              started, 4), **base)
        return Prepared(outcome, stem, digest, [o for o, _ in cached[1]], [], cached)

    def _reader(self) -> Catalog:
        """A read connection per worker thread: WAL lets it read while the main thread writes."""
        reader = getattr(self._local, "catalog", None)
        if reader is None:
            reader = self._local.catalog = Catalog(self.catalog.path, readonly=True)
            self._readers.append(reader)
        return reader

    def _save_run(self) -> None:
        with self.catalog.transaction():
            self.catalog.set_meta("last_run", self.report.to_dict())
            if self.model is not None:
                self.catalog.set_meta("model", {"name": self.model.name, "id": self.model.model_id})


#: How often an analysis worker checks that the indexing process is still there.
PARENT_POLL_SECONDS = 0.5


def watch_parent(parent_pid: int) -> None:
    """Process-pool initializer: a worker never outlives the run that started it.

    After a ``kill -9`` of ``traum index`` the pool's workers would wait forever on their queue
    (0.5 GB each, reparented to init). A daemon thread polls the parent pid (portable; Linux's
    PR_SET_PDEATHSIG fires when the *thread* that forked exits, which here is a short-lived worker
    thread). Ctrl+C goes to the whole process group: workers ignore it and the parent shuts them down,
    so the user sees one "interrupted" line, not a traceback per worker.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def poll() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=poll, name="traum-parent-watch", daemon=True).start()


@dataclass(slots=True)
class Source:
    """One decode of a file, for analysis and (when inference is needed) the model."""

    info: AudioInfo
    #: Native-rate mono samples: the whole file, or its head when ``whole`` measured a long one.
    samples: np.ndarray
    truncated: bool
    whole: WholeFile | None
    offsets: list[float]
    features: list[np.ndarray]


def decode_source(path: str, model: EmbeddingModel | None) -> Source:
    """Decode once at the native rate; a file over ``STREAM_SECONDS`` is streamed block by block and
    only its model windows (as features) and analysis head are kept, so memory does not grow with it."""
    info = probe(path)
    offsets: list[float] = []
    features: list[np.ndarray] = []
    if info.duration > STREAM_SECONDS:
        def on_window(offset: float, clip: np.ndarray) -> None:
            assert model is not None
            offsets.append(offset)
            features.append(model.prepare(clip)[0].features)

        long = read_long(path, model_rate=model.sample_rate if model else None,
                         window_seconds=model.window_seconds if model else 10.0,
                         on_window=on_window if model else None)
        return Source(info, long.head, long.truncated, long.whole, offsets, features)
    decoded = load(path, None)
    if model is not None:
        windows = model.prepare(resample(decoded.samples, decoded.sample_rate, model.sample_rate))
        offsets, features = [w.offset for w in windows], [w.features for w in windows]
    return Source(decoded.info, decoded.samples, decoded.truncated, None, offsets, features)


def _new_stem(digest: str, f: Found, info: AudioInfo, facts: dict[str, Any]) -> StemRecord:
    return StemRecord(digest, f.path, f.size, info.duration, info.sample_rate, info.channels, info.bit_depth,
                      f"{info.format}/{info.subtype}", facts)


def _cache_key(digest: str, model: EmbeddingModel) -> str:
    from traum.embedding.cache import EmbeddingCache
    from traum.settings import PROCESSING_VERSION

    return EmbeddingCache.key(digest, model.model_id, PROCESSING_VERSION)


def _failure(err: Exception, base: dict[str, Any]) -> PathOutcome:
    path = base["path"]
    if isinstance(err, NotAudio):
        return PathOutcome(status="skipped", error=_short(err, path), **base)
    if isinstance(err, AudioError):
        log.info("failed: %s", err)
        checkpoint = {"transient": err.transient, "permission": _permission_denied(err)}
        return PathOutcome(status="failed", error=_short(err, path), checkpoint=checkpoint, **base)
    if isinstance(err, TraumError):
        return PathOutcome(status="failed", error=str(err), **base)
    log.error("unexpected error on %s", path, exc_info=err)
    return PathOutcome(status="failed", error=f"internal error: {type(err).__name__}: {err}",
                       checkpoint={"transient": False}, **base)


def _permission_denied(err: BaseException) -> bool:
    """Read permission refused (our own wrapping, or libsndfile's "System error : Permission denied")."""
    while err is not None:
        if isinstance(err, PermissionError) or "permission denied" in str(err).lower():
            return True
        err = err.__cause__  # type: ignore[assignment]
    return False


def _same_failure(failure: PathOutcome, other: PathOutcome) -> PathOutcome:
    return replace(failure, path=other.path, file_size=other.file_size, mtime_ns=other.mtime_ns)


def _task_kind(f: Found, state: FileState | None) -> str | None:
    if state is None or state.status == "missing":
        return "full"
    unchanged = state.file_size == f.size and state.mtime_ns == f.mtime_ns
    if not unchanged:
        return "full"
    if state.status == "pending":
        return "embed"
    if state.status == "failed" and state.checkpoint.get("permission"):
        return "full"  # fixed with chmod, which leaves size and mtime alone; a denied open costs nothing
    if state.status == "failed" and state.checkpoint.get("transient") and state.retry_count < MAX_RUN_RETRIES:
        return "full"
    return None


def _with_retry(action: Callable[[], T], path: str) -> T:
    """Retry transient I/O errors with exponential backoff; corrupt files fail at once."""
    from traum.errors import TransientAudioError

    for attempt in range(ATTEMPTS):
        try:
            return action()
        except (TransientAudioError, OSError) as err:
            if isinstance(err, FileNotFoundError):
                raise AudioError(f"{path}: file vanished during indexing") from err
            if _permission_denied(err):  # waiting will not grant it: fail now, retry next run
                raise TransientAudioError(f"{path}: permission denied") from err
            if attempt == ATTEMPTS - 1:
                raise TransientAudioError(f"{path}: {getattr(err, 'strerror', None) or err}") from err
            log.info("transient error on %s (attempt %d): %s", path, attempt + 1, err)
            time.sleep(BACKOFF_SECONDS * 2 ** attempt)
    raise AssertionError("unreachable")


def _short(err: Exception, path: str) -> str:
    text = str(err)
    return text[len(path) + 2:] if text.startswith(path + ": ") else text
