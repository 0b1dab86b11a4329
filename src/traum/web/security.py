"""Who may talk to the server: the Host check, the token, and the headers every response carries.

docs/security.md explains the threat model; this module is its code.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import socket
from collections.abc import Iterable, Sequence

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: What a browser sends as Host for a loopback bind (the port is checked by the socket, not here).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: Reachable without the token: a liveness probe tells nothing about the library.
OPEN_PATHS = frozenset({"/healthz"})
COOKIE_PREFIX = "traum_token_"

#: The page: only this origin's own files, never framed, no plugins, no inline script, no eval of strings
#: ('wasm-unsafe-eval' compiles the vendored time-stretcher's WebAssembly, nothing else).
PAGE_CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data:; media-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
#: Swagger UI sets inline styles from its React components; its scripts still come from 'self' only.
DOCS_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def _host_literal(host: str) -> str:
    """How ``host`` appears in a Host header: IPv6 addresses in brackets."""
    bare = host.strip("[]")
    try:
        return f"[{bare}]" if ipaddress.ip_address(bare).version == 6 else bare
    except ValueError:
        return host.lower().rstrip(".")


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> list[str]:
    """Host header names the server answers for a bind address.

    Loopback: the loopback names only, which is what defeats DNS rebinding (an attacker's domain
    that resolves to 127.0.0.1 still sends its own name as Host). Any other address: that address
    and this machine's names; a wildcard bind (0.0.0.0, ::) adds the loopback names and the addresses
    the hostname resolves to. ``extra`` (``--allow-host``) adds names such as a reverse proxy's.
    """
    names: set[str] = set()
    if is_loopback(bind) or is_wildcard(bind):
        names.update(LOOPBACK_NAMES)
    if not is_loopback(bind):
        if not is_wildcard(bind):
            names.add(_host_literal(bind))
        names.update(_machine_names(with_addresses=is_wildcard(bind)))
    names.update(_host_literal(h) for h in extra if h.strip())
    return sorted(n.lower() for n in names)


def _machine_names(*, with_addresses: bool) -> set[str]:
    names = {socket.gethostname(), socket.getfqdn()}
    if with_addresses:
        with contextlib.suppress(OSError):  # a hostname that does not resolve: --allow-host covers it
            names.update(_host_literal(str(info[4][0])) for info in socket.getaddrinfo(socket.gethostname(), None))
    return {n for n in names if n}


def cookie_name(scope: Scope) -> str:
    """One cookie per port: two servers on localhost must not overwrite each other's token."""
    server = scope.get("server") or ("", 0)
    return f"{COOKIE_PREFIX}{server[1] or 0}"


class TokenGuard:
    """Every request but ``/healthz`` shows the token: ``Authorization: Bearer``, ``?token=`` or the cookie.

    A page request with a valid ``?token=`` gets the cookie (HttpOnly, SameSite=Strict) and a 303 to the
    same URL without the token, so the secret leaves the address bar, history and any Referer.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token.encode()

    def _valid(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self.token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        in_query = request.query_params.get("token")
        auth = request.headers.get("authorization", "")
        bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        if not any(self._valid(g) for g in (bearer, in_query, request.cookies.get(cookie_name(scope)))):
            response = JSONResponse({"error": "missing or wrong token: open the URL `traum serve` printed"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            await response(scope, receive, send)
            return
        if self._valid(in_query) and request.method in ("GET", "HEAD") and not scope["path"].startswith("/api/"):
            await self._to_cookie(request)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _to_cookie(self, request: Request) -> RedirectResponse:
        url = request.url.remove_query_params("token")
        # Relative, so the Location never echoes a Host header back.
        response = RedirectResponse(url.path + (f"?{url.query}" if url.query else ""), status_code=303)
        response.set_cookie(cookie_name(request.scope), self.token.decode(), httponly=True, samesite="strict",
                            path="/")
        return response


class SecurityHeaders:
    """No framing, no MIME sniffing, no Referer, and a Content-Security-Policy on every response."""

    def __init__(self, app: ASGIApp, docs_paths: Sequence[str] = ("/docs",)) -> None:
        self.app = app
        self.docs_paths = frozenset(docs_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = DOCS_CSP if scope["path"] in self.docs_paths else PAGE_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                headers["content-security-policy"] = policy
            await send(message)

        await self.app(scope, receive, with_headers)
