"""Refit the tempo model's weights (traum/analysis/rhythm.py) on generated loops.

    python benchmarks/fit_tempo.py [--seeds 0,100-110] [--loops 120] [--test-seeds 2,3]

Every bar-length candidate of every loop is one example (label: within 4 % of the true tempo);
the features are exactly those rhythm.py scores. Prints the weights to paste into rhythm.py and
acc1 on the test seeds. Needs scikit-learn (a librosa dependency, so already installed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import log  # noqa: E402
from loops import RATE, make_loops  # noqa: E402


def seeds(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out


def examples(seed: int, n: int) -> list[tuple[float, list[tuple[float, list[float]]]]]:
    """(true bpm, [(candidate bpm, features)]) per loop."""
    import soxr

    from traum.analysis import rhythm

    out = []
    for loop in make_loops(n, seed):
        y = soxr.resample(loop.samples, RATE, rhythm.RATE).astype(np.float32)
        out.append((loop.bpm, rhythm.candidate_features(y, rhythm.RATE)))
    return out


def main() -> None:
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,100-110")
    parser.add_argument("--test-seeds", default="2,3")
    parser.add_argument("--loops", type=int, default=120)
    parser.add_argument("--C", type=float, default=0.3)
    args = parser.parse_args()
    train = [e for s in seeds(args.seeds) for e in (log(f"seed {s}") or examples(s, args.loops))]
    x = [f for _, cands in train for _, f in cands]
    y = [abs(bpm - truth) / truth <= 0.04 for truth, cands in train for bpm, _ in cands]
    model = LogisticRegression(C=args.C, max_iter=5000).fit(np.array(x), np.array(y))
    print("_WEIGHTS =", np.round(model.coef_[0], 3).tolist())
    print("_BIAS =", round(float(model.intercept_[0]), 3))
    test = [e for s in seeds(args.test_seeds) for e in examples(s, args.loops)]
    hits = [bool(cands) and abs(max(cands, key=lambda c: model.decision_function([c[1]])[0])[0] - truth) / truth <= 0.04
            for truth, cands in test]
    print(f"acc1 on seeds {args.test_seeds}: {np.mean(hits):.3f} ({len(hits)} loops)")


if __name__ == "__main__":
    main()
