"""Per-file preparation, on worker threads: hash, claim the content, decode once at the native rate,
analyse (in a process pool) and compute the model's features, or take the vectors from the cache.

libsndfile, soxr, numpy and hashlib release the GIL, so the threads overlap; librosa does not, so
analysis runs in processes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from traum.analysis.stream import STREAM_SECONDS, WholeFile, read_long
from traum.audio import Found, content_hash
from traum.audio.decode import AudioInfo, load, probe, resample, undecodable
from traum.catalog import Catalog, StemRecord
from traum.catalog.store import PathOutcome
from traum.embedding.base import EmbeddingModel
from traum.embedding.windows import DEFAULT_MAX_WINDOWS, split_windows
from traum.errors import AudioError, NotAudio, TraumError
from traum.pipeline.dedupe import Claims, Waiting
from traum.pipeline.plan import Task
from traum.pipeline.processes import worker_context
from traum.pipeline.report import IndexReport

if TYPE_CHECKING:
    from traum.embedding.cache import EmbeddingCache, Vectors

log = logging.getLogger(__name__)
T = TypeVar("T")

#: In-run retries of transient I/O errors, with exponential backoff from BACKOFF_SECONDS.
ATTEMPTS = 4
BACKOFF_SECONDS = 0.1


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
    #: The analysis of a new stem, still running in the pool: the file goes on to the model without
    #: waiting for it, and the writer collects it (so a long analysis never holds up inference).
    facts: Future[tuple[dict[str, Any], float]] | None = field(default=None, repr=False)


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


class Readers:
    """A read connection per worker thread: WAL lets it read while the main thread writes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = path
        self._local = threading.local()
        self._opened: list[Catalog] = []

    def get(self) -> Catalog:
        reader: Catalog | None = getattr(self._local, "catalog", None)
        if reader is None:
            reader = self._local.catalog = Catalog(self._path, readonly=True)
            self._opened.append(reader)
        return reader

    def close(self) -> None:
        for reader in self._opened:
            reader.close()


class AnalysisPool:
    """The analysis processes, started by the first file that needs them.

    At most ``max_pending`` analyses are queued or running: a decoding thread that would queue more
    waits (backpressure), so decoded samples never pile up in front of a slow analysis.
    """

    def __init__(self, workers: int, initializer: Callable[[int], None], max_pending: int | None = None) -> None:
        self.workers = workers
        self._initializer = initializer
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_pending or max(8, 4 * workers))
        self._outstanding = 0

    def get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=worker_context(),
                                                 initializer=self._initializer, initargs=(os.getpid(),))
            return self._pool

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        self._slots.acquire()
        with self._lock:
            self._outstanding += 1
        try:
            future = self.get().submit(fn, *args)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        return future

    def _release(self, _future: object) -> None:
        with self._lock:
            self._outstanding -= 1
        self._slots.release()

    def busy(self) -> int:
        """Analysis processes working right now (queued work counts: it starts as soon as one is free)."""
        with self._lock:
            return min(self.workers, self._outstanding)

    def shutdown(self) -> None:
        # Not under the lock: shutting down joins the pool's manager thread, which runs the futures'
        # done callbacks (``_release``), and those take the lock.
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(cancel_futures=True)


