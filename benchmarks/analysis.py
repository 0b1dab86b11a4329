"""Analysis accuracy on loops built at known tempo and key from the corpus's one-shots, side by side
with librosa's default tempo estimate (and essentia's, if installed), plus one-shot checks.

    python benchmarks/analysis.py [--loops 120] [--seed 1] [--verbose] [--speed-only] [--baseline 4cfab46]

Speed: CPU ms per corpus file of ``analyse_path`` (decode included; median and p95), side by side
with the implementation at ``--baseline`` (vendored from git into a temporary package), and the
process pool's overhead (CPU of parent and worker per file, against the same work in-process).

Loops come from benchmarks/loops.py: whole bars (1, 2 or 4) at 70–180 BPM, drum (seven grooves),
tonal (chords, arpeggios, bass lines from re-pitched Moog notes) and mixed, written to WAV with
random names, so no name evidence. The tempo model was fitted on seeds 0 and 100–110: judge it on
any other seed.
Scores: tempo acc1 (±4 %), acc2 (also ×2, ×½, ×3, ×⅓), MIREX weighted key score; one-shot drums
that correctly get no tempo and no key; root-note pitch class of renamed Moog notes; category of
the corpus from its names (labels.csv) and of renamed drum one-shots (acoustics only).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CORPUS, audio_files, table  # noqa: E402
from loops import DIRT, HELD_OUT_KITS, KIT_FAMILIES, NOTES, RATE, load, make_loops, moog_notes  # noqa: E402


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
    parser.add_argument("--loops", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2, help="the tempo model was fitted on seeds 0 and 100–110")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--speed-only", action="store_true")
    parser.add_argument("--kits-only", action="store_true")
    parser.add_argument("--kit-loops", type=int, default=160, help="loops for the table by kit family and kind")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--baseline", default="4cfab46", help="git revision to compare speed with ('' for none)")
    args = parser.parse_args()
    if args.kits_only:
        kits(args.kit_loops, args.seed, args.baseline)
        return
    if not args.no_speed:
        speed(args.baseline)
    if args.speed_only:
        return
    work = Path(tempfile.mkdtemp())
    rng = random.Random(args.seed)
    rows = {"drum": [], "tonal": [], "mixed": []}
    for loop in make_loops(args.loops, args.seed):
        path = work / f"{rng.getrandbits(40):010x}.wav"
        sf.write(path, loop.samples, RATE, subtype="PCM_16")
        y = load(path)
        ours = analyse(y, RATE, path=str(path))
        rows[loop.kind].append({"loop": loop, "ours": ours["bpm"], "librosa": librosa_tempo(y),
                                "essentia": essentia_tempo(y), "our_key": (ours["key"], ours["mode"])})
    print(f"{args.loops} synthetic bar-length loops (seed {args.seed}), 70–180 BPM, random names\n")
    header = ["loops", "n", "traum acc1", "traum acc2", "librosa acc1", "librosa acc2", "essentia acc1",
              "essentia acc2", "traum key (MIREX)"]
    out = []
    for kind, items in list(rows.items()) + [("all", sum(rows.values(), []))]:
        es_ok = [r for r in items if r["essentia"] is not None]
        truth = [r["loop"].bpm for r in items]
        out.append([kind, len(items),
                    np.mean([tempo_ok(r["ours"], t) for r, t in zip(items, truth)]),
                    np.mean([tempo_ok(r["ours"], t, True) for r, t in zip(items, truth)]),
                    np.mean([tempo_ok(r["librosa"], t) for r, t in zip(items, truth)]),
                    np.mean([tempo_ok(r["librosa"], t, True) for r, t in zip(items, truth)]),
                    np.mean([tempo_ok(r["essentia"], r["loop"].bpm) for r in es_ok]) if es_ok else "n/a",
                    np.mean([tempo_ok(r["essentia"], r["loop"].bpm, True) for r in es_ok]) if es_ok else "n/a",
                    np.mean([mirex(r["our_key"], (r["loop"].tonic, r["loop"].mode)) for r in items
                             if r["loop"].kind != "drum"]) if kind != "drum" else "–"])
    print(table(out, header))
    if args.verbose:
        for r in sum(rows.values(), []):
            loop = r["loop"]
            print(loop.kind, loop.style, loop.bars, round(loop.bpm, 1), r["ours"], round(r["librosa"], 1),
                  (loop.tonic, loop.mode), r["our_key"])
    one_shots(work)


def kits(n: int, seed: int, baseline: str) -> None:
    """Category and key of unnamed loops by kit family (fitted / held out) and kind."""
    from traum.analysis import analyse
    from traum.analysis.category import DRUMS

    sides = [("today", analyse)] + ([(baseline, vendored(baseline).analyse)] if baseline else [])
    kinds = ("drum", "808bass", "mixed", "tonal")
    loops = make_loops(n, seed, kits=KIT_FAMILIES, kinds=kinds)
    # The drum loops again with one kick sound per loop ("drum, 1 kick"): "drum" re-draws its kick every
    # bar, and a synthesised kit's kicks differ in pitch, so with long tails it plays a line of pitches.
    one_kick = [loop for loop in make_loops(n, seed, kits=KIT_FAMILIES, kinds=kinds, one_kick=True)
                if loop.kind == "drum"]
    for loop in one_kick:
        loop.kind = "drum, 1 kick"
    loops += one_kick
    results = {label: [fn(loop.samples, RATE, path="/x/0001.wav") for loop in loops] for label, fn in sides}
    rows = []
    # Fitted families together; each held-out family on its own (one can hide another's failure).
    groups = [("fitted", [k for k in KIT_FAMILIES if k not in HELD_OUT_KITS])] + [(k, [k]) for k in HELD_OUT_KITS]
    for group, families in groups:
        for kind in (*kinds, "drum, 1 kick"):
            chosen = [i for i, loop in enumerate(loops) if loop.kind == kind and loop.kit in families]
            if not chosen:
                continue
            row = [group, kind, len(chosen)]
            for label, _ in sides:
                facts = [results[label][i] for i in chosen]
                truth = [(loops[i].tonic, loops[i].mode) for i in chosen]
                row += [np.mean([f["category"] in DRUMS for f in facts]), sum(f["key"] is not None for f in facts),
                        np.mean([mirex((f["key"], f["mode"]), t) for f, t in zip(facts, truth)]),
                        np.mean([tempo_ok(f["bpm"], loops[i].bpm) for f, i in zip(facts, chosen)])]
            rows.append(row)
    header = ["kits", "kind", "n"]
    for label, _ in sides:
        header += [f"{label}: drum category", "keys", "key MIREX", "tempo acc1"]
    print(f"{n} unnamed loops (seed {seed}) from kit families {', '.join(KIT_FAMILIES)}; "
          f"held out from fitting: {', '.join(HELD_OUT_KITS)}\n")
    print(table(rows, header))
    print(flush=True)


def vendored(revision: str):
    """``traum.analysis`` as it was at ``revision``, importable beside today's."""
    import importlib
    import io
    import subprocess
    import tarfile

    target = Path(tempfile.mkdtemp()) / f"traum_analysis_{revision}"
    archive = subprocess.run(["git", "archive", revision, "src/traum/analysis"], cwd=Path(__file__).parents[1],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                text = tar.extractfile(member).read().decode().replace("traum.analysis", target.name)
                out = target / Path(member.name).name
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(text)
    sys.path.insert(0, str(target.parent))
    return importlib.import_module(target.name)


def cpu_per_file(analyse_path, files: list[Path]) -> np.ndarray:
    import time
    import warnings

    warnings.filterwarnings("ignore")
    analyse_path(str(files[0]))  # imports and caches are start-up, not per-file work
    out = []
    for path in files:
        start = time.process_time()
        analyse_path(str(path))
        out.append(1000 * (time.process_time() - start))
    return np.array(out)


def pool_overhead(files: list[Path]) -> list:
    """CPU per file (parent + one worker) handing decoded samples to a process pool, as the indexer
    does, against calling analyse_for_catalog in-process."""
    import resource
    import time
    from concurrent.futures import ProcessPoolExecutor

    from traum.analysis import analyse_for_catalog
    from traum.audio import load as decode

    decoded = [(decode(p, None), str(p)) for p in files]
    jobs = [(d.samples, d.sample_rate, p, d.sample_rate, d.info.bit_depth, d.truncated) for d, p in decoded]
    analyse_for_catalog(*jobs[0])
    start = time.process_time()
    for job in jobs:
        analyse_for_catalog(*job)
    inproc = 1000 * (time.process_time() - start) / len(jobs)
    with ProcessPoolExecutor(1) as pool:
        pool.submit(analyse_for_catalog, *jobs[0]).result()  # warm the worker
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.process_time()
        parent = 0.0
        for future in [pool.submit(analyse_for_catalog, *job) for job in jobs]:
            future.result()
        parent = 1000 * (time.process_time() - start) / len(jobs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    worker = 1000 * ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) / len(jobs)
    return [["in-process", inproc, "", ""], ["process pool (1 worker)", parent + worker, parent, worker]]


def speed(baseline: str) -> None:
    from traum.analysis import analyse_path

    files = [p for p in audio_files() if p.suffix.lower() in (".wav", ".ogg", ".flac", ".aif", ".aiff", ".mp3")]
    rows = []
    sides = [("today", analyse_path)]
    if baseline:
        sides.append((f"baseline {baseline}", vendored(baseline).analyse_path))
    for label, fn in sides:
        ms = cpu_per_file(fn, files)
        rows.append([label, len(ms), np.median(ms), np.percentile(ms, 95), np.mean(ms)])
    print(f"analyse_path CPU per file on {CORPUS} (decode included, ms)\n")
    print(table(rows, ["implementation", "files", "median", "p95", "mean"]))
    print()
    print(table(pool_overhead(files[:: max(1, len(files) // 120)]),
                ["analysis of decoded samples (ms CPU/file)", "total", "parent", "worker"]))
    print(flush=True)


def one_shots(work: Path) -> None:
    import shutil

    from traum.analysis import analyse
    from traum.vocabulary import category_from_path

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
