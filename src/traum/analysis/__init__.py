"""Facts about a sound, as pure functions: samples (or names) in, facts out. No database here.

:func:`analyse` gives everything ``traum analyze`` prints and ``traum index`` stores: tempo (loops
only), key (tonal material only), root note (pitched one-shots), loudness, quality, category and the
spectral/temporal/harmonic descriptors.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from traum.analysis.stream import WholeFile

from traum.errors import TraumError

ANALYSIS_SECONDS = 30


class InvalidSamples(TraumError, ValueError):
    """:func:`analyse` was given something that is not mono audio it can measure."""


def valid_samples(samples: Any, rate: Any) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and a positive rate, or :class:`InvalidSamples` saying what is wrong.

    Like ``librosa.util.valid_audio`` at the boundary, but forgiving where the intent is clear:
    integer PCM (int16, int32, uint8) is scaled to [-1, 1] (measured raw, an int16 clip read +66 LUFS),
    and a 2-D array is mixed down to mono, taking the shorter axis as channels (``(frames, channels)``
    from soundfile or ``(channels, frames)`` from librosa both work).
    """
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InvalidSamples(f"sample rate must be a positive whole number of Hz, not {rate!r}")
    y = np.asarray(samples)
    if y.dtype == np.bool_ or not (np.issubdtype(y.dtype, np.number) and not np.iscomplexobj(y)):
        raise InvalidSamples(f"samples must be real numbers, not {y.dtype}")
    if y.ndim == 2:
        y = y.mean(axis=int(np.argmin(y.shape)), dtype=np.float64)
    elif y.ndim != 1:
        raise InvalidSamples(f"samples must be mono (1-D) or channels × frames (2-D), not {y.ndim}-D")
    if y.size == 0:
        raise InvalidSamples("no samples to analyse (empty audio)")
    if np.issubdtype(y.dtype, np.unsignedinteger):
        half = float(2 ** (8 * y.dtype.itemsize - 1))
        y = (y.astype(np.float64) - half) / half
    elif np.issubdtype(y.dtype, np.integer):
        y = y.astype(np.float64) / float(2 ** (8 * y.dtype.itemsize - 1))
    if not np.all(np.isfinite(y)):
        raise InvalidSamples("samples contain NaN or infinity")
    return np.ascontiguousarray(y, dtype=np.float32), int(rate)