class AudioBudget:
    """Bytes of decoded audio a run holds at once: files being decoded, and decoded files waiting for
    (or in) their analysis.

    A decoding thread reserves a file's cost, from its header, before decoding it, and waits while the
    budget is spent; what the analysis still needs stays reserved until the analysis is done. So memory
    is bounded by this setting, not by which files happen to be in flight: a handful of 3-minute files
    queued behind a slow analysis held ~400 MB more than one-shots did. A file larger than the whole
    budget is decoded alone."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = limit_bytes
        self._held = 0
        #: Most bytes held at once in this run (the tests' and the report's evidence that the bound held).
        self.peak = 0
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        with self._changed:
            return self._held

    def reserve(self, nbytes: int) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._held == 0 or self._held + nbytes <= self.limit)
            self._held += nbytes
            self.peak = max(self.peak, self._held)

    def release(self, nbytes: int) -> None:
        if nbytes <= 0:
            return
        with self._changed:
            self._held -= nbytes
            self._changed.notify_all()


def decode_cost(info: AudioInfo, model: EmbeddingModel | None) -> int:
    """Peak bytes of decoding ``info``'s file (:func:`decode_source`): the native-rate mono samples plus
    the larger of one interleaved read block (mixed down straight into them) and the model-rate copy the
    windows are cut from. A streamed file costs its analysis head and a block."""
    from traum.analysis import ANALYSIS_SECONDS
    from traum.audio.decode import BLOCK_FRAMES

    frames = info.frames
    if info.duration > STREAM_SECONDS:
        frames = min(frames, (ANALYSIS_SECONDS + 1) * info.sample_rate)
    block = min(info.frames, BLOCK_FRAMES) * info.channels * 4
    resampled = int(frames * model.sample_rate / info.sample_rate) * 4 if model is not None else 0
    return frames * 4 + max(block, resampled)


@dataclass
class Preparer:
    model: EmbeddingModel | None
    cache: EmbeddingCache | None
    claims: Claims
    readers: Readers
    analysis: AnalysisPool
    report: IndexReport
    #: Tempo, key, note, loudness, quality, category and descriptors for every new sample.
    analyse: bool
    #: Model windows per file at most (None: every window; :mod:`traum.embedding.windows`).
    max_windows: int | None = DEFAULT_MAX_WINDOWS
    #: Decoded audio held at once (None: unbounded).
    budget: AudioBudget | None = None

    def __call__(self, task: Task) -> Prepared | Waiting | PathOutcome:
        started = time.perf_counter()
        f = task.found
        base: dict[str, Any] = {"path": f.path, "file_size": f.size, "mtime_ns": f.mtime_ns}
        try:
            return self._prepare_file(task, base, started)
        except Exception as err:  # noqa: BLE001 - one bad file never stops a run
            return failure(err, base)

    def _prepare_file(self, task: Task, base: dict[str, Any], started: float) -> Prepared | Waiting | PathOutcome:
        f = task.found
        if f.size == 0:
            # Every empty file has the same hash; the verdict depends on the name, so it is never shared.
            raise undecodable(f.path, "empty file")
        if task.kind == "embed" and task.state and task.state.file_hash:
            digest = task.state.file_hash
        else:
            with self.report.timed("hash"):
                digest = with_retry(lambda: content_hash(f.path), f.path)
        outcome = PathOutcome(status="indexed", file_hash=digest, **base)
        known = self.readers.get().stem_embedded_with(digest)
        wanted = self.model
        up_to_date = wanted is None or (known == wanted.model_id and task.kind != "windows")
        if known is not False and up_to_date:
            return outcome
        if not self.claims.claim(digest):
            return Waiting(digest, outcome)
        cached = None
        if self.cache is not None and wanted is not None:
            cached = self.cache.get(cache_key(digest, wanted, self.max_windows))
        if cached is not None and (known is not False or not self.analyse):
            return self._from_cache(digest, f, cached, known is False, started, base)
        # Embedding cache and analysis are independent: a new stem is always analysed, even when its
        # vectors come from the cache (another catalog, a moved library); only inference is skipped.
        model = self.model if cached is None else None
        held = 0
        try:
            try:
                info = with_retry(lambda: probe(f.path), f.path)
                held = self._reserve(decode_cost(info, model))
                with self.report.timed("decode"):
                    source = with_retry(lambda: decode_source(f.path, model, self.max_windows, info), f.path)
            except Exception as err:  # noqa: BLE001 - recorded, and shared with same-content files
                failed = failure(err, {**base, "file_hash": digest})
                self.claims.fail(digest, failed)
                return failed
            stem, facts = None, None
            if known is False:
                stem = _new_stem(digest, f, source.info, {})
                # Only the samples stay reserved while they wait for the analysis; the rest goes now.
                keep = min(held, source.samples.nbytes) if self.analyse else 0
                self._release(held - keep)
                held = keep
                facts = self._analyse(f.path, source, held)
                held = 0 if facts is not None else held
        finally:
            self._release(held)
        offsets = [o for o, _ in cached[1]] if cached is not None else source.offsets
        elapsed = time.perf_counter() - started
        outcome = PathOutcome(status="indexed", file_hash=digest, processing_time=round(elapsed, 4), **base)
        return Prepared(outcome, stem, digest, offsets, source.features, cached, facts)

    def _reserve(self, nbytes: int) -> int:
        if self.budget is None:
            return 0
        with self.report.timed_wait("decoders wait for the audio memory budget"):
            self.budget.reserve(nbytes)
        return nbytes

    def _release(self, nbytes: int) -> None:
        if self.budget is not None:
            self.budget.release(nbytes)

    def _analyse(self, path: str, source: Source, reserved: int) -> Future[tuple[dict[str, Any], float]] | None:
        """Queue the analysis in the process pool (librosa is GIL-bound) and return at once: the file's
        windows go on to the model while it runs. The input is the native-rate decode, exactly what
        ``traum analyze`` analyses (:func:`traum.analysis.analyse_path`), so both give the same facts.
        ``reserved`` bytes of the audio budget are released when the analysis is done (the pool holds
        the samples until then). None: analysis is off, the name alone speaks (see :func:`collect_facts`)."""
        if not self.analyse:
            return None
        info = source.info
        with self.report.timed_wait("decoders wait for a free analysis slot"):
            future = self.analysis.submit(timed_analysis, source.samples, info.sample_rate, path, info.sample_rate,
                                          info.bit_depth, source.truncated, source.whole)
        if reserved:
            future.add_done_callback(lambda _done: self._release(reserved))
        return future

    def _from_cache(self, digest: str, f: Found, cached: Vectors, new_stem: bool, started: float,
                    base: dict[str, Any]) -> Prepared:
        """Vectors from the cache; only the header is read for a new stem's facts."""
        stem = None
        if new_stem:
            info = probe(f.path)
            from traum.analysis import name_facts

            stem = _new_stem(digest, f, info, name_facts(f.path))
        outcome = PathOutcome(status="indexed", file_hash=digest, processing_time=round(time.perf_counter() -
                              started, 4), **base)
        return Prepared(outcome, stem, digest, [o for o, _ in cached[1]], [], cached)


