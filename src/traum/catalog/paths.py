"""How file paths are stored, so that any name the file system allows round-trips.

On POSIX a file name is bytes; Python shows bytes that are not UTF-8 as lone surrogates
(``os.fsdecode``), which SQLite cannot store as text. Such a path is stored as its raw bytes (a
BLOB); every other path stays readable text. Queries by path go through :func:`to_db` too, so a
path finds its row whichever form it has.
"""

from __future__ import annotations

import os


def to_db(path: str) -> str | bytes:
    """The value to store or look up for ``path``: text when UTF-8 can hold it, else its bytes."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def from_db(value: str | bytes) -> str:
    """The path as the program knows it (the exact ``os.fsdecode`` str for a stored BLOB)."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


def display(path: str) -> str:
    """A printable form of ``path``: bytes that are not UTF-8 become U+FFFD (never for lookups)."""
    try:
        raw = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that no file-system byte made
        raw = path.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")
