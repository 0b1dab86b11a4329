"""FastAPI app: JSON API over one catalog, audio by id only, the page from ``static/``.

Security model: nothing is ever served by path, only catalogued files by their 64-hex id; a token
(when set) is checked on every request, from ``Authorization: Bearer``, a ``token`` query parameter
or the ``traum_token`` cookie (so the page's <audio> element works); no CORS headers at all, so
other sites' scripts cannot read responses; all SQL is parameterised.
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import os
import re
import threading
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from traum.catalog import Catalog
from traum.embedding.base import EmbeddingModel
from traum.errors import NotFound, TraumError

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
_ID = re.compile(r"[0-9a-f]{64}")
AUDIO_TYPES = {"WAV": "audio/wav", "AIFF": "audio/aiff", "FLAC": "audio/flac", "OGG": "audio/ogg",
               "MP3": "audio/mpeg"}


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

    @contextmanager
    def use(self):
        with self.lock:
            yield self.catalog

    def stem(self, stem_id: str) -> dict[str, Any]:
        if not _ID.fullmatch(stem_id):
            raise NotFound("no such sample")
        with self.use() as catalog:
            stem = catalog.stem(stem_id)
            if stem is None or not catalog.paths_of(stem_id):
                raise NotFound("no such sample")
            stem["paths"] = catalog.paths_of(stem_id)
        return stem

    def peaks(self, stem_id: str, points: int) -> list[float]:
        key = (stem_id, points)
        with self.lock:
            if key in self._peaks:
                return self._peaks[key]
        stem = self.stem(stem_id)
        from traum.audio import load

        samples = np.abs(load(stem["path"], None).samples)
        edges = np.linspace(0, len(samples), points + 1).astype(int)
        peaks = [round(float(samples[a:b].max()) if b > a else 0.0, 4) for a, b in zip(edges[:-1], edges[1:])]
        with self.lock:
            self._peaks[key] = peaks
            while len(self._peaks) > 2048:
                self._peaks.popitem(last=False)
        return peaks


def create_app(db: Path, *, model: EmbeddingModel | None = None, notice: str | None = None,
               token: str | None = None) -> FastAPI:
    app = FastAPI(title="Traum", summary="Search, audition and sort your sample library.", version="0.1.0")
    lib = Library(db, model, notice)
    app.state.library = lib
    _guard(app, token)
    _errors(app)
    _routes(app, lib)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _guard(app: FastAPI, token: str | None) -> None:
    @app.middleware("http")
    async def check_token(request: Request, call_next):
        if token is None or request.url.path == "/healthz":
            return await call_next(request)
        given = _token_of(request)
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "missing or wrong token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie("traum_token", token, httponly=True, samesite="strict")
        return response


def _token_of(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get("traum_token")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(NotFound)
    async def not_found(_request: Request, err: NotFound):
        return JSONResponse({"error": str(err)}, status_code=404)

    @app.exception_handler(TraumError)
    async def bad_request(_request: Request, err: TraumError):
        return JSONResponse({"error": str(err)}, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, err: RequestValidationError):
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in err.errors())
        return JSONResponse({"error": f"bad parameters: {details}"}, status_code=422)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, err: Exception):
        log.error("unexpected error in web request", exc_info=err)
        return JSONResponse({"error": "internal error (details in the server log)"}, status_code=500)


def _routes(app: FastAPI, lib: Library) -> None:  # noqa: C901 - one place that lists the API
    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return RedirectResponse("/static/favicon.svg")

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/status")
    def status() -> dict[str, Any]:
        with lib.use() as catalog:
            return {"counts": catalog.counts(), "samples": catalog.stem_count(),
                    "embedded": catalog.stem_count(embedded_only=True),
                    "model": lib.model.name if lib.model else None, "notice": lib.engine.notice}

    @app.get("/api/search")
    def search(q: Annotated[str, Query(max_length=500)] = "", k: Annotated[int, Query(ge=1, le=500)] = 50,
               bpm: Annotated[str | None, Query(max_length=20)] = None,
               key: Annotated[str | None, Query(max_length=20)] = None,
               category: Annotated[str | None, Query(max_length=40)] = None,
               loop: bool | None = None, max_duration: Annotated[float | None, Query(gt=0)] = None,
               min_duration: Annotated[float | None, Query(ge=0)] = None) -> dict[str, Any]:
        with lib.use():
            result = lib.engine.search(q, k=k, bpm=bpm or None, key=key or None, category=category or None,
                                       loop=loop, max_duration=max_duration, min_duration=min_duration)
        return {"query": result.explain(), "notice": result.notice, "results": [h.to_dict() for h in result.hits]}

    @app.get("/api/similar/{stem_id}")
    def similar(stem_id: str, k: Annotated[int, Query(ge=1, le=500)] = 30) -> dict[str, Any]:
        lib.stem(stem_id)
        with lib.use():
            result = lib.engine.similar(stem_id, k=k)
        return {"results": [h.to_dict() for h in result.hits]}

    @app.get("/api/stems/{stem_id}")
    def stem(stem_id: str) -> dict[str, Any]:
        return lib.stem(stem_id)

    @app.get("/api/audio/{stem_id}")
    def audio(stem_id: str, request: Request):
        stem = lib.stem(stem_id)
        path = stem["path"]
        if not os.path.isfile(path):
            raise NotFound("the file is no longer on disk; run `traum index` to update the catalog")
        if request.headers.get("range", "bytes=0-").startswith("bytes=0-"):
            with lib.use() as catalog:
                catalog.record_play(stem_id)
        media = AUDIO_TYPES.get((stem.get("format") or "").split("/")[0]) or mimetypes.guess_type(path)[0]
        return FileResponse(path, media_type=media or "application/octet-stream",
                            filename=os.path.basename(path), content_disposition_type="inline")

    @app.get("/api/waveform/{stem_id}")
    def waveform(stem_id: str, points: Annotated[int, Query(ge=16, le=4000)] = 400) -> dict[str, Any]:
        return {"id": stem_id, "points": points, "peaks": lib.peaks(stem_id, points)}

    @app.post("/api/stems/{stem_id}/rating")
    def rate(stem_id: str, rating: Annotated[int, Body(embed=True, ge=0, le=5)]) -> dict[str, Any]:
        lib.stem(stem_id)
        with lib.use() as catalog:
            catalog.set_rating(stem_id, rating)
        return lib.stem(stem_id)

    @app.post("/api/stems/{stem_id}/tags")
    def tag(stem_id: str, tags: Annotated[list[Annotated[str, Query(max_length=60)]], Body(embed=True, max_length=50)]
            ) -> dict[str, Any]:
        lib.stem(stem_id)
        with lib.use() as catalog:
            catalog.set_user_tags(stem_id, tags)
        return lib.stem(stem_id)
