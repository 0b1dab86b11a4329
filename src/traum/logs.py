"""Logging to a rotating file in the user log dir (``TRAUM_LOG_DIR``); the terminal stays clean."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path


def setup_logging() -> Path | None:
    from traum.settings import get, log_dir

    root = logging.getLogger("traum")
    root.setLevel(get("log_level"))
    root.propagate = False
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "traum.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=5 << 20, backupCount=3, encoding="utf-8",
                                                       # file names that are not UTF-8 stay readable
                                                       errors="backslashreplace")
    except OSError:
        root.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    return path
