from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CORPUS
from traum.catalog.store import PathOutcome, StemRecord

KICK = CORPUS / "dirt-samples/bd/BT0A0D0.wav"
SNARE = CORPUS / "dirt-samples/sn/ST0T0S0.wav"


def record(path: str, source: Path = KICK, facts: dict | None = None) -> tuple[StemRecord, PathOutcome]:
    """The stem and status row the indexer writes for a real audio file at ``path``."""
    data = Path(path).read_bytes() if os.path.exists(path) else source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    info = sf.info(source)
    stem = StemRecord(digest, path, len(data), info.duration, info.samplerate, info.channels, 16, "WAV/PCM_16",
                      facts or {})
    outcome = PathOutcome(path, "indexed", digest, len(data), 1, processing_time=0.1)
    return stem, outcome


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(512).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture
def odd_name(tmp_path) -> str:
    """A real WAV under a name whose bytes are not UTF-8 (Latin-1 "é"), as os.fsdecode gives it."""
    folder = os.fsencode(tmp_path) + b"/lib/caf\xe9"
    os.makedirs(folder)
    target = folder + b"/kick \xe9t\xe9.wav"
    shutil.copy(KICK, target)
    return os.fsdecode(target)


def assert_index_in_step(catalog) -> None:
    """FTS5 checks its index against the documents in processing_status (raises if out of step)."""
    catalog.conn.execute("INSERT INTO paths_fts(paths_fts, rank) VALUES ('integrity-check', 1)")
