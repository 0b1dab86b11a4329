"""Only regular files are opened: a FIFO or device named on the command line is reported, never read."""

from __future__ import annotations

import os
import subprocess
import sys

from traum.catalog import Catalog
from traum.pipeline import IndexOptions, run_index


def test_index_reports_a_fifo_and_a_device_given_directly(tmp_path):
    os.mkfifo(tmp_path / "pipe.wav")
    with Catalog(tmp_path / "c.db") as catalog:
        report = run_index([tmp_path / "pipe.wav", "/dev/zero"], catalog, IndexOptions(analyse=False))
    assert dict(report.unreadable) == {str(tmp_path / "pipe.wav"): "not a regular file (FIFO)",
                                       "/dev/zero": "not a regular file (character device)"}


def test_analyze_of_a_fifo_says_so_instead_of_hanging(tmp_path):
    os.mkfifo(tmp_path / "pipe.wav")
    # A subprocess with a timeout: before the fix, opening the FIFO blocked forever.
    fifo = str(tmp_path / "pipe.wav")
    code = f"import traum, json; print(json.dumps(traum.analyze([{fifo!r}], workers=1)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert "not a regular file (FIFO)" in out.stdout


def test_an_empty_text_file_beside_an_empty_wav_is_skipped_not_failed(tmp_path):
    library = tmp_path / "lib"
    library.mkdir()
    for name in ("a.txt", "b.wav", "c.txt"):
        (library / name).write_bytes(b"")
    with Catalog(tmp_path / "c.db") as catalog:
        report = run_index([library], catalog, IndexOptions(analyse=False))
        states = {os.path.basename(p): (s, e) for p, s, e in catalog.failures()}
    assert report.failed == 1 and report.skipped == 2
    assert states["b.wav"][0] == "failed" and states["a.txt"][0] == states["c.txt"][0] == "skipped"
    assert "not audio" in states["a.txt"][1]


def test_a_file_name_with_non_utf8_bytes_is_indexed(tmp_path, tiny_model):
    import shutil

    from tests.helpers import DIRT

    library = tmp_path / "lib"
    library.mkdir()
    latin1 = os.path.join(str(library), os.fsdecode(b"caf\xe9.wav"))
    shutil.copyfile(DIRT / "sn/ST0T0S3.wav", latin1)
    with Catalog(tmp_path / "c.db") as catalog:
        report = run_index([library], catalog, IndexOptions(model=str(tiny_model), workers=1, analysis_workers=1))
        state = catalog.file_state(latin1)
    assert report.failures == [] and report.indexed == 1
    assert state is not None and state.status == "indexed"
