"""The Python API; each function mirrors a CLI command.

    >>> import traum
    >>> report = traum.index(["~/Samples"], db="catalog.db")      # doctest: +SKIP
    >>> [h.path for h in traum.search("dusty vinyl kick", db="catalog.db").hits]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from traum.catalog import Catalog
from traum.embedding.base import EmbeddingModel
from traum.embedding.windows import window_budget
from traum.errors import ModelUnavailable, TraumError
from traum.search import SearchResult
from traum.settings import configured, default_model, resolve_db

if TYPE_CHECKING:  # the indexing pipeline's imports are not a search's to pay
    from traum.kits import KitReport
    from traum.pipeline import IndexReport, Progress

PathLike = str | os.PathLike[str]


@functools.lru_cache(maxsize=2)
def get_model(name: str | None = None, device: str = "auto", precision: str = "auto") -> EmbeddingModel:
    """Load a model once per process (the server and repeated API calls share it)."""
    from traum.embedding import load_model

    return load_model(name, device=device, precision=precision)


def check_hardware(device: str, precision: str) -> None:
    """Refuse a device or precision that cannot work before anything runs (a :class:`ConfigError`)."""
    from traum.embedding.clap import check_device, check_precision, pick_device

    check_device(device)
    check_precision(precision)
    if device not in ("auto", "cpu"):
        pick_device(device)


def catalog_model_name(catalog: Catalog) -> str:
    """The model a catalog was embedded with, else the configured default."""
    stored = catalog.get_meta("model")
    return (stored or {}).get("name") or default_model()


def index(paths: Sequence[PathLike], *, db: PathLike | None = None, model: str | None = None,
          batch_size: int | None = None, workers: int | None = None, device: str = "auto",
          precision: str = "auto", progress: Progress | None = None, analyse: bool = True,
          executor: str = "local", address: str | None = None, shards: str | None = None,
          windows: int | str | None = None) -> IndexReport:
    """Catalog and embed every audio file under ``paths``; safe to rerun and to interrupt. ``executor="ray"``
    runs on Ray (``address``: the cluster); ``shards``: write Parquet shards there instead (docs/scale.md).
    ``windows``: model windows per file at most, or ``"all"`` (default: ``TRAUM_WINDOWS``, 3; docs/indexing.md)."""
    from traum.pipeline import IndexOptions, run_index

    check_hardware(device, precision)
    options = IndexOptions(model=model or configured("model"), device=device, precision=precision,
                           batch_size=batch_size, workers=workers, analyse=analyse, executor=executor,
                           address=address, shards=shards, max_windows=window_budget(windows))
    with Catalog(resolve_db(db)) as catalog:
        if options.model is None:
            options.model = catalog_model_name(catalog)
        return run_index(list(paths), catalog, options, progress)


def search(text: str, *, db: PathLike | None = None, k: int = 10, model: str | None = None,
           names_only: bool = False, warm: bool = False, **filters: Any) -> SearchResult:
    """Hybrid search: CLAP text embedding + names + facts. ``filters``: bpm="120-128", key="Am",
    category="kick", min_duration/max_duration (s), loop=True/False, half_double, compatible_keys.

    ``names_only`` loads no model (nor torch). ``warm`` takes query vectors from the background text
    tower (:mod:`traum.search.warm`, started when none runs) instead of loading the model here: for
    short-lived processes such as the CLI. ``SearchResult.timings`` tells where the time went."""
    started = time.perf_counter()
    with Catalog(resolve_db(db), readonly=True) as catalog:
        opened = time.perf_counter()
        # Read once: whether there are vectors at all, and (below) whether the model made any of them.
        embedded = {} if names_only else catalog.embedding_models()
        loaded, notice = (None, None) if names_only else _text_model(catalog, embedded, model, warm)
        try:
            ready = time.perf_counter()
            from traum.search import SearchEngine

            if loaded is not None and text.strip():
                from traum.embedding.models import check_catalog_model

                check_catalog_model(catalog, loaded, embedded)

            result = SearchEngine(catalog, loaded, notice=notice).search(text, k=k, **filters)
            with_plugin_facts(catalog, result)
        finally:
            if loaded is not None:
                from traum.search.warm import close_model

                close_model(loaded)
    result.timings = {"catalog open": opened - started, "model": ready - opened, **result.timings}
    return result


#: Why a text search of a catalog without vectors loads no model: there is nothing to compare a query vector with.
NO_VECTORS = ("this catalog holds no sound vectors yet (`traum index` adds them once the CLAP model is available). "
              "Matching file and folder names instead.")


def _text_model(catalog: Catalog, embedded: dict[str, int], model: str | None, warm: bool
                ) -> tuple[EmbeddingModel | None, str | None]:
    """The model for query vectors: none (with the reason) when the catalog holds no vectors or the model
    cannot be loaded — both found out without importing torch —, else the warm tower's or this process's."""
    from traum.embedding.hub import probe_model
    from traum.search import warm as tower

    if not embedded:
        return None, NO_VECTORS
    name = model or catalog_model_name(catalog)
    try:
        on_disk = probe_model(name)
    except ModelUnavailable as err:
        return None, _names_instead(err)
    stored = catalog.get_meta("model") or {}
    if warm and on_disk and stored.get("name") == name and stored.get("id"):
        return tower.DeferredTextModel(name, stored["id"], lambda: _load_text_model(name, warm=True)), None
    try:
        return _load_text_model(name, warm=warm and on_disk), None
    except ModelUnavailable as err:
        return None, _names_instead(err)


def _load_text_model(name: str, *, warm: bool) -> EmbeddingModel:
    """The warm tower's text model when ``warm`` and it can be had, else the model loaded in this process."""
    from traum.search import warm as tower

    if warm:
        try:
            return tower.connect(name)
        except tower.WarmUnavailable as err:
            logging.getLogger(__name__).info("loading the model in this process: %s", err)
    return get_model(name)


