"""Settings declared once: defaults, environment overrides and where files live."""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "traum"

DEFAULT_MODEL = "laion/clap-htsat-unfused"

#: Bumped whenever decoding, windowing or analysis changes what ends up in the catalog, so that
#: cached embeddings from an older pipeline are not mistaken for current ones.
PROCESSING_VERSION = 3


def _dirs():
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def default_db_path() -> Path:
    env = os.environ.get("TRAUM_DB")
    if env:
        return Path(env).expanduser()
    return Path(_dirs().user_data_dir) / "catalog.db"


def default_model() -> str:
    return os.environ.get("TRAUM_MODEL") or DEFAULT_MODEL


def cache_dir() -> Path:
    env = os.environ.get("TRAUM_CACHE_DIR")
    return Path(env).expanduser() if env else Path(_dirs().user_cache_dir)


def log_dir() -> Path:
    env = os.environ.get("TRAUM_LOG_DIR")
    return Path(env).expanduser() if env else Path(_dirs().user_log_dir)


def resolve_db(db: str | os.PathLike[str] | None) -> Path:
    return Path(db).expanduser() if db else default_db_path()
