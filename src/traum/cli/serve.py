"""traum serve"""

from __future__ import annotations

import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import typer

from traum.cli.console import err, notice
from traum.cli.options import Db, Model


def serve(
    db: Db = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind (default: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8765,
    token: Annotated[str | None, typer.Option(
        "--token", envvar="TRAUM_TOKEN", show_default=False,
        help="Secret every request must show (default: a new random one per start, in the printed URL).")] = None,
    no_token: Annotated[bool, typer.Option(
        "--no-token", help="Serve without a token: any local program (and any page it opens) can use the "
                           "server. Loopback only.")] = False,
    allow_host: Annotated[list[str] | None, typer.Option(
        "--allow-host", show_default=False,
        help="Also answer this Host name (a reverse proxy, another DNS name). Repeatable.")] = None,
    model: Model = None,
) -> None:
    """Open the library in a browser: search, audition, rate, tag, drag into your DAW."""
    import uvicorn

    from traum import api
    from traum.catalog import Catalog
    from traum.search import warm
    from traum.settings import resolve_db
    from traum.web.app import create_app
    from traum.web.security import allowed_hosts, is_loopback

    token = _token(host, token, no_token)
    hosts = allowed_hosts(host, allow_host or ())
    path = resolve_db(db)
    with Catalog(path, readonly=True) as catalog:
        name = model or api.catalog_model_name(catalog)
        loaded, why = api._try_model(name)
    if why:
        notice(why)
    app = create_app(path, model=loaded, notice=why, token=token, hosts=hosts)
    _announce(path, _url(host, port, token), exposed=not is_loopback(host))
    # `traum search` asks this model for its query vectors instead of loading a second copy (search/warm.py).
    stop_tower = warm.host(loaded, name, app.state.library.lock) if loaded is not None else None
    try:
        with _sigterm_ends_cleanly():
            uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        if stop_tower is not None:
            stop_tower()


@contextmanager
def _sigterm_ends_cleanly() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGTERM, then raises it again with the handler it found: make that
    one end the process through ``finally`` blocks (the text tower's socket is removed) with exit 0."""
    import signal

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _token(host: str, token: str | None, no_token: bool) -> str | None:
    from traum.errors import ConfigError
    from traum.web.security import is_loopback

    if no_token and token:
        raise ConfigError("--token and --no-token contradict each other; give one of them")
    if no_token and not is_loopback(host):
        raise ConfigError(f"--no-token is for loopback only: binding to {host} exposes your library to the "
                          "network; drop --no-token (a token is generated) or bind 127.0.0.1")
    if no_token:
        return None
    return token or secrets.token_urlsafe(32)


def _url(host: str, port: int, token: str | None) -> str:
    from traum.web.security import is_wildcard

    shown = socket.gethostname() if is_wildcard(host) else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port}/" + (f"?token={quote(token, safe='')}" if token else "")


def _announce(path: Path, url: str, *, exposed: bool) -> None:
    # No Rich markup: a path or token may contain "[/]", which markup would take for a closing tag.
    from traum.catalog.paths import display

    err.print(f"Traum is serving {display(str(path))} at {url}  (API docs at /docs; Ctrl+C stops)", markup=False,
              highlight=False)
    if exposed:
        err.print("The server is reachable from the network: anyone with this URL (its token) can read and "
                  "rate your library. Share it only over a trusted network.", markup=False, highlight=False)
