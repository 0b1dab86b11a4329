from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.helpers import CORPUS, copy_library


def pytest_configure(config: pytest.Config) -> None:
    """A runner may start the tests with Ctrl+C ignored (a background job of a non-interactive shell
    inherits SIGINT as SIG_IGN, and so would every process the tests start): the Ctrl+C tests need it
    as a terminal delivers it, here and in the traum processes they run."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_sessionstart(session):
    if not CORPUS.is_dir():
        raise pytest.UsageError(f"test corpus not found at {CORPUS}; set TRAUM_CORPUS")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """No test touches the user's data dirs or the network."""
    monkeypatch.setenv("TRAUM_DB", str(tmp_path / "default.db"))
    monkeypatch.setenv("TRAUM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TRAUM_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # No background text tower outliving a test; tests/search/test_warm.py turns it on where it is tested.
    monkeypatch.setenv("TRAUM_TEXT_TOWER_IDLE_S", "0")
    monkeypatch.delenv("TRAUM_MODEL", raising=False)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random-weight CLAP saved in Hugging Face format: the real loading path, offline."""
    from traum.testing import build_random_clap

    return build_random_clap(tmp_path_factory.mktemp("models") / "tiny-clap")


@pytest.fixture
def library(tmp_path) -> Path:
    return copy_library(tmp_path / "library")


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "catalog.db"


@pytest.fixture(scope="session", autouse=True)
def _quiet_env():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
