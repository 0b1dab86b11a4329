"""Loudness and quality: ITU-R BS.1770 integrated loudness (pyloudnorm), peaks, dynamics, noise floor,
and the problems a producer wants flagged before a sample reaches a mix."""

from __future__ import annotations

import numpy as np

#: pyloudnorm's gating blocks are 400 ms; shorter clips are measured over one zero-padded block.
_BLOCK = 0.4


def db(x: float, floor: float = -120.0) -> float:
    return float(max(floor, 20 * np.log10(max(x, 1e-12))))


def loudness(samples: np.ndarray, rate: int) -> dict[str, float | None]:
    import pyloudnorm

    block = int(_BLOCK * rate) + 1  # pyloudnorm wants strictly more than one block
    y = samples if len(samples) >= block else np.pad(samples, (0, block - len(samples)))
    lufs = pyloudnorm.Meter(rate).integrated_loudness(y.astype(np.float64))
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    frames = _frame_rms(samples, rate)
    loud = frames[frames > 1e-5]
    return {
        "loudness_lufs": round(float(lufs), 2) if np.isfinite(lufs) else None,
        "peak_dbfs": round(db(peak), 2),
        "true_peak_dbfs": round(db(true_peak(samples, rate)), 2),
        # Crest of the loud part: peak over the 95th-percentile frame RMS, in dB.
        "dynamic_range": round(db(peak) - db(float(np.percentile(loud, 95))), 2) if len(loud) else 0.0,
        # Noise floor: the 10th percentile of 20 ms frame RMS over the whole file.
        "noise_floor_dbfs": round(db(float(np.percentile(frames, 10))), 2) if len(frames) else None,
    }


def true_peak(samples: np.ndarray, rate: int) -> float:
    """Peak of the 4× oversampled signal (BS.1770 annex 2), which catches intersample overs."""
    from scipy.signal import resample_poly

    if len(samples) < 16:
        return float(np.max(np.abs(samples))) if len(samples) else 0.0
    return float(np.max(np.abs(resample_poly(samples, 4, 1))))


def _frame_rms(samples: np.ndarray, rate: int, seconds: float = 0.02) -> np.ndarray:
    size = max(1, int(seconds * rate))
    n = len(samples) // size
    if n == 0:
        return np.array([np.sqrt(np.mean(samples ** 2))]) if len(samples) else np.zeros(1)
    return np.sqrt(np.mean(samples[: n * size].reshape(n, size) ** 2, axis=1))


def quality(samples: np.ndarray, rate: int, *, source_rate: int | None = None, bit_depth: int | None = None,
            truncated: bool = False) -> dict:
    """``quality_ok``, ``quality_score`` (1 = no issues) and ``quality_issues`` with reasons."""
    evidence = {"peak": float(np.max(np.abs(samples))) if len(samples) else 0.0,
                "mean": float(np.mean(samples)) if len(samples) else 0.0,
                "clipped_runs": _clipped_runs(samples), "leading_silence": _leading_silence(samples, rate)}
    return quality_from(evidence, source_rate=source_rate, bit_depth=bit_depth, truncated=truncated)


def quality_from(evidence: dict, *, source_rate: int | None = None, bit_depth: int | None = None,
                 truncated: bool = False) -> dict:
    """:func:`quality` from its evidence (peak, mean, clipped_runs, leading_silence), however gathered."""
    issues = []
    peak = evidence["peak"]
    mean = evidence["mean"]
    if evidence["clipped_runs"] >= 3:
        issues.append("clipping")
    if abs(mean) > 0.01 * max(peak, 1e-9) and abs(mean) > 0.005:
        issues.append("dc offset")
    if peak < 10 ** (-60 / 20):
        issues.append("silent")
    elif peak < 10 ** (-40 / 20):
        issues.append("near silence")
    lead = evidence["leading_silence"]
    if lead > 0.5 and "silent" not in issues:
        issues.append(f"long leading silence ({lead:.1f} s)")
    if truncated:
        issues.append("truncated data")
    if source_rate and source_rate < 22_050:
        issues.append(f"low sample rate ({source_rate} Hz)")
    if bit_depth and bit_depth <= 8:
        issues.append(f"low bit depth ({bit_depth}-bit)")
    weights = {"clipping": 0.3, "dc offset": 0.1, "silent": 1.0, "near silence": 0.4, "truncated data": 0.4}
    score = 1.0 - sum(weights.get(i.split(" (")[0], 0.15) for i in issues)
    serious = {"clipping", "silent", "truncated data"}
    return {"quality_ok": not any(i in serious for i in issues), "quality_score": round(max(0.0, score), 2),
            "quality_issues": issues}


def _clipped_runs(samples: np.ndarray, threshold: float = 0.999, run: int = 3) -> int:
    """Runs of ``run`` or more consecutive samples at full scale."""
    hot = np.abs(samples) >= threshold
    if not hot.any():
        return 0
    edges = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
    lengths = np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)
    return int(np.sum(lengths >= run))


SILENCE_THRESHOLD_DB = -50.0


def _leading_silence(samples: np.ndarray, rate: int, threshold_db: float = SILENCE_THRESHOLD_DB) -> float:
    above = np.flatnonzero(np.abs(samples) > 10 ** (threshold_db / 20))
    return float(above[0] / rate) if len(above) else len(samples) / rate
