"""Helpers shared by the benchmarks: the corpus, libraries built from it, tables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("TRAUM_CORPUS", REPO.parent / "shared" / "corpus")).resolve()
CACHE = Path(os.environ.get("TRAUM_BENCH_CACHE", Path.home() / ".cache" / "traum-bench"))


def audio_files(root: Path = CORPUS) -> list[Path]:
    import soundfile as sf

    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            try:
                sf.info(str(path))
            except Exception:  # noqa: BLE001 - not audio
                continue
            found.append(path)
    return found


def build_library(dest: Path, n: int, files: list[Path] | None = None) -> list[Path]:
    """``n`` distinct files made from the corpus: repeats get a tiny gain change so every file has its
    own content hash (otherwise Traum's dedup would make repeats free, which would flatter it)."""

    files = files or audio_files()
    out = []
    for i in range(n):
        src = files[i % len(files)]
        target = dest / f"{i // len(files):02d}" / src.parent.name / src.name
        target = target.with_suffix(".wav") if src.suffix.lower() == ".ogg" else target
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            if i < len(files):
                target.write_bytes(src.read_bytes()) if src.suffix.lower() != ".ogg" else _rewrite(src, target, 1.0)
            else:
                _rewrite(src, target, 1.0 - 1e-3 * (i // len(files)))
        out.append(target)
    return out


def _rewrite(src: Path, target: Path, gain: float) -> None:
    import soundfile as sf

    data, rate = sf.read(str(src), dtype="float32", always_2d=True)
    sf.write(str(target), np.clip(data * gain, -1, 1), rate, subtype="PCM_16")


def full_size_model() -> Path:
    """The full-size CLAP architecture (``ClapConfig()`` defaults) with random weights, built once."""
    from traum.testing import build_random_clap

    path = CACHE / "clap-full-random"
    if not (path / "config.json").exists():
        build_random_clap(path, tiny=False)
    return path


def table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)