def analyse_path(path: str, analyser: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """:func:`analyse` (or ``analyser``, same signature) of a file, as ``traum analyze`` and ``traum
    index`` both do it: decoded whole at its native rate, or streamed block by block when longer than
    ``STREAM_SECONDS``."""
    from traum.analysis.stream import STREAM_SECONDS, read_long
    from traum.audio import load, probe

    measure = analyser or analyse
    info = probe(path)
    if info.duration > STREAM_SECONDS:
        long = read_long(path)
        return measure(long.head, info.sample_rate, path=path, source_rate=info.sample_rate,
                       bit_depth=info.bit_depth, truncated=long.truncated, whole=long.whole)
    decoded = load(path, None)
    return measure(decoded.samples, decoded.sample_rate, path=path, source_rate=info.sample_rate,
                   bit_depth=info.bit_depth, truncated=decoded.truncated)


def analyse(samples: np.ndarray, rate: int, *, path: str = "", source_rate: int | None = None,
            bit_depth: int | None = None, truncated: bool = False, whole: WholeFile | None = None
            ) -> dict[str, Any]:
    """Analyse mono ``samples`` at ``rate``; ``path`` lends name evidence (shorthand, tempo, key).

    Raises :class:`InvalidSamples` for empty, non-finite or non-numeric input or a rate <= 0; integer
    PCM is scaled to [-1, 1] and 2-D input mixed down to mono (see :func:`valid_samples`).
    """
    # The matrices here are small (a mel bank times a few hundred frames): BLAS threads cost more to
    # wake than they save, and on a busy machine they spin against the other workers (a 0.3 ms
    # product took 4 ms with the default threads, 47 ms with the cores taken).
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _analyse(samples, rate, path=path, source_rate=source_rate, bit_depth=bit_depth,
                        truncated=truncated, whole=whole)


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _analyse(samples: np.ndarray, rate: int, *, path: str, source_rate: int | None, bit_depth: int | None,
             truncated: bool, whole: WholeFile | None) -> dict[str, Any]:
    import warnings

    import soxr

    from traum.analysis import category as cat

    # librosa warns about near-empty inputs (an 18 ms one-shot) in ways a producer cannot act on;
    # the facts it returns are still right or None.
    warnings.filterwarnings("ignore", category=UserWarning, module="librosa")
    from traum.analysis.features import RATE, harmonic, spectral, temporal
    from traum.analysis.frontend import Spectrum
    from traum.analysis.loudness import loudness, quality, quality_from
    from traum.analysis.rhythm import tempo
    from traum.analysis.tonal import root_note
    from traum.vocabulary import bpm_from_name, category_from_path

    samples, rate = valid_samples(samples, rate)
    if whole is None:
        duration = len(samples) / rate
        measures = {**loudness(samples, rate),
                    **quality(samples, rate, source_rate=source_rate, bit_depth=bit_depth, truncated=truncated)}
    else:  # a long file: ``samples`` is its head, ``whole`` measured all of it block by block
        duration = whole.frames / whole.rate
        measures = {**whole.loudness(), **quality_from(whole.quality_evidence(), source_rate=source_rate,
                                                       bit_depth=bit_depth, truncated=truncated)}
        samples = samples[: ANALYSIS_SECONDS * rate]
    # Only the head is analysed below: cut before resampling (a second past it, so the resampler's
    # filter sees what it saw in the whole file and the head comes out bit-identical).
    head = samples[: (ANALYSIS_SECONDS + 1) * rate]
    y = head if rate == RATE else soxr.resample(head, rate, RATE).astype(np.float32)
    facts: dict[str, Any] = {"duration": round(duration, 4)}
    facts.update(measures)
    # Descriptors, tempo and key from the first 30 s: enough for any loop, and a 10-minute stem costs
    # no more than a long loop (a 2-minute song took 1.3 s of CPU uncapped, 1 % of files but a third
    # of all analysis time). Loudness and quality above see the whole file.
    y = y[: ANALYSIS_SECONDS * RATE]
    front = Spectrum(y, RATE)
    spec, temp, harm = spectral(front), temporal(front), harmonic(front)
    name_category = category_from_path(path) if path else (None, 0.0)
    bpm, tempo_confidence = tempo(y, name_bpm=bpm_from_name(path) if path else None, duration=duration)
    if name_category[0] and name_category[0] in cat.DRUMS - {"drum-loop"} and tempo_confidence < 0.9:
        bpm, tempo_confidence = None, 0.0  # a named one-shot drum has no tempo, however its tail rings
    pitched = root_note(y, RATE) if bpm is None and duration <= 8.0 and harm["pitchedness"] > 0.5 else None
    note = pitched[0] if pitched else None
    category, confidence = cat.fuse(name_category, cat.acoustic_category(duration, spec, temp, harm, bpm, note))
    key, mode = _key(y, path, category, confidence, harm, note, bpm is not None)
    facts.update({
        "bpm": bpm, "tempo_confidence": tempo_confidence, "is_loop": bpm is not None,
        "key": key, "mode": mode, "note": note, "cents": pitched[1] if pitched else None,
        "category": category, "category_confidence": confidence,
        "spectral_features": spec, "temporal_features": temp, "harmonic_features": harm,
    })
    return facts


def _key(y: np.ndarray, path: str, category: str, category_confidence: float, harm: dict,
         note: str | None, is_loop: bool) -> tuple[str | None, str | None]:
    from traum.analysis.category import NO_KEY, PITCHED_LOOP, music_in_loop
    from traum.analysis.features import RATE
    from traum.analysis.tonal import key_chroma, key_from_chroma, pitch_classes_present
    from traum.vocabulary import key_from_name

    named = key_from_name(path) if path else None
    if named:
        return named
    # Drums, noise and speech have no key; "fx" as a bare acoustic fallback ("nothing else fits")
    # is no evidence against one.
    no_key = category in NO_KEY and not (category == "fx" and category_confidence < 0.4)
    if no_key or harm["pitchedness"] < PITCHED_LOOP or (is_loop and not music_in_loop(harm)):
        return None, None
    mean, start = key_chroma(y, RATE, kick_aware=is_loop)
    # A single note is a note, not a key: a root and its overtones (constant-Q chroma, sharp down to
    # an 808's 49 Hz where the STFT's smears over half an octave).
    if (note is not None or not is_loop) and pitch_classes_present(mean) <= 4:
        return None, None
    tonic, mode, confidence = key_from_chroma(mean, start)
    return (tonic, mode) if confidence >= 0.3 else (None, None)


def catalog_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """The catalog columns from :func:`analyse`'s result (key spelled "F# minor")."""
    return {
        "bpm": facts["bpm"], "tempo_confidence": facts["tempo_confidence"],
        "key": f"{facts['key']} {facts['mode']}" if facts["key"] else None,
        "category": facts["category"], "category_confidence": facts["category_confidence"],
        # The note as a tag ("C2"); loop / one-shot is not a word to match: it follows from bpm.
        "tags": [facts["note"]] if facts["note"] else [],
        "spectral_features": facts["spectral_features"], "temporal_features": facts["temporal_features"],
        "harmonic_features": {**facts["harmonic_features"], "note": facts["note"], "cents": facts["cents"]},
        "quality_ok": facts["quality_ok"], "quality_score": facts["quality_score"],
        "noise_level": facts["noise_floor_dbfs"], "dynamic_range": facts["dynamic_range"],
        "loudness_lufs": facts["loudness_lufs"], "true_peak_dbfs": facts["true_peak_dbfs"],
        "quality_issues": list(facts["quality_issues"]),
    }


def analyse_for_catalog(samples: np.ndarray, rate: int, path: str, source_rate: int | None,
                        bit_depth: int | None, truncated: bool, whole: WholeFile | None = None) -> dict[str, Any]:
    """:func:`analyse` → catalog columns; a top-level function so a process pool can run it."""
    return catalog_facts(analyse(samples, rate, path=path, source_rate=source_rate, bit_depth=bit_depth,
                                 truncated=truncated, whole=whole))


def name_facts(path: str) -> dict[str, Any]:
    """What the name alone says, for files whose audio is not decoded (vectors from the cache)."""
    from traum.vocabulary import bpm_from_name, category_from_path, key_from_name

    category, confidence = category_from_path(path)
    key = key_from_name(path)
    bpm = bpm_from_name(path)
    return {"category": category, "category_confidence": confidence if category else None,
            "bpm": bpm, "tempo_confidence": 0.6 if bpm else None, "key": f"{key[0]} {key[1]}" if key else None}
