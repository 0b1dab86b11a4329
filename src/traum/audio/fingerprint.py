"""Content hashes: the identity of a sample, whatever its path or name."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

_CHUNK = 1 << 20


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, hex."""
    digest = hashlib.sha256()
    # O_NONBLOCK: a FIFO swapped in after discovery must not block the open; fstat then refuses it.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with open(fd, "rb") as fh:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            from traum.audio.discover import not_regular_reason
            from traum.errors import NotAudio

            raise NotAudio(f"{os.fspath(path)}: {not_regular_reason(mode)}")
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
