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


def build_mixed_library(dest: Path, n: int, seed: int = 0, compact: bool = False) -> list[Path]:
    """``n`` files shaped like a producer's library, not just copies of the corpus: ~60 % one-shots (corpus
    files under 3 s, gain-varied), ~30 % bar loops (1, 2 or 4 bars at 80-160 BPM, sequenced from corpus
    hits plus a synthesised bass or chord, 44.1 kHz stereo), ~10 % long files of 30 s to 3 min (corpus
    recordings and loops concatenated, with a tone bed so no two are alike). Deterministic for a seed.
    ``compact``: loops and long files as 16-bit FLAC (a 10,000-file library is ~30 GB as 24-bit WAV; the
    decoded samples, and so the memory they take, are the same)."""
    import soundfile as sf

    ext = ".flac" if compact else ".wav"
    subtype = "PCM_16" if compact else "PCM_24"

    rng = np.random.default_rng(seed)
    corpus = audio_files()
    durations = {p: sf.info(str(p)).duration for p in corpus}
    shots = [p for p in corpus if durations[p] < 3.0]
    longer = [p for p in corpus if durations[p] >= 3.0]
    out = []
    for i in range(n):
        roll = rng.random()
        if roll < 0.1:
            target = dest / "long" / f"long_{i:05d}{ext}"
            make = lambda t=target: _long_file(t, longer, shots, rng, subtype=subtype)  # noqa: E731
        elif roll < 0.4:
            target = dest / "loops" / f"loop_{i:05d}{ext}"
            make = lambda t=target: _loop(t, shots, rng, subtype=subtype)  # noqa: E731
        else:
            src = shots[int(rng.integers(len(shots)))]
            target = dest / "oneshots" / src.parent.name / f"{src.stem}_{i:05d}.wav"
            make = lambda t=target, s=src: _rewrite(s, t, float(rng.uniform(0.5, 1.0)))  # noqa: E731
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            make()
        out.append(target)
    return out


def _mono(path: Path, rate: int = 44_100) -> np.ndarray:
    import soundfile as sf
    import soxr

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    return soxr.resample(mono, sr, rate).astype(np.float32) if sr != rate else mono


def _loop(target: Path, shots: list[Path], rng: np.random.Generator, rate: int = 44_100,
          subtype: str = "PCM_24") -> None:
    bpm = float(rng.uniform(80, 160))
    bars = int(rng.choice([1, 2, 4]))
    step = 60.0 / bpm / 4  # sixteenths
    length = int(round(bars * 16 * step * rate))
    mix = np.zeros(length, np.float32)
    kit = [_mono(shots[int(rng.integers(len(shots)))], rate)[: rate] for _ in range(3)]
    patterns = [rng.random(16) < p for p in (0.3, 0.2, 0.6)]
    for bar in range(bars):
        for s in range(16):
            for hit, pattern in zip(kit, patterns, strict=True):
                if pattern[s]:
                    start = int(round((bar * 16 + s) * step * rate))
                    end = min(length, start + len(hit))
                    mix[start:end] += hit[: end - start] * 0.6
    if rng.random() < 0.6:  # a bass line or a chord: loops that carry a key
        t = np.arange(length) / rate
        root = 55.0 * 2 ** (int(rng.integers(12)) / 12)
        mix += 0.2 * np.sin(2 * np.pi * root * t) * (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * bpm / 60 * t)))
    mix /= max(1.0, float(np.abs(mix).max()) / 0.9)
    _write_stereo(target, mix, rate, subtype)


def _long_file(target: Path, longer: list[Path], shots: list[Path], rng: np.random.Generator,
               rate: int = 44_100, subtype: str = "PCM_24") -> None:
    seconds = float(rng.uniform(30, 180))
    parts, total = [], 0
    while total < seconds * rate:
        part = _mono(longer[int(rng.integers(len(longer)))], rate)
        parts.append(part)
        total += len(part)
    mix = np.concatenate(parts)[: int(seconds * rate)]
    t = np.arange(len(mix)) / rate
    mix = mix + 0.05 * np.sin(2 * np.pi * float(rng.uniform(60, 400)) * t).astype(np.float32)
    mix /= max(1.0, float(np.abs(mix).max()) / 0.9)
    _write_stereo(target, mix.astype(np.float32), rate, subtype)


def _write_stereo(target: Path, mono: np.ndarray, rate: int, subtype: str = "PCM_24") -> None:
    import soundfile as sf

    sf.write(str(target), np.stack([mono, mono * 0.98], axis=1), rate, subtype=subtype)
