"""FastAPI app: JSON API over one catalog, audio by id only, the page from ``static/``.

Security model (docs/security.md): the Host header must name this server (no DNS rebinding); a token
is checked on every request but ``/healthz``; nothing is ever served by path, only catalogued files by
their 64-hex id and only while they still match the catalog; no CORS headers; bodies are capped; every
response forbids framing and carries a same-origin Content-Security-Policy; all SQL is in the catalog.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from traum import __version__
from traum.audio import peaks as audio_peaks
from traum.catalog import Catalog, StemFilter, collections
from traum.catalog.paths import display
from traum.embedding.base import EmbeddingModel
from traum.errors import (
    AudioError,
    CatalogError,
    ModelUnavailable,
    NotFound,
    QueryError,
    TraumError,
)
from traum.web import browse, files, models, preview
from traum.web.mapjob import MapJobs
from traum.web.security import LOOPBACK_NAMES, SecurityHeaders, TokenGuard

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
_ID = re.compile(r"[0-9a-f]{64}")
AUDIO_TYPES = {"WAV": "audio/wav", "AIFF": "audio/aiff", "FLAC": "audio/flac", "OGG": "audio/ogg",
               "MP3": "audio/mpeg"}
#: The largest body the API takes is a list of 50 tags of 60 characters; 64 KB leaves room and no more.
MAX_BODY = 64 * 1024
#: The producer's marks and measured loudness/quality a hit shows, read from the catalog when the
#: search engine's hits do not carry them.
#: Status codes for our error classes when they carry no ``status`` of their own.
STATUS_OF = ((NotFound, 404), (CatalogError, 500), (ModelUnavailable, 503), (AudioError, 422))
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": models.ErrorBody, "description": text} for code, text in (
    (400, "bad request"), (401, "missing or wrong token"), (404, "no such sample, or its file changed"),
    (409, "the server's model cannot search this catalog by text"), (413, "request body too large"),
    (500, "catalog or server error"))}


class OtherModel(TraumError):
    """The server's model cannot search this catalog by text: a conflict with how it was indexed (the same
    check and words as the CLI's), not a bad request."""

    status = 409


class Library:
    """The catalog, its search engine and a waveform cache, shared by request threads under one lock
    (SQLite work per request is a few milliseconds; one connection keeps writes simple)."""

    def __init__(self, db: Path, model: EmbeddingModel | None, notice: str | None) -> None:
        from traum.search import SearchEngine

        self.catalog = Catalog(db)
        self.engine = SearchEngine(self.catalog, model, notice=notice)
        self.model = model
        self.lock = threading.RLock()
        self._peaks: OrderedDict[tuple[str, int], list[float]] = OrderedDict()
        self.maps = MapJobs(db)
        self.renders = preview.Renders()
        self._model_fits_at = -1  # catalog generation at which the model last passed the check

    def check_text_model(self, catalog: Catalog) -> None:
        """Refuse a text query when the model shares no vectors with the catalog (as ``traum search`` does);
        checked again only when the catalog changed."""
        from traum.embedding.models import check_catalog_model

        generation = catalog.generation
        if self.model is None or generation == self._model_fits_at:
            return
        try:
            check_catalog_model(catalog, self.model)
        except TraumError as err:
            raise OtherModel(f"{err} (`traum serve` takes the same --model)", reason=err.reason) from err
        self._model_fits_at = generation

    @contextmanager
    def use(self) -> Iterator[Catalog]:
        with self.lock:
            try:
                yield self.catalog
            except sqlite3.Error as err:
                raise CatalogError(f"the catalog cannot be read: {err}; check the file or rebuild it with "
                                   "`traum index`") from err

    def stem(self, stem_id: str) -> dict[str, Any]:
        if not _ID.fullmatch(stem_id):
            raise NotFound("no such sample")
        from traum.catalog.facts import stem_facts

        with self.use() as catalog:
            stem = catalog.stem(stem_id)
            paths = catalog.paths_of(stem_id) if stem else []
            facts = stem_facts(catalog, stem_id) if paths else {}
        if stem is None or not paths:
            raise NotFound("no such sample")
        stem["paths"] = paths
        stem["facts"] = facts
        return stem

    def servable(self, stem: dict[str, Any]) -> tuple[str, os.stat_result]:
        """The first of the stem's paths that still matches the catalog, with its stat."""
        candidates = list(dict.fromkeys([stem["path"], *stem["paths"]]))
        first_error: NotFound | None = None
        for path in candidates:
            with self.use() as catalog:
                recorded = catalog.file_state(path)
            try:
                return path, files.checked_stat(path, recorded)
            except NotFound as err:
                first_error = first_error or err
        raise first_error or NotFound("no such sample")

    def peaks(self, stem_id: str, points: int) -> list[float]:
        path, _ = self.servable(self.stem(stem_id))
        key = (stem_id, points)  # the id is the content hash, so cached peaks cannot go stale
        with self.lock:
            if key in self._peaks:
                return self._peaks[key]
        peaks = audio_peaks(path, points)
        with self.lock:
            self._peaks[key] = peaks
            while len(self._peaks) > 2048:
                self._peaks.popitem(last=False)
        return peaks


