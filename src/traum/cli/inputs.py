"""Files and folders named on the command line: one that does not exist, or a folder where files are wanted,
is a usage error (exit 2, as grep's for a missing input), told in one line before any work starts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

FOLDER_NOT_FILE = "is a folder; give audio files, or catalogue a folder with `traum index`"


def why_not_input(path: Path, *, files_only: bool) -> str | None:
    """Why ``path`` cannot be read as an input, or None when it can."""
    path = path.expanduser()  # as the indexer reads it: a quoted "~/Samples" is the user's folder
    if not path.exists():
        return "does not exist"
    if files_only and path.is_dir():
        return FOLDER_NOT_FILE
    return None


def bad_inputs(paths: Sequence[Path], *, files_only: bool) -> list[tuple[Path, str]]:
    return [(p, why) for p in paths if (why := why_not_input(p, files_only=files_only)) is not None]


def require_inputs(paths: Sequence[Path], *, files_only: bool) -> None:
    """Raise :class:`~traum.errors.InputNotFound` naming the first bad path (and how many more there are)."""
    from traum.errors import InputNotFound

    bad = bad_inputs(paths, files_only=files_only)
    if bad:
        path, why = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise InputNotFound(f"{path} {why}{more}", path=str(path), reason=why)
