"""A warm text tower: one small background process per model keeps CLAP's text tower loaded, so a new
``traum search`` process gets its query vector in milliseconds instead of importing torch and loading
the model (seconds) every time.

The first search that needs it starts it (``python -m traum.search.warm``) and waits for it; it exits
after ``TRAUM_TEXT_TOWER_IDLE_S`` seconds without a query (0: never start one, load in-process).

Security (docs/search.md): it only turns text into vectors — no paths, no files, no catalog. It
listens on a unix-domain socket (never the network) in a per-user runtime folder that must be a real
folder owned by this user with mode 0700 (else no warm tower: the search loads the model itself); the
socket is 0600, and on Linux both ends check the other's uid (SO_PEERCRED). Requests are bounded in
size; a client that stalls is dropped. The socket name is a digest of everything that decides the
vectors (model, precision, device, Traum version, interpreter, Hugging Face cache), and the process
tells its model id, which the client hands to the engine as its own.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from traum.embedding.base import Window
from traum.errors import ModelUnavailable

log = logging.getLogger("traum.search.warm")  # also when run as __main__

#: Longest request line, texts per request and characters per text (CLAP reads 77 tokens anyway).
MAX_LINE = 64 * 1024
MAX_TEXTS = 64
MAX_CHARS = 2000
#: Seconds a connected client may stay silent mid-request before it is dropped.
CLIENT_TIMEOUT = 10.0
#: Seconds a search waits for a warm tower it started (loading the model) before loading it itself.
START_TIMEOUT = 180.0


class WarmUnavailable(Exception):
    """No warm tower can be used; the caller loads the model in-process instead."""


# -- which model, and is it there at all (no torch) --------------------------------------------------------

def tower_key(name: str) -> str:
    """Digest of everything that decides a query's vector, so one socket never answers for another model."""
    from traum import __version__
    from traum.settings import get

    local = Path(name).expanduser()
    model = str(local.resolve()) if local.is_dir() else name
    hub = [os.environ.get(v, "") for v in ("HF_HOME", "HF_HUB_CACHE", "HF_HUB_OFFLINE", "HF_ENDPOINT")]
    parts = [model, str(get("precision")), "auto", __version__, sys.executable, *hub]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def idle_seconds() -> int:
    from traum.settings import get

    return int(get("text_tower_idle_s"))


# -- the per-user runtime folder ------------------------------------------------------------------------

def runtime_dir() -> Path:
    """A folder only this user can enter: $XDG_RUNTIME_DIR/traum, else a 0700 folder in the temp dir.

    An existing folder that is a symlink, belongs to someone else or is open to others is refused
    (another user could otherwise plant a socket that answers for our model)."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "traum" if base and Path(base).is_dir() else \
        Path(tempfile.gettempdir()) / f"traum-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = folder.lstat()
    import stat

    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise WarmUnavailable(f"{folder} is not a private folder of this user (mode {oct(info.st_mode)}, "
                              f"owner {info.st_uid})")
    return folder


def _peer_uid(sock: socket.socket) -> int | None:
    if not hasattr(socket, "SO_PEERCRED"):
        return None  # macOS/BSD: the 0700 folder alone keeps other users out
    _pid, uid, _gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                          struct.calcsize("3i")))
    return int(uid)


def _same_user(sock: socket.socket) -> bool:
    uid = _peer_uid(sock)
    return uid is None or uid == os.getuid()


# -- the client -------------------------------------------------------------------------------------------

class _TextOnly:
    """What an :class:`~traum.embedding.base.EmbeddingModel` has for audio, in a model that embeds queries only."""

    sample_rate = 48_000
    window_seconds = 10.0

    def prepare(self, samples: np.ndarray) -> list[Window]:
        raise ModelUnavailable("a model kept for search queries embeds text only, not audio")

    def embed_windows(self, features: np.ndarray) -> np.ndarray:
        raise ModelUnavailable("a model kept for search queries embeds text only, not audio")


class WarmTextModel(_TextOnly):
    """The text side of an :class:`~traum.embedding.base.EmbeddingModel`, answered by the warm tower."""

    def __init__(self, sock: socket.socket, hello: dict[str, Any], *, started: bool) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")
        self.name: str = hello["name"]
        self.model_id: str = hello["model_id"]
        self.dim: int = int(hello["dim"])
        #: How this process got its text vectors: "warm", or "cold" when this search started the tower.
        self.source = "cold" if started else "warm"

    def embed_text(self, texts: list[str]) -> np.ndarray:
        try:
            self._sock.sendall(json.dumps({"texts": list(texts)}).encode() + b"\n")
            reply = json.loads(self._reader.readline(MAX_LINE * 8) or b"{}")
        except (OSError, ValueError) as err:
            raise ModelUnavailable(f"the warm text tower stopped answering ({err}); search again") from err
        if "error" in reply or "vectors" not in reply:
            raise ModelUnavailable(f"the warm text tower refused the query: {reply.get('error', 'no answer')}")
        vectors = np.frombuffer(base64.b64decode(reply["vectors"]), dtype=np.float32)
        if vectors.size != len(texts) * self.dim:
            raise ModelUnavailable("the warm text tower answered with vectors of another size; search again")
        return vectors.reshape(len(texts), self.dim).copy()

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


class DeferredTextModel(_TextOnly):
    """The catalog's own model, known by the name and id the catalog recorded, and loaded (or its warm
    tower connected) only when a query's vector is not in the text cache: a query typed before costs no
    model at all, not even a socket round trip."""

    def __init__(self, name: str, model_id: str, load: Callable[[], Any]) -> None:
        self.name, self.model_id = name, model_id
        self._load = load
        self._model: Any = None

    @property
    def dim(self) -> int:
        return int(self._loaded().dim)

    @property
    def source(self) -> str:
        """Where a text vector came from, once one was computed: the loaded model's (warm, cold, in-process)."""
        return str(getattr(self._model, "source", "in-process"))

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return np.asarray(self._loaded().embed_text(texts))

    def _loaded(self) -> Any:
        if self._model is None:
            model = self._load()
            if model.model_id != self.model_id:
                close_model(model)
                from traum.errors import ConfigError

                raise ConfigError(f"the model {self.name} is not the one this catalog was indexed with (its id is "
                                  f"now {model.model_id}, the catalog's {self.model_id}): run `traum index` again "
                                  "to embed the library with it", reason="other model")
            self._model = model
        return self._model

    def close(self) -> None:
        close_model(self._model)