def timed_analysis(*args: Any) -> tuple[dict[str, Any], float]:
    """Runs in an analysis process: the facts (plugins' included) and the CPU seconds they took there."""
    from traum.plugins.analysis import analyse_for_catalog

    started = time.process_time()
    facts = analyse_for_catalog(*args)
    return facts, time.process_time() - started


def collect_facts(item: Prepared, report: IndexReport) -> None:
    """The analysis of ``item``'s new stem into its facts (what the name says if analysis failed or is off)."""
    from traum.analysis import name_facts

    if item.stem is None:
        return
    stem = item.stem
    if item.facts is None:
        if not stem.facts:  # analysis is off; or it ran elsewhere (a Ray task) and its facts came with the stem
            stem.facts = name_facts(stem.path)
    else:
        try:
            stem.facts, seconds = item.facts.result()
            report.add_busy("analyse", seconds)
        except Exception:
            log.exception("analysis failed for %s; keeping what its name says", stem.path)
            stem.facts = name_facts(stem.path)
        item.facts = None
    _count_plugin_errors(stem.path, stem.facts, report)


def _count_plugin_errors(path: str, facts: dict[str, Any], report: IndexReport) -> None:
    """A plugin that raised in the analysis process: logged here with its name, counted in the run."""
    from traum.plugins import record_error
    from traum.plugins.analysis import PLUGIN_ERRORS

    for plugin, message in facts.pop(PLUGIN_ERRORS, ()):
        record_error(plugin, f"{path}: {message}")
        report.count_plugin_error(plugin)


def decode_source(path: str, model: EmbeddingModel | None, max_windows: int | None = DEFAULT_MAX_WINDOWS,
                  info: AudioInfo | None = None) -> Source:
    """Decode once at the native rate; a file over ``STREAM_SECONDS`` is streamed block by block and
    only its model windows (as features) and analysis head are kept, so memory does not grow with it.
    ``max_windows``: the file's window budget (None: every window); ``info``: its header, if read already."""
    info = info or probe(path)
    offsets: list[float] = []
    features: list[np.ndarray] = []
    if info.duration > STREAM_SECONDS:
        def on_window(offset: float, clip: np.ndarray) -> None:
            assert model is not None
            offsets.append(offset)
            features.append(model.prepare(clip)[0].features)

        long = read_long(path, model_rate=model.sample_rate if model else None,
                         window_seconds=model.window_seconds if model else 10.0,
                         on_window=on_window if model else None, max_windows=max_windows)
        return Source(info, long.head, long.truncated, long.whole, offsets, features)
    decoded = load(path, None)
    if model is not None:
        # Cut here, not in model.prepare, so the budget applies to any model (each clip is one window).
        clips = split_windows(resample(decoded.samples, decoded.sample_rate, model.sample_rate), model.sample_rate,
                              window=model.window_seconds, max_windows=max_windows)
        offsets, features = [o for o, _ in clips], [model.prepare(clip)[0].features for _, clip in clips]
    return Source(decoded.info, decoded.samples, decoded.truncated, None, offsets, features)


def cache_key(digest: str, model: EmbeddingModel, max_windows: int | None) -> str:
    from traum.embedding.cache import EmbeddingCache
    from traum.settings import PROCESSING_VERSION

    return EmbeddingCache.key(digest, model.model_id, PROCESSING_VERSION, max_windows)


def _new_stem(digest: str, f: Found, info: AudioInfo, facts: dict[str, Any]) -> StemRecord:
    return StemRecord(digest, f.path, f.size, info.duration, info.sample_rate, info.channels, info.bit_depth,
                      f"{info.format}/{info.subtype}", facts)


def failure(err: Exception, base: dict[str, Any]) -> PathOutcome:
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


def with_retry(action: Callable[[], T], path: str) -> T:
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