def similar(target: str, *, db: PathLike | None = None, k: int = 10, model: str | None = None) -> SearchResult:
    """Sounds like ``target``: a catalogued id, id prefix or path, or any audio file (embedded on the fly)."""
    with _engine(db, model) as engine:
        return with_plugin_facts(engine.catalog, engine.similar(target, k=k))


def with_plugin_facts(catalog: Catalog, result: SearchResult) -> SearchResult:
    """Each hit's plugin facts under ``facts`` (``{}`` without any): what ``--fact`` conditions search."""
    from traum.catalog.facts import facts_of

    facts = facts_of(catalog, [h.id for h in result.hits])
    for hit in result.hits:
        hit.extra["facts"] = facts[hit.id]
    return result


def duplicates(*, db: PathLike | None = None, threshold: float | None = None) -> dict[str, list[list[str]]]:
    """{"exact": [[path, …], …], "near": [[path, …], …]}"""
    from traum.search.engine import NEAR_DUPLICATE

    with Catalog(resolve_db(db), readonly=True) as catalog:
        from traum.search import SearchEngine

        return SearchEngine(catalog).duplicates(threshold=threshold or NEAR_DUPLICATE)


@contextmanager
def _engine(db: PathLike | None, model: str | None) -> Iterator[Any]:
    from traum.search import SearchEngine

    with Catalog(resolve_db(db), readonly=True) as catalog:
        loaded, notice = _try_model(model or catalog_model_name(catalog))
        yield SearchEngine(catalog, loaded, notice=notice)


def _try_model(name: str) -> tuple[EmbeddingModel | None, str | None]:
    try:
        return get_model(name), None
    except ModelUnavailable as err:
        return None, _names_instead(err)


def _names_instead(err: ModelUnavailable) -> str:
    return f"{err}. Matching file and folder names instead."