def close_model(model: Any) -> None:
    """Close a model that holds something open (a warm tower's socket); an in-process model holds nothing."""
    close = getattr(model, "close", None)
    if close is not None:
        close()


def connect(name: str, *, start: bool = True, timeout: float = START_TIMEOUT) -> WarmTextModel:
    """The warm tower for ``name``; started (and waited for) when none runs. Raises WarmUnavailable."""
    if idle_seconds() <= 0:
        raise WarmUnavailable("the warm text tower is off (TRAUM_TEXT_TOWER_IDLE_S=0)")
    path = runtime_dir() / f"text-{tower_key(name)}.sock"
    sock = _try_connect(path)
    started = False
    if sock is None:
        if not start:
            raise WarmUnavailable("no warm text tower runs")
        sock, started = _start_and_connect(name, path, timeout), True
    try:
        hello = _hello(sock, name)
    except WarmUnavailable:
        sock.close()
        raise
    return WarmTextModel(sock, hello, started=started)


def _try_connect(path: Path) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(CLIENT_TIMEOUT * 3)  # a query on a busy machine; never hang a search forever
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        return None
    if not _same_user(sock):
        sock.close()
        raise WarmUnavailable(f"{path} belongs to another user")
    return sock


def _start_and_connect(name: str, path: Path, timeout: float) -> socket.socket:
    log.info("starting a warm text tower for %s", name)
    process = subprocess.Popen(  # our own interpreter and module, no shell
        [sys.executable, "-m", "traum.search.warm", "--model", name, "--socket", str(path)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, close_fds=True)  # outlives this search; Ctrl+C here does not stop it
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock = _try_connect(path)
        if sock is not None:
            return sock
        code = process.poll()
        if code not in (None, 0):  # 0: another search's tower won the race; keep trying its socket
            raise WarmUnavailable(f"the warm text tower could not start (exit {code}; see the log)")
        time.sleep(0.05)
    raise WarmUnavailable(f"the warm text tower did not start within {timeout:.0f} s")


def _hello(sock: socket.socket, name: str) -> dict[str, Any]:
    from traum import __version__

    try:
        with sock.makefile("rb") as reader:
            hello = json.loads(reader.readline(MAX_LINE) or b"{}")
    except (OSError, ValueError) as err:
        raise WarmUnavailable(f"the warm text tower did not greet: {err}") from err
    if hello.get("name") != name or hello.get("version") != __version__ or not hello.get("model_id"):
        raise WarmUnavailable(f"the warm text tower serves another model or version: {hello}")
    return dict(hello)


# -- the server -------------------------------------------------------------------------------------------

def serve(name: str, path: Path, idle: float) -> int:
    """Load ``name`` and answer text queries on ``path`` until idle for ``idle`` seconds."""
    import fcntl

    runtime_dir()  # refuse a folder others can enter before listening in it
    with open(path.with_suffix(".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return 0  # another tower for this model is starting or running
        from traum.api import get_model

        started = time.monotonic()
        try:
            model = get_model(name)
        except Exception as err:  # noqa: BLE001 - whatever failed, the search loads the model itself and says why
            log.warning("warm text tower for %s could not load the model: %s", name, err)
            return 3
        with _listening(path) as server:
            log.info("warm text tower for %s ready in %.1f s (pid %d, exits after %.0f s idle)", name,
                     time.monotonic() - started, os.getpid(), idle)
            answered = _serve_until_idle(server, model, idle)
        log.info("warm text tower for %s idle for %.0f s: exiting after %d queries", name, idle, answered)
    return 0


@contextlib.contextmanager
def _listening(path: Path) -> Iterator[socket.socket]:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket of a tower that died: we hold the lock, so none runs
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)  # the socket is 0600 from its creation, not after a chmod
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    server.listen(8)
    inode = path.stat().st_ino
    try:
        yield server
    finally:
        server.close()
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:
                path.unlink()


# -- hosted by a process that holds the model anyway ---------------------------------------------------------

def host(model: Any, name: str, lock: threading.RLock | None = None) -> Callable[[], None] | None:
    """Answer this tower's socket for ``name`` from a thread of this process, with its loaded ``model``
    (``traum serve``): ``traum search`` then asks the server's model instead of loading a second copy.

    The same socket, folder checks, peer-uid check and bounded requests as a tower process: only text in,
    vectors out, nothing of the catalog. ``lock``: held around each query when the process uses the model
    from other threads too (a Hugging Face tokenizer is not safe to share). None when the tower is off,
    the runtime folder is not private, or a tower for this model already runs (searches keep using it).
    Returns a function that stops answering and removes the socket."""
    import fcntl

    if idle_seconds() <= 0:
        return None
    try:
        path = runtime_dir() / f"text-{tower_key(name)}.sock"
    except (WarmUnavailable, OSError) as err:
        log.info("no text tower in this process: %s", err)
        return None
    resources = contextlib.ExitStack()
    held = resources.enter_context(open(path.with_suffix(".lock"), "w"))  # noqa: SIM115 - locked until close()
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        server = resources.enter_context(_listening(path))
    except OSError:
        resources.close()
        return None
    stop = threading.Event()
    serialised = _Serialised(model, lock) if lock is not None else model
    thread = threading.Thread(target=_serve_until_stopped, args=(server, serialised, stop), daemon=True,
                              name="traum-text-tower")
    thread.start()
    log.info("answering text queries for %s on %s", name, path)

    def close() -> None:
        stop.set()
        thread.join(timeout=HOSTED_POLL_SECONDS * 4)
        resources.close()

    return close


#: How often a hosted tower looks up from its socket to see whether it should stop.
HOSTED_POLL_SECONDS = 0.5


def _serve_until_stopped(server: socket.socket, model: Any, stop: threading.Event) -> None:
    while not stop.is_set():
        _serve_until_idle(server, model, HOSTED_POLL_SECONDS)


class _Serialised:
    """The text side of a model another thread also uses: one query at a time, under the owner's lock."""

    def __init__(self, model: Any, lock: threading.RLock) -> None:
        self._model, self._lock = model, lock
        self.name, self.model_id, self.dim = model.name, model.model_id, model.dim

    def embed_text(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._model.embed_text(texts))


def _serve_until_idle(server: socket.socket, model: Any, idle: float) -> int:
    from traum import __version__

    hello = json.dumps({"name": model.name, "model_id": model.model_id, "dim": model.dim, "version": __version__,
                        "pid": os.getpid()}).encode() + b"\n"
    answered = 0
    server.settimeout(idle)
    while True:
        try:
            conn, _ = server.accept()
        except TimeoutError:
            return answered
        with conn:
            if not _same_user(conn):
                log.warning("warm text tower: refused a connection from another user")
                continue
            conn.settimeout(CLIENT_TIMEOUT)
            with contextlib.suppress(OSError):
                conn.sendall(hello)
                answered += _answer(conn, model)


def _answer(conn: socket.socket, model: Any) -> int:
    answered = 0
    with conn.makefile("rb") as reader:
        while line := reader.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE or not line.endswith(b"\n"):
                conn.sendall(b'{"error": "request too long"}\n')
                break  # the rest of that line would read as requests of its own
            conn.sendall(json.dumps(_reply(line, model)).encode() + b"\n")
            answered += 1
    return answered


def _reply(line: bytes, model: Any) -> dict[str, Any]:
    try:
        texts = json.loads(line)["texts"]
    except (ValueError, KeyError, TypeError):
        return {"error": "not a request"}
    if not (isinstance(texts, list) and 0 < len(texts) <= MAX_TEXTS
            and all(isinstance(t, str) and len(t) <= MAX_CHARS for t in texts)):
        return {"error": f"texts: a list of 1–{MAX_TEXTS} strings of at most {MAX_CHARS} characters"}
    try:
        vectors = np.ascontiguousarray(model.embed_text(texts), dtype=np.float32)
    except Exception:  # one odd text must not take the tower down for every later search
        log.exception("warm text tower: embedding failed")
        return {"error": "embedding failed (details in the log file)"}
    return {"vectors": base64.b64encode(vectors.tobytes()).decode()}


def main(argv: list[str] | None = None) -> int:
    import signal

    from traum.logs import setup_logging

    # SIGTERM (a logout, `kill`) unwinds like an exit, so the socket is removed, not left stale.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    parser = argparse.ArgumentParser(prog="python -m traum.search.warm")
    parser.add_argument("--model", required=True)
    parser.add_argument("--socket", required=True, type=Path)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        return serve(args.model, args.socket, idle_seconds())
    except WarmUnavailable as err:
        log.warning("warm text tower not started: %s", err)
        return 3


if __name__ == "__main__":
    sys.exit(main())
