"""Settings declared once: every ``TRAUM_*`` environment variable, its type, default and meaning.

:data:`SETTINGS` is the single table; :func:`get` reads one setting, typed, and :func:`validate`
checks them all at start-up so a bad value is one line (exit 2), not a traceback deep in a run.
The README's settings table and a test (tests/test_docs.py) keep the documentation in step.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traum.errors import ConfigError

APP_NAME = "traum"

DEFAULT_MODEL = "laion/clap-htsat-unfused"

#: Bumped whenever decoding, windowing or analysis changes what ends up in the catalog, so that
#: cached embeddings from an older pipeline are not mistaken for current ones.
PROCESSING_VERSION = 3

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    type: str  # path, str, int, level or precision: how the text is read
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "TRAUM_DB", "path", None, "catalog file (default: catalog.db in the user data folder)"),
    Setting("model", "TRAUM_MODEL", "str", DEFAULT_MODEL, "CLAP model: Hugging Face id or local folder"),
    Setting("cache_dir", "TRAUM_CACHE_DIR", "path", None,
            "folder of the machine-wide embedding cache (default: the user cache folder)"),
    Setting("cache_max_mb", "TRAUM_CACHE_MAX_MB", "int", 1024,
            "embedding cache size bound in MB; 0 disables the cache"),
    Setting("log_dir", "TRAUM_LOG_DIR", "path", None, "folder of traum.log (default: the user log folder)"),
    Setting("log_level", "TRAUM_LOG_LEVEL", "level", "INFO", "log file detail: DEBUG, INFO, WARNING, ERROR"),
    Setting("precision", "TRAUM_PRECISION", "precision", "auto",
            "inference precision when --precision is auto: fp32, bf16 or fp16"),
    Setting("token", "TRAUM_TOKEN", "str", None, "the web server's access token (as `traum serve --token`)"),
    Setting("windows", "TRAUM_WINDOWS", "windows", 3,
            "model windows embedded per file at most (spread over the file), or `all` for every window"),
    Setting("index_audio_mb", "TRAUM_INDEX_AUDIO_MB", "int", 128,
            "decoded audio `traum index` holds at once, in MB (files decoding or waiting for analysis)"),
    Setting("max_duration_s", "TRAUM_MAX_DURATION_S", "int", 10800,
            "longest audio accepted, in seconds; longer files are skipped"),
    Setting("text_cache_items", "TRAUM_TEXT_CACHE_ITEMS", "int", 100000,
            "how many query text vectors the search keeps in memory"),
    Setting("text_tower_idle_s", "TRAUM_TEXT_TOWER_IDLE_S", "int", 600,
            "seconds the background text tower for `traum search` stays up unused; 0: no background process"),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def _int(text: str) -> int:
    value = int(text.strip())
    if value < 0:
        raise ValueError
    return value


def _level(text: str) -> str:
    if text.strip().upper() not in LOG_LEVELS:
        raise ValueError
    return text.strip().upper()


def _precision(text: str) -> str:
    if text.strip().lower() not in PRECISIONS:
        raise ValueError
    return text.strip().lower()


def _windows(text: str) -> int | str:
    if text.strip().lower() == "all":
        return "all"
    value = int(text.strip())
    if value < 2:
        raise ValueError
    return value


_PARSERS: dict[str, Callable[[str], Any]] = {
    "path": lambda text: Path(text).expanduser(), "str": str, "int": _int, "level": _level,
    "precision": _precision, "windows": _windows}
_EXPECTED = {"int": "a whole number ≥ 0", "level": "one of " + ", ".join(LOG_LEVELS),
             "precision": "one of " + ", ".join(PRECISIONS), "windows": "a whole number ≥ 2, or all"}


def get(name: str) -> Any:
    """The setting's value from its environment variable, typed, else its default."""
    setting = _BY_NAME[name]
    text = os.environ.get(setting.env)
    if not text:
        return setting.default
    try:
        return _PARSERS[setting.type](text)
    except ValueError:
        raise ConfigError(f"{setting.env}={text!r} is not valid: expected {_EXPECTED[setting.type]}",
                          reason="bad setting") from None


def configured(name: str) -> Any:
    """The setting's value if its variable is set, else None (so a caller can fall back to its own)."""
    return get(name) if os.environ.get(_BY_NAME[name].env) else None


def validate() -> None:
    """Raise :class:`ConfigError` for the first badly set variable."""
    for setting in SETTINGS:
        get(setting.name)


def _dirs():
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def default_db_path() -> Path:
    return get("db") or Path(_dirs().user_data_dir) / "catalog.db"


def default_model() -> str:
    return str(get("model"))


def cache_dir() -> Path:
    return get("cache_dir") or Path(_dirs().user_cache_dir)


def log_dir() -> Path:
    return get("log_dir") or Path(_dirs().user_log_dir)


def resolve_db(db: str | os.PathLike[str] | None) -> Path:
    return Path(db).expanduser() if db else default_db_path()
