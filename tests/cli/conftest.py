"""In-process CLI runs through the real error boundary (``traum.cli.main.main``), one shared catalog per module."""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import copy_library


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def run_traum(*args: object, cwd: Path | None = None) -> Run:
    """``traum ARGS`` in this process: exit code and output as a user sees them.

    The streams are strict UTF-8 like a real terminal's, so printing an unencodable name fails here too.
    """
    from traum.cli.console import err, out
    from traum.cli.main import main

    # Wide enough that a pytest tmp path fits on one line of a table (folding is Rich's, not ours).
    out.width = err.width = 240
    streams = [io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict") for _ in range(2)]
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = streams
    cwd_before = Path.cwd()
    code = 0
    try:
        if cwd is not None:
            import os

            os.chdir(cwd)
        main([str(a) for a in args])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        sys.stdout, sys.stderr = old
        import os

        os.chdir(cwd_before)
    texts = []
    for stream in streams:
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8"))  # type: ignore[attr-defined]
    return Run(code, *texts)


def traum(*args: object, **kwargs) -> Run:
    """``traum ARGS`` that must succeed."""
    result = run_traum(*args, **kwargs)
    assert result.code == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_model) -> Path:
    """A catalog of the mixed library, indexed once per module; tests only read it."""
    root = tmp_path_factory.mktemp("indexed")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRAUM_CACHE_DIR", str(root / "cache"))
        env.setenv("TRAUM_LOG_DIR", str(root / "logs"))
        env.setenv("HF_HUB_OFFLINE", "1")
        library = copy_library(root / "library")
        db = root / "catalog.db"
        result = run_traum("index", library, "--db", db, "--model", tiny_model)
        assert result.code == 0, result.stderr  # non-audio files are skipped, not failed
    return db
