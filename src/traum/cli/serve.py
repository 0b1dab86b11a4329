"""traum serve"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Optional

import typer

from traum.cli.console import err, notice
from traum.cli.options import Db, Model


def serve(
    db: Db = None,
    host: Annotated[str, typer.Option("--host", help="Address to bind; anything but loopback needs --token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8765,
    token: Annotated[Optional[str], typer.Option("--token", envvar="TRAUM_TOKEN",
                                                 help="Required on every request (Bearer, ?token= or cookie).",
                                                 show_default=False)] = None,
    model: Model = None,
) -> None:
    """Open the library in a browser: search, audition, rate, tag, drag into your DAW."""
    import uvicorn

    from traum import api
    from traum.catalog import Catalog
    from traum.errors import TraumError
    from traum.settings import resolve_db
    from traum.web.app import create_app

    if not _loopback(host) and not token:
        raise TraumError(f"binding to {host} exposes your library to the network: give --token SECRET")
    path = resolve_db(db)
    with Catalog(path, readonly=True) as catalog:
        loaded, why = api._try_model(model or api.catalog_model_name(catalog))
    if why:
        notice(why)
    app = create_app(path, model=loaded, notice=why, token=token)
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/" + (f"?token={token}" if token else "")
    err.print(f"Traum is serving {path} at [bold]{url}[/]  (API docs at /docs; Ctrl+C stops)", highlight=False)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
