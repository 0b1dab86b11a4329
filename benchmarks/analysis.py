"""Analysis accuracy on loops built at known tempo and key from the corpus's one-shots, side by side
with librosa's default tempo estimate (and essentia's, if installed), plus one-shot checks.

    python benchmarks/analysis.py [--loops 60] [--seed 0]

Loops: whole bars (1, 2 or 4) at 70–180 BPM; drum loops from kick/snare/hat one-shots on a 16th
grid, tonal loops from Moog notes (pitch known from their names) re-pitched into a chord
progression in a random key, mixed loops both. Files get random names, so no name evidence.
Scores: tempo acc1 (±4 %), acc2 (also ×2, ×½, ×3, ×⅓), MIREX weighted key score; one-shot drums
that correctly get no tempo and no key; root-note pitch class of renamed Moog notes; category of
the corpus from its names (labels.csv) and of renamed drum one-shots (acoustics only).
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS, table  # noqa: E402

RATE = 44_100
NOTES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
DIRT = CORPUS / "dirt-samples"


def load(path: Path) -> np.ndarray:
    from traum.audio import load as decode

    return decode(path, RATE).samples


def moog_notes() -> list[tuple[np.ndarray, int]]:
    """(samples, pitch class) from file names like '000_Mighty Moog C2.wav'."""
    out = []
    for path in sorted((DIRT / "moog").glob("*.wav")):
        m = re.search(r"([A-G]#?)\d\.wav$", path.name)
        if m:
            out.append((load(path), NOTES.index(m.group(1))))
    return out


def shift(samples: np.ndarray, semitones: float, length: int) -> np.ndarray:
    """Re-pitch by resampling (a sampler's way), cut or zero-padded to ``length``."""
    import soxr

    factor = 2 ** (semitones / 12)
    y = soxr.resample(samples[: int(length * factor) + 1024], RATE, int(RATE / factor))
    y = y[:length]
    fade = min(len(y), 256)
    y[-fade:] *= np.linspace(1, 0, fade)
    return np.pad(y, (0, length - len(y)))


def drum_loop(rng: random.Random, bpm: float, bars: int, kit: dict) -> np.ndarray:
    step = 60 / bpm / 4
    out = np.zeros(int(round(bars * 16 * step * RATE)), np.float32)
    pattern = {"kick": [0, 8, 10] if rng.random() < 0.5 else [0, 6, 8], "snare": [4, 12], "hat": list(range(0, 16, 2))}
    for bar in range(bars):
        for part, steps in pattern.items():
            hit = rng.choice(kit[part])
            for s in steps:
                start = int(round((bar * 16 + s) * step * RATE))
                end = min(len(out), start + len(hit))
                out[start:end] += hit[: end - start] * (0.6 if part == "hat" else 1.0)
    return out


PROGRESSIONS = {"major": [(0, "major"), (7, "major"), (9, "minor"), (5, "major")],
                "minor": [(0, "minor"), (8, "major"), (3, "major"), (10, "major")]}


def tonal_loop(rng: random.Random, bpm: float, bars: int, tonic: int, mode: str, notes) -> np.ndarray:
    beat = 60 / bpm
    out = np.zeros(int(round(bars * 4 * beat * RATE)), np.float32)
    chords = PROGRESSIONS[mode]
    source, source_pc = rng.choice(notes)
    per_chord = max(1, bars * 4 // len(chords))
    for i, (degree, quality) in enumerate(chords * (bars * 4 // (per_chord * len(chords)) or 1)):
        root = (tonic + degree) % 12
        third = 3 if quality == "minor" else 4
        start = int(round(i * per_chord * beat * RATE))
        length = int(round(per_chord * beat * RATE))
        if start >= len(out):
            break
        for offset in (0, third, 7, 12):
            interval = ((root + offset) - source_pc) % 12 + (12 if offset == 12 else 0) - (12 if offset == 0 else 0)
            piece = shift(source, interval, length) * (0.5 if offset else 0.7)
            end = min(len(out), start + length)
            out[start:end] += piece[: end - start]
    return out


def mirex(est: tuple[str, str] | None, truth: tuple[str, str]) -> float:
    if est is None or est[0] is None:
        return 0.0
    e, t = NOTES.index(est[0]), NOTES.index(truth[0])
    if est[1] == truth[1] and e == t:
        return 1.0
    if est[1] == truth[1] and (e - t) % 12 in (5, 7):
        return 0.5
    if est[1] != truth[1] and ((truth[1] == "major" and (e - t) % 12 == 9) or (truth[1] == "minor" and (e - t) % 12 == 3)):
        return 0.3
    if est[1] != truth[1] and e == t:
        return 0.2
    return 0.0


def tempo_ok(est, truth, double=False) -> bool:
    if not est:
        return False
    factors = (1, 2, 0.5, 3, 1 / 3) if double else (1,)
    return any(abs(est - truth * f) <= 0.04 * truth * f for f in factors)


def librosa_tempo(y: np.ndarray) -> float:
    import librosa

    return float(librosa.feature.tempo(y=y, sr=RATE)[0])


def essentia_tempo(y: np.ndarray) -> float | None:
    try:
        import essentia.standard as es
    except ImportError:
        return None
    return float(es.RhythmExtractor2013(method="multifeature")(y.astype(np.float32))[0])


def main() -> None:
    import soundfile as sf

    from traum.analysis import analyse

    parser = argparse.ArgumentParser()
    parser.add_argument("--loops", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    kit = {"kick": [load(p) for p in sorted((DIRT / "bd").glob("*.wav"))[:8]],
           "snare": [load(p) for p in sorted((DIRT / "sn").glob("*.wav"))[:8]],
           "hat": [load(p) for p in sorted((DIRT / "hh").glob("*.wav"))[:4] + sorted((DIRT / "hc").glob("*.wav"))[:4]]}
    notes = moog_notes()
    work = Path(tempfile.mkdtemp())
    rows = {"drum": [], "tonal": [], "mixed": []}
    for i in range(args.loops):
        kind = ("drum", "tonal", "mixed")[i % 3]
        bpm, bars = rng.uniform(70, 180), rng.choice([1, 2, 4])
        tonic, mode = rng.randrange(12), rng.choice(["major", "minor"])
        if kind == "drum":
            y = drum_loop(rng, bpm, bars, kit)
        elif kind == "tonal":
            y = tonal_loop(rng, bpm, bars, tonic, mode, notes)
        else:
            d, t = drum_loop(rng, bpm, bars, kit), tonal_loop(rng, bpm, bars, tonic, mode, notes)
            y = d[: min(len(d), len(t))] + t[: min(len(d), len(t))]
        y = (y / max(1e-9, np.abs(y).max()) * 0.9).astype(np.float32)
        path = work / f"{rng.getrandbits(40):010x}.wav"
        sf.write(path, y, RATE, subtype="PCM_16")
        ours = analyse(y, RATE, path=str(path))
        rows[kind].append({"kind": kind, "bars": bars, "bpm": bpm, "ours": ours["bpm"], "librosa": librosa_tempo(y), "essentia": essentia_tempo(y),
                           "key": (NOTES[tonic], mode), "our_key": (ours["key"], ours["mode"])})
    print(f"{args.loops} synthetic bar-length loops, 70–180 BPM, random names\n")
    header = ["loops", "n", "traum acc1", "traum acc2", "librosa acc1", "librosa acc2", "essentia acc1", "traum key (MIREX)"]
    out = []
    for kind, items in list(rows.items()) + [("all", sum(rows.values(), []))]:
        es_ok = [r for r in items if r["essentia"] is not None]
        out.append([kind, len(items),
                     np.mean([tempo_ok(r["ours"], r["bpm"]) for r in items]),
                     np.mean([tempo_ok(r["ours"], r["bpm"], True) for r in items]),
                     np.mean([tempo_ok(r["librosa"], r["bpm"]) for r in items]),
                     np.mean([tempo_ok(r["librosa"], r["bpm"], True) for r in items]),
                     np.mean([tempo_ok(r["essentia"], r["bpm"]) for r in es_ok]) if es_ok else "n/a",
                     np.mean([mirex(r["our_key"], r["key"]) for r in items if r["kind"] != "drum"])
                     if kind != "drum" else "–"])
    print(table(out, header))
    if "--verbose" in sys.argv:
        for r in sum(rows.values(), []):
            print(r["kind"], r["bars"], round(r["bpm"], 1), r["ours"], round(r["librosa"], 1), r["key"], r["our_key"])
    one_shots(work)


def one_shots(work: Path) -> None:
    import shutil

    from traum.analysis import analyse
    from traum.analysis.names import category_from_path

    rows = []
    drums = [p for f in ("bd", "sn", "hh", "hc", "808bd", "808sd", "sd", "cp") for p in sorted((DIRT / f).glob("*.[wW][aA][vV]"))]
    rng = random.Random(1)
    renamed = []
    for p in drums:
        target = work / "shots" / f"{rng.getrandbits(40):010x}.wav"
        target.parent.mkdir(exist_ok=True)
        shutil.copy(p, target)
        renamed.append((p, target))
    results = [(p, analyse(load(t), RATE, path=str(t))) for p, t in renamed]
    null = np.mean([r["bpm"] is None and r["key"] is None for _, r in results])
    rows.append(["drum one-shots with bpm and key null", len(results), null])
    labels = {r["folder"].split("/")[-1]: r["category"] for r in csv.DictReader(open(CORPUS / "labels.csv"))}
    acoustic = np.mean([r["category"] == labels[p.parent.name] for p, r in results])
    rows.append(["category of renamed drum one-shots (acoustics)", len(results), acoustic])
    named = [(labels[p.parent.name], category_from_path(str(p))[0]) for p in DIRT.glob("*/*")
             if p.suffix.lower() in (".wav", ".ogg") and p.parent.name in labels]
    rows.append(["category of the corpus from names (labels.csv)", len(named), np.mean([a == b for a, b in named])])
    fused = [(labels[p.parent.name], analyse(load(p), RATE, path=str(p))["category"]) for p in DIRT.glob("*/*")
             if p.suffix.lower() in (".wav", ".ogg") and p.parent.name in labels]
    rows.append(["category of the corpus, names + acoustics", len(fused), np.mean([a == b for a, b in fused])])
    notes = moog_notes()
    pcs = []
    for samples, pc in notes:
        est = analyse(samples, RATE, path="x.wav")["note"]
        pcs.append(est is not None and NOTES.index(est.rstrip("-0123456789")) == pc)
    rows.append(["root note pitch class, renamed Moog notes", len(notes), np.mean(pcs)])
    print()
    print(table(rows, ["one-shots", "n", "traum"]))


if __name__ == "__main__":
    main()
