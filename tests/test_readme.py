"""The README's examples run as written: the Python API snippet verbatim, the quick start's shape."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import DIRT, REPO, copy_library

README = (REPO / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_snippets_run_verbatim(tmp_path, tiny_model):
    """In a fresh process with HOME holding ~/Samples, as a reader would have it (the tiny model stands in)."""
    home = tmp_path / "home"
    copy_library(home / "Samples", ["dirt-samples/bd/BT0A0A7.wav", "dirt-samples/sn/ST0T0S0.wav",
                                    "dirt-samples/breaks125/016_bllstmp.wav"])
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(DIRT / "bd/BT0A0D0.wav", work / "kick.wav")
    import traum

    # This checkout's traum, whatever the working directory (PYTHONPATH may be relative).
    source = str(Path(traum.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": source, "HOME": str(home), "TRAUM_MODEL": str(tiny_model),
           "TRAUM_CACHE_DIR": str(tmp_path / "cache"), "TRAUM_LOG_DIR": str(tmp_path / "logs")}
    snippets = blocks("python")
    assert snippets, "the README has a Python example"
    for snippet in snippets:
        result = subprocess.run([sys.executable, "-c", snippet], cwd=work, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert (work / "samples.db").is_file() and (work / "embeddings.pkl").is_file()
    assert "016_bllstmp.wav" in result.stdout  # the 125 bpm loop, the one hit within bpm="120-128"


def test_quick_start_is_two_commands():
    quick = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line for block in re.findall(r"```sh\n(.*?)```", quick, flags=re.S) for line in block.splitlines()
                if line.strip()]
    assert len(commands) == 2
    install_and_index, tests = commands
    assert "pip install" in install_and_index and "traum index" in install_and_index
    assert "pip install" in tests and "pytest" in tests
    ci = (REPO / ".ci" / "run").read_text()
    assert tests.strip() in ci, "CI runs the README's test command verbatim"


def test_api_functions_survive_subpackage_imports():
    """``traum.search`` is a function and a subpackage: both work in either import order."""
    orders = ["import traum; f = traum.search; import traum.search.engine",
              "import traum.search.engine; import traum",
              "import traum, traum.api; import traum.search.engine"]
    for order in orders:
        code = (f"{order}\nimport traum.search.engine as e\n"
                "assert callable(traum.search) and traum.search.engine is e\n"
                "assert callable(traum.index) and callable(traum.similar) and callable(traum.analyze)\n"
                "for name in traum.__all__:\n    getattr(traum, name)\n")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert result.returncode == 0, (order, result.stderr)


def test_api_search_is_the_search_function(tmp_path, tiny_model):
    import traum
    import traum.search.engine  # the import that used to shadow the function

    traum.index([DIRT / "bd"], db=tmp_path / "c.db", model=str(tiny_model))
    hits = traum.search("kick", db=tmp_path / "c.db", k=3, model=str(tiny_model)).hits
    assert len(hits) == 3 and all("/bd/" in h.path for h in hits)
