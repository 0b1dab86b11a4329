"""Walk folders for candidate files, the way a messy sample library needs it.

Hidden files and folders (``.git``, ``._foo.wav`` resource forks) are skipped; symlinked folders are
followed once (a loop is visited once); unreadable folders and broken links are reported, never fatal.
Whether a file is audio is decided later, by its content (see :mod:`traum.audio.decode`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Found:
    path: str
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A folder or link that could not be read; the walk goes on without it."""

    path: str
    reason: str


def discover(roots: Iterable[str | os.PathLike[str]]) -> Iterator[Found | Unreadable]:
    """Yield every non-hidden regular file below ``roots`` (files may be given directly too)."""
    visited: set[tuple[int, int]] = set()
    for root in roots:
        path = os.path.abspath(os.path.expanduser(os.fspath(root)))
        try:
            st = os.stat(path)
        except OSError as err:
            yield Unreadable(path, _reason(err))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(path, visited)
        elif stat.S_ISREG(st.st_mode):
            yield Found(path, st.st_size, st.st_mtime_ns)
        else:
            yield Unreadable(path, not_regular_reason(st.st_mode))


def _walk(folder: str, visited: set[tuple[int, int]]) -> Iterator[Found | Unreadable]:
    try:
        st = os.stat(folder)
        key = (st.st_dev, st.st_ino)
        if key in visited:
            return
        visited.add(key)
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as err:
        yield Unreadable(folder, _reason(err))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        yield from _visit(entry, visited)


def _visit(entry: os.DirEntry[str], visited: set[tuple[int, int]]) -> Iterator[Found | Unreadable]:
    try:
        if entry.is_dir():
            yield from _walk(entry.path, visited)
        elif entry.is_file():
            st = entry.stat()
            yield Found(entry.path, st.st_size, st.st_mtime_ns)
        elif entry.is_symlink():
            yield Unreadable(entry.path, _link_reason(entry.path))
        else:
            yield Unreadable(entry.path, not_regular_reason(entry.stat(follow_symlinks=False).st_mode))
    except OSError as err:
        yield Unreadable(entry.path, _reason(err))


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def not_regular_reason(mode: int) -> str:
    """Why a FIFO, device or socket is never opened: reading one can block forever."""
    kind = ("FIFO" if stat.S_ISFIFO(mode) else "character device" if stat.S_ISCHR(mode)
            else "block device" if stat.S_ISBLK(mode) else "socket" if stat.S_ISSOCK(mode) else "special file")
    return f"not a regular file ({kind})"


def _link_reason(path: str) -> str:
    """A link that is neither a folder nor a file: dangling, or pointing at a device or FIFO."""
    try:
        return "symbolic link to " + not_regular_reason(os.stat(path).st_mode)
    except OSError:
        return "broken symbolic link"


def absolute_roots(roots: Iterable[str | os.PathLike[str]]) -> list[str]:
    return [os.path.abspath(os.path.expanduser(os.fspath(r))) for r in roots]