def create_app(db: Path, *, model: EmbeddingModel | None = None, notice: str | None = None,
               token: str | None = None, hosts: list[str] | None = None, max_body: int = MAX_BODY) -> FastAPI:
    """``token`` None serves without one (``traum serve --no-token``, loopback only); ``hosts`` are the
    Host header names to answer (default: the loopback names, see :func:`security.allowed_hosts`)."""
    app = FastAPI(title="Traum", summary="Search, audition and sort your sample library.", version=__version__,
                  docs_url=None, redoc_url=None, max_body_size=max_body)
    lib = Library(db, model, notice)
    app.state.library = lib
    _errors(app)
    _routes(app, lib)
    metrics = _metrics(app, lib)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # Added innermost first: the Host check runs before the token, the headers wrap everything.
    app.add_middleware(LastResort)
    if token is not None:
        app.add_middleware(TokenGuard, token=token)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts or LOOPBACK_NAMES), www_redirect=False)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(metrics.middleware)  # outermost: refused requests are counted too
    return app


def _metrics(app: FastAPI, lib: Library) -> Any:
    """``/metrics`` in Prometheus text format, behind the token like every route (traum.metrics)."""
    from fastapi.responses import Response

    from traum.metrics import WebMetrics

    def stats() -> dict[str, Any]:
        from traum.catalog.runs import run_totals

        with lib.use() as catalog:
            size = sum(p.stat().st_size for p in catalog.path.parent.glob(catalog.path.name + "*") if p.is_file())
            return {"samples": catalog.stem_count(), "files": catalog.counts(), "bytes": size,
                    "runs": run_totals(catalog)}

    metrics = WebMetrics(stats)
    metrics.instrument_search(lib.engine)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    return metrics