def analyze(files: Sequence[PathLike], *, workers: int | None = None) -> list[dict[str, Any]]:
    """Analysis of each file (tempo, key, note, loudness, quality, category, descriptors), in a process
    pool; a file that cannot be decoded gives ``{"path", "error"}``."""
    from concurrent.futures import ProcessPoolExecutor

    from traum.pipeline.processes import watch_parent, worker_context

    # Workers exit when this process dies (kill -9, OOM) instead of waiting forever, orphaned.
    with ProcessPoolExecutor(workers or os.cpu_count() or 2, mp_context=worker_context(), initializer=watch_parent,
                             initargs=(os.getpid(),)) as pool:
        try:
            return list(pool.map(_analyze_one, [str(f) for f in files]))
        except BaseException:
            # Workers ignore Ctrl+C (watch_parent): drop the queued files rather than analyse them all.
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _analyze_one(path: str) -> dict[str, Any]:
    from traum.plugins.analysis import analyse_path_with_plugins

    if Path(path).is_dir():
        return {"path": path, "error": "is a folder; give audio files, or catalogue a folder with `traum index`"}
    try:
        facts = analyse_path_with_plugins(path)
    except TraumError as err:
        return {"path": path, "error": str(err).removeprefix(path + ": ")}
    except OSError as err:  # missing, unreadable: one bad argument never stops the others
        return {"path": path, "error": (err.strerror or str(err)).lower()}
    except Exception:
        logging.getLogger(__name__).exception("analysis failed for %s", path)
        return {"path": path, "error": "analysis failed (details in the log file)"}
    return {"path": path, **facts}


def embed(files: Sequence[PathLike], *, model: str | None = None,
          windows: int | str | None = None) -> list[dict[str, Any]]:
    """``[{"path", "embedding"}]`` for audio files, L2-normalised float32 vectors: the vectors ``traum index``
    stores with the same ``windows`` budget (default ``TRAUM_WINDOWS``; ``"all"``: every window)."""
    from traum.embedding.files import embed_file

    budget = window_budget(windows)
    loaded = get_model(model)
    return [{"path": str(f), "embedding": embed_file(loaded, f, max_windows=budget)[0]} for f in files]


def embed_text(texts: Sequence[str], *, model: str | None = None) -> np.ndarray:
    return get_model(model).embed_text(list(texts))


def status(*, db: PathLike | None = None, runs: int = 5) -> dict[str, Any]:
    """What the catalog holds, and its last ``runs`` indexing runs (newest first)."""
    from traum.catalog.runs import last_runs

    path = resolve_db(db)
    with Catalog(path, readonly=True) as catalog:
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.is_file())
        return {"catalog": str(path), "catalog_bytes": size, "counts": catalog.counts(),
                "stems": catalog.stem_count(), "embedded": catalog.stem_count(embedded_only=True),
                "model": catalog.get_meta("model"), "embedding_models": catalog.embedding_models(),
                "last_run": catalog.get_meta("last_run"), "runs": last_runs(catalog, runs)}


def export(out: PathLike, *, format: str | None = None, db: PathLike | None = None) -> int:
    """Write embeddings to ``out`` (pkl, npy or parquet); returns how many were written."""
    from traum.catalog.export import export_embeddings

    out = Path(out)
    with Catalog(resolve_db(db), readonly=True) as catalog:
        return export_embeddings(catalog, out, format)


def export_kit(collection: str | None, out: PathLike, *, ids: Sequence[str] = (), name: str | None = None,
               format: str = "folder", bpm: float | None = None, key: str | None = None,
               audio_format: str | None = None, sample_rate: int | None = None, bit_depth: int | None = None,
               db: PathLike | None = None) -> KitReport:
    """A collection (or, with ``collection=None``, the samples ``ids`` as the kit ``name``) to a folder, zip or
    SFZ instrument under ``out`` (``traum kit export``). With ``bpm``/``key``, loops are rendered at the tempo
    and pitched sounds in the key, as the page previews them, and their file names say so."""
    from traum.catalog import collections
    from traum.kits import Conversion, Match, samples_of
    from traum.kits import export_kit as write_kit

    conversion, match = Conversion(audio_format, sample_rate, bit_depth), Match(bpm, key)
    with Catalog(resolve_db(db), readonly=True) as catalog:
        if collection is not None:
            info = collections.info(catalog, collection)
            name, ids = info.name, collections.members(catalog, info.name)
        samples = samples_of(catalog, list(ids))
    return write_kit(samples, Path(out), name or "kit", format, conversion, match)  # type: ignore[arg-type]


__all__ = ["TraumError", "analyze", "duplicates", "embed", "embed_text", "export", "export_kit", "index", "search",
           "similar", "status"]
