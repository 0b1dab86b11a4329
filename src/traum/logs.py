"""Logging (stdlib): every event to a rotating file in the user log folder (``TRAUM_LOG_DIR``), and
one line per event on the terminal (stderr) at warning level and above — ``-v`` adds info, ``-vv``
debug, ``-q`` keeps errors only. ``--log-json`` writes both as JSON lines for machines.

Tracebacks go to the file only: the terminal gets the event's one line.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path
from typing import Any

#: Console level by verbosity: -q → -1, default 0, -v → 1, -vv → 2.
CONSOLE_LEVELS = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}
_FILE_FORMAT = "%(asctime)s %(process)d %(threadName)s %(levelname)s %(name)s: %(message)s"
#: LogRecord attributes that are not ``extra=`` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, process, thread, ``extra`` fields and
    the traceback when there is one. Hand-written: ten lines, not a dependency."""

    def __init__(self, *, with_traceback: bool = True) -> None:
        super().__init__()
        self.with_traceback = with_traceback

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
            "process": record.process, "thread": record.threadName}
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info and self.with_traceback:
            data["traceback"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class OneLine(logging.Formatter):
    """``level: message`` on one line; the traceback stays in the file."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {' '.join(record.getMessage().split())}"


class ConsoleHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests and the CLI swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        # ``extra={"console": False}``: the face already told the user in its own words.
        if getattr(record, "console", True):
            self.stream = sys.stderr
            super().emit(record)


def setup_logging(verbosity: int = 0, *, json_lines: bool = False) -> Path | None:
    """(Re)configure the ``traum`` logger; returns the log file, or None when it cannot be written.
    Safe to call again (each call replaces the handlers of the last)."""
    from traum.settings import get, log_dir

    root = logging.getLogger("traum")
    for handler in [h for h in root.handlers if getattr(h, "_traum", False)]:
        root.removeHandler(handler)
        handler.close()
    console_level = CONSOLE_LEVELS[max(-1, min(2, verbosity))]
    file_level = logging.getLevelName(get("log_level"))
    root.setLevel(min(file_level, console_level))
    root.propagate = False
    console = ConsoleHandler()
    console.setLevel(console_level)
    console.setFormatter(JsonFormatter(with_traceback=False) if json_lines else OneLine())
    _add(root, console)
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "traum.log"
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=5 << 20, backupCount=3, encoding="utf-8",
                                                       # file names that are not UTF-8 stay readable
                                                       errors="backslashreplace")
    except OSError:
        return None
    handler.setLevel(file_level)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(_FILE_FORMAT))
    _add(root, handler)
    return path


def _add(logger: logging.Logger, handler: logging.Handler) -> None:
    handler._traum = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