class LastResort:
    """An unexpected error: one line to the client, the traceback to the log file and not the terminal."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as err:  # the web error boundary
            log.error("unexpected error in web request %s", scope.get("path"), exc_info=err)
            if scope["type"] != "http" or started:
                return
            await JSONResponse({"error": "internal error (details in the log file)"}, status_code=500)(
                scope, receive, send)


def status_of(err: TraumError) -> int:
    status = getattr(err, "status", None)
    if isinstance(status, int):
        return status
    return next((code for cls, code in STATUS_OF if isinstance(err, cls)), 400)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(TraumError)
    async def known(_request: Request, err: TraumError):
        status = status_of(err)
        if status >= 500:
            log.error("web request failed: %s", err, exc_info=err)
        return JSONResponse({"error": " ".join(str(err).split())}, status_code=status)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, err: HTTPException):
        return JSONResponse({"error": str(err.detail)}, status_code=err.status_code, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, err: RequestValidationError):
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in err.errors())
        return JSONResponse({"error": f"bad parameters: {details}"}, status_code=422)


def _routes(app: FastAPI, lib: Library) -> None:
    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return FileResponse(STATIC / "docs.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return RedirectResponse("/static/favicon.svg")

    @app.get("/healthz")
    def healthz() -> models.Health:
        return models.Health()

    # Straight on the app, not an APIRouter: app.routes then lists every endpoint with its path.
    _read_routes(app, lib)
    _write_routes(app, lib)
    _collection_routes(app, lib)
    _map_routes(app, lib)
    _preview_routes(app, lib)


def _read_routes(app: FastAPI, lib: Library) -> None:
    @app.get("/api/status", responses=ERRORS)
    def status() -> models.Status:
        with lib.use() as catalog:
            return models.Status(counts=catalog.counts(), samples=catalog.stem_count(),
                                 embedded=catalog.stem_count(embedded_only=True),
                                 model=lib.model.name if lib.model else None, notice=lib.engine.notice)

    @app.get("/api/search", responses=ERRORS)
    def search(q: Annotated[str, Query(max_length=500)] = "", k: Annotated[int, Query(ge=1, le=500)] = 50,
               bpm: Annotated[str | None, Query(max_length=20)] = None,
               key: Annotated[str | None, Query(max_length=20)] = None,
               category: Annotated[str | None, Query(max_length=40)] = None,
               loop: bool | None = None, max_duration: Annotated[float | None, Query(gt=0)] = None,
               min_duration: Annotated[float | None, Query(ge=0)] = None,
               quality: Annotated[Literal["ok", "issues"] | None, Query(
                   description="ok: no quality issues; issues: at least one")] = None,
               min_lufs: Annotated[float | None, Query(ge=-100, le=10)] = None,
               max_lufs: Annotated[float | None, Query(ge=-100, le=10)] = None,
               fact: Annotated[list[Annotated[str, Query(max_length=100)]] | None, Query(
                   max_length=20, description="plugin fact conditions: brightness>=0.3, mood=dark")] = None,
               collection: Annotated[str | None, Query(max_length=80, description="only this collection")] = None,
               offset: Annotated[int, Query(ge=0, le=100_000, description="results to skip (paging)")] = 0,
               sort: Annotated[browse.Sort | None, Query(
                   description="default: relevance for words, else recently added")] = None,
               desc: Annotated[bool | None, Query(description="default: the sort's natural direction")] = None,
               ) -> models.SearchResponse:
        with lib.use() as catalog:
            if browse.has_words(q):
                lib.check_text_model(catalog)
            page = browse.search_page(lib.engine, q, k=k, offset=offset, sort=sort, descending=desc,
                                      collection=collection or None, bpm=bpm or None, key=key or None,
                                      category=category or None, loop=loop, max_duration=max_duration,
                                      min_duration=min_duration,
                                      quality_ok=None if quality is None else quality == "ok",
                                      min_lufs=min_lufs, max_lufs=max_lufs, facts=fact or None)
            why = browse.why_empty(catalog, page.stem_filter, page.query.text) if not page.total else []
        return models.SearchResponse.model_validate({
            "query": page.explained, "notice": page.notice, "results": [h.to_dict() for h in page.hits],
            "total": page.total, "offset": offset, "sort": page.sort, "descending": page.descending,
            "why_empty": why})

    @app.get("/api/similar/{stem_id}", responses=ERRORS)
    def similar(stem_id: str, k: Annotated[int, Query(ge=1, le=500)] = 30,
                offset: Annotated[int, Query(ge=0, le=450)] = 0,
                aspect: Annotated[Literal["sound", "bpm", "key", "category"], Query(
                    description="sound alone, or sound among samples of the same tempo (±3 %), key or category"
                )] = "sound") -> models.SimilarResponse:
        target = lib.stem(stem_id)
        same = aspect_filter(target, aspect)
        with lib.use():
            result = lib.engine.similar(stem_id, k=min(500, offset + k), filters=same)
        hits = result.hits[offset:offset + k]
        return models.SimilarResponse.model_validate({
            "target": target, "aspect": aspect, "results": [h.to_dict() for h in hits], "total": len(result.hits),
            "offset": offset, "sort": "relevance", "descending": True,
            "why_empty": [] if result.hits else [{"filter": aspect, "value": _fact(target, aspect),
                                                  "matching": 0}]})

    @app.get("/api/stems/{stem_id}", responses=ERRORS)
    def stem(stem_id: str) -> models.Stem:
        return models.Stem.model_validate(lib.stem(stem_id))

    @app.get("/api/audio/{stem_id}", response_class=FileResponse, responses=ERRORS | {
        200: {"content": {"audio/*": {}}, "description": "the file; supports Range (206)"}})
    def audio(stem_id: str, request: Request,
              bpm: Annotated[str | None, Query(max_length=20, description=(
                  "project tempo: a loop with a known BPM is time-stretched to it"))] = None,
              key: Annotated[str | None, Query(max_length=20, description=(
                  "project key ('A minor', 'F#'): pitched material is shifted to it (nearest transposition)"))] = None,
              tempo: Annotated[str | None, Query(max_length=10, description=(
                  "half or double: the loop's true tempo is half/double the detected one"))] = None):
        wanted = preview.parse(bpm, key, tempo)
        stem = lib.stem(stem_id)
        path, st = lib.servable(stem)
        if request.headers.get("range", "bytes=0-").startswith("bytes=0-"):
            with lib.use() as catalog:
                catalog.record_play(stem_id)
        if wanted.wanted:
            if (stem.get("duration") or 0) > preview.MAX_SECONDS:
                raise QueryError(f"{display(stem['filename'])} is longer than {preview.MAX_SECONDS} s; "
                                 "Traum previews only shorter samples at the project's tempo and key")
            rendered = lib.renders.wav(path, stem, wanted)
            if rendered is not None:
                return Response(rendered, media_type="audio/wav", headers={
                    "Content-Disposition": "inline", "Cache-Control": "private, max-age=3600"})
        media = AUDIO_TYPES.get((stem.get("format") or "").split("/")[0]) or mimetypes.guess_type(path)[0]
        return FileResponse(path, stat_result=st, media_type=media or "application/octet-stream",
                            filename=display(os.path.basename(path)), content_disposition_type="inline")

    @app.get("/api/waveform/{stem_id}", responses=ERRORS)
    def waveform(stem_id: str, points: Annotated[int, Query(ge=16, le=4000)] = 400) -> models.Waveform:
        return models.Waveform(id=stem_id, points=points, peaks=lib.peaks(stem_id, points))


def aspect_filter(target: dict[str, Any], aspect: str) -> StemFilter | None:
    """The facts a "similar by aspect" shares with its target; a QueryError when the target lacks it."""
    if aspect == "sound":
        return None
    value = target.get(aspect)
    if value is None:
        what = {"bpm": "no tempo (it is a one-shot)", "key": "no key", "category": "no category"}[aspect]
        raise QueryError(f"{display(target['filename'])} has {what}, so there is nothing to match by {aspect}; "
                         "try similar by sound")
    if aspect == "bpm":
        return StemFilter(bpm_spans=((value * 0.97, value * 1.03),))
    return StemFilter(keys=(value,)) if aspect == "key" else StemFilter(category=value)


def _fact(target: dict[str, Any], aspect: str) -> str:
    value = target.get(aspect)
    return "sound" if aspect == "sound" else f"{value:g} BPM" if aspect == "bpm" else str(value)


def _write_routes(app: FastAPI, lib: Library) -> None:
    @app.post("/api/stems/{stem_id}/rating", responses=ERRORS)
    def rate(stem_id: str, rating: Annotated[int, Body(embed=True, ge=0, le=5, description="0 clears")]
             ) -> models.Stem:
        lib.stem(stem_id)
        with lib.use() as catalog:
            catalog.set_rating(stem_id, rating)
        return models.Stem.model_validate(lib.stem(stem_id))

    @app.post("/api/stems/{stem_id}/tags", responses=ERRORS)
    def tag(stem_id: str, tags: Annotated[list[Annotated[str, Query(max_length=60)]], Body(embed=True, max_length=50)]
            ) -> models.Stem:
        lib.stem(stem_id)
        with lib.use() as catalog:
            catalog.set_user_tags(stem_id, tags)
        return models.Stem.model_validate(lib.stem(stem_id))



StemId = Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")]


def _collection_routes(app: FastAPI, lib: Library) -> None:
    def shown(info: collections.CollectionInfo) -> models.Collection:
        return models.Collection(name=info.name, size=info.size, created_at=info.created_at)

    @app.get("/api/collections", responses=ERRORS)
    def all_collections() -> models.Collections:
        with lib.use() as catalog:
            return models.Collections(collections=[shown(c) for c in collections.all_collections(catalog)])

    @app.post("/api/collections", responses=ERRORS)
    def create(name: Annotated[str, Body(embed=True, max_length=collections.MAX_NAME)]) -> models.Collection:
        with lib.use() as catalog:
            return shown(collections.create(catalog, name))

    @app.post("/api/collections/{name}/items", responses=ERRORS)
    def add(name: str, ids: Annotated[list[StemId], Body(embed=True, max_length=500)]) -> models.Collection:
        """Append samples (made if the collection is new); ids already in it stay where they are."""
        with lib.use() as catalog:
            collections.add(catalog, name, ids)
            return shown(collections.info(catalog, collections.clean_name(name)))

    @app.delete("/api/collections/{name}/items/{stem_id}", responses=ERRORS)
    def remove(name: str, stem_id: str) -> models.Collection:
        with lib.use() as catalog:
            collections.remove(catalog, name, [stem_id])
            return shown(collections.info(catalog, name))

    @app.get("/api/collections/{name}/kit", response_class=FileResponse, responses=ERRORS | {
        200: {"content": {"application/zip": {}}, "description": "the kit: its files, or an SFZ instrument, zipped"}})
    def kit(name: str, format: Literal["zip", "sfz"] = "zip",
            audio_format: Literal["wav", "flac", "aiff", "ogg"] | None = None,
            sample_rate: Annotated[int | None, Query(ge=8000, le=192000)] = None,
            bit_depth: Annotated[int | None, Query(description="16, 24 or 32 (float)")] = None,
            bpm: Annotated[float | None, Query(ge=20, le=300, description="render loops at this tempo")] = None,
            key: Annotated[str | None, Query(max_length=20, description="shift pitched sounds to this key")] = None):
        with lib.use() as catalog:
            info = collections.info(catalog, name)
            ids = collections.members(catalog, info.name)
        return _kit_download(lib, info.name, ids, format, _kit_options(audio_format, sample_rate, bit_depth, bpm, key))

    @app.post("/api/kit", response_class=FileResponse, responses=ERRORS | {
        200: {"content": {"application/zip": {}}, "description": "the selection as a kit, zipped"}})
    def kit_of_selection(ids: Annotated[list[StemId], Body(max_length=500)],
                         name: Annotated[str, Body(max_length=collections.MAX_NAME)] = "selection",
                         format: Annotated[Literal["zip", "sfz"], Body()] = "zip",
                         bpm: Annotated[float | None, Body(ge=20, le=300)] = None,
                         key: Annotated[str | None, Body(max_length=20)] = None):
        """Any samples (a search's selection, a lasso on the map) as a kit, without making a collection."""
        return _kit_download(lib, name, ids, format, _kit_options(None, None, None, bpm, key))


def _kit_options(audio_format: str | None, sample_rate: int | None, bit_depth: int | None, bpm: float | None,
                 key: str | None) -> tuple[Any, Any]:
    from traum.kits import Conversion, Match

    try:
        return Conversion(audio_format, sample_rate, bit_depth), Match(bpm, key)
    except TraumError as err:  # a ConfigError for the CLI is a bad query here
        raise QueryError(str(err).replace("--", "")) from None


def _kit_download(lib: Library, name: str, ids: list[str], format: str, options: tuple[Any, Any]) -> FileResponse:
    from starlette.background import BackgroundTask

    from traum.kits import KitSample
    from traum.kits.export import clean_name, key_tag, zip_bytes_of

    samples = []
    for sample in _kit_samples(lib, ids):  # only files that still match the catalog
        try:
            samples.append(KitSample(sample.stem_id, lib.servable(lib.stem(sample.stem_id))[0], sample.category,
                                     sample.bpm, sample.note, sample.key))
        except NotFound:
            continue
    if not samples:
        raise NotFound(f"the kit {name!r} has no sample whose file is still there")
    conversion, match = options
    zipped, _report = zip_bytes_of(samples, name, sfz=format == "sfz", conversion=conversion, match=match)
    tags = [f"{match.bpm:g}bpm"] if match.bpm else []
    tags += [key_tag(match.key)] if match.key else []
    download = f"{'-'.join([clean_name(name) or 'kit', *tags])}{'-sfz' if format == 'sfz' else ''}.zip"
    return FileResponse(zipped, media_type="application/zip", filename=download,
                        background=BackgroundTask(os.unlink, zipped))


def _kit_samples(lib: Library, ids: list[str]) -> list[Any]:
    from traum.kits import samples_of

    with lib.use() as catalog:
        return samples_of(catalog, ids)


def _preview_routes(app: FastAPI, lib: Library) -> None:
    @app.get("/api/preview/{stem_id}", responses=ERRORS)
    def preview_plan(stem_id: str, tempo: Annotated[str | None, Query(max_length=10, description=(
            "half or double: the loop's true tempo is half/double the detected one"))] = None) -> preview.Matching:
        """How to match this sample to any project tempo and key in the page's own stretcher (the same
        decisions as ``/api/audio/{id}?bpm=&key=``): its true BPM (time factor = project BPM / bpm, within
        min_factor…max_factor) and, per key, the method and shift in semitones."""
        wanted = preview.parse(None, None, tempo)
        return preview.matching(lib.stem(stem_id), wanted.tempo)


def _map_routes(app: FastAPI, lib: Library) -> None:
    @app.get("/api/map", responses=ERRORS | {202: {"model": models.SampleMap, "description": "still laying out"}})
    def sample_map(response: Response) -> models.SampleMap:
        """Every present sample's point on the map of the search engine's model, brought up to date
        first (new samples placed, or the whole map laid out off the request thread: then 202)."""
        with lib.use() as catalog:
            model = lib.model.model_id if lib.model else max(catalog.embedding_models().items(),
                                                         key=lambda item: item[1], default=(None, 0))[0]
        if model is None:
            return models.SampleMap(ready=True, message="no sample has an embedding yet: run `traum index`")
        from traum.catalog import maps

        with lib.use() as catalog:
            counts = maps.unplaced_count(catalog, model)
        state = lib.maps.ensure(model, counts)  # waits outside the lock: other requests go on
        if state.error:
            raise CatalogError(state.error)
        if not state.ready:
            response.status_code = 202
            return models.SampleMap(ready=False, model=model, message=(
                f"laying out {state.samples} samples ({state.seconds:.0f} s)"))
        with lib.use() as catalog:
            points = maps.points(catalog, model)
        categories = list(dict.fromkeys(p.category for p in points))
        index = {c: i for i, c in enumerate(categories)}
        return models.SampleMap(
            ready=True, model=model, message=f"{len(points)} samples", ids=[p.stem_id for p in points],
            x=[round(p.x, 5) for p in points], y=[round(p.y, 5) for p in points], categories=categories,
            category=[index[p.category] for p in points])
