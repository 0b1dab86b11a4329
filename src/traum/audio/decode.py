"""Decode any file libsndfile can read into mono float32 at the rate a model needs.

Decoding is by content: a WAV named ``.WAV.ews`` is audio, a ``.wav`` full of text is not.
Errors are sorted so the pipeline can act on them: :class:`~traum.errors.NotAudio` (skip),
:class:`~traum.errors.AudioError` (corrupt or unsupported: fail, don't retry) and
:class:`~traum.errors.TransientAudioError` (I/O: retry with backoff).
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soundfile as sf
import soxr

from traum.errors import AudioError, NotAudio, TransientAudioError

#: Extensions a producer would expect to be audio; a file with one of these that libsndfile cannot
#: read is reported as failed (corrupt), any other unreadable file as skipped (not audio).
AUDIO_EXTENSIONS = frozenset(
    [".wav", ".wave", ".bwf", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".caf", ".w64",
     ".rf64", ".au", ".snd"]
)

#: Read long files in blocks so a 10-minute stereo stem never sits in memory as float32 stereo.
BLOCK_FRAMES = 1 << 20

_BIT_DEPTH = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32, "DOUBLE": 64,
              "ALAW": 8, "ULAW": 8}


@dataclass(frozen=True, slots=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def bit_depth(self) -> int | None:
        """Bits per sample for PCM and float; None for compressed formats (MP3, Vorbis, Opus)."""
        return _BIT_DEPTH.get(self.subtype)


@dataclass(frozen=True, slots=True)
class Decoded:
    info: AudioInfo
    #: Mono float32 samples at ``sample_rate``.
    samples: np.ndarray
    sample_rate: int
    #: Fewer frames than the header announced: the file is truncated.
    truncated: bool = False

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def probe(path: str | os.PathLike[str]) -> AudioInfo:
    """Read the header only."""
    require_regular_file(path)
    try:
        with _sound_file(path) as sound:
            found = AudioInfo(int(sound.samplerate), int(sound.channels), int(sound.frames), sound.format,
                              sound.subtype)
    except Exception as err:
        raise _classify(path, err) from err
    _check_header(os.fspath(path), found)
    return found


#: Sample rates outside this range are a corrupt header, not audio (a 40 KB file claiming 1 Hz and
#: 20,000 frames would otherwise be "5.5 hours", upsampled to 48 kHz).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 1_000, 768_000
#: Longest file indexed or analysed, in seconds, unless TRAUM_MAX_DURATION_S says otherwise.
DEFAULT_MAX_DURATION_S = 3 * 3600.0


def max_duration_seconds() -> float:
    """The one place the duration limit is read (env ``TRAUM_MAX_DURATION_S``)."""
    raw = os.environ.get("TRAUM_MAX_DURATION_S")
    if not raw:
        return DEFAULT_MAX_DURATION_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        from traum.errors import TraumError

        raise TraumError(f"TRAUM_MAX_DURATION_S must be a positive number of seconds, not {raw!r}")
    return value


def _check_header(path: str, info: AudioInfo) -> None:
    if not MIN_SAMPLE_RATE <= info.sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"{path}: implausible sample rate in the header ({info.sample_rate} Hz; "
                         f"expected {MIN_SAMPLE_RATE // 1000}–{MAX_SAMPLE_RATE // 1000} kHz)")
    limit = max_duration_seconds()
    if info.duration > limit:
        raise AudioError(f"{path}: {info.duration / 60:.0f} minutes long, over the {limit / 60:.0f}-minute limit "
                         "(set TRAUM_MAX_DURATION_S to allow longer files)")


def require_regular_file(path: str | os.PathLike[str]) -> None:
    """Opening a FIFO or a device blocks forever or reads without end: refuse before opening."""
    from traum.audio.discover import not_regular_reason

    mode = os.stat(path).st_mode  # OSError as is: callers sort missing (vanished) from I/O (retry)
    if not stat.S_ISREG(mode):
        raise NotAudio(f"{os.fspath(path)}: {not_regular_reason(mode)}")


def load(path: str | os.PathLike[str], sample_rate: int | None = 48_000) -> Decoded:
    """Decode ``path`` to mono float32, resampled with soxr (HQ) to ``sample_rate`` (None keeps it)."""
    info = probe(path)
    try:
        mono = _read_mono(path)
    except Exception as err:
        raise _classify(path, err) from err
    if mono.size == 0:
        raise AudioError(f"{path}: no audio frames")
    rate = sample_rate or info.sample_rate
    if rate != info.sample_rate:
        mono = resample(mono, info.sample_rate, rate)
    truncated = declared_bytes_missing(path)
    return Decoded(info, np.ascontiguousarray(mono, dtype=np.float32), rate, truncated)


def resample(mono: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """soxr HQ, with exactly the output length ``librosa.load`` gives, so clips line up sample for sample
    with the usual reference loader: CLAP repeat-pads short clips, and a one-sample difference shifts
    every repeat (mean-removed cosine 0.975 instead of 0.9999 on a 2 s clip). librosa takes
    ceil(n × (out / in)) in floating point, which is sometimes one more than the exact ceil."""
    if rate_in == rate_out:
        return np.ascontiguousarray(mono, dtype=np.float32)
    out = soxr.resample(mono, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)
    size = int(math.ceil(len(mono) * (float(rate_out) / rate_in)))
    if len(out) < size:
        return np.pad(out, (0, size - len(out)))
    return out[:size]


def _read_mono(path: str | os.PathLike[str]) -> np.ndarray:
    """Blocks mixed down straight into one array sized from the header: a list of blocks joined at the
    end held the file twice at its peak (64 MB for 3 minutes, per decoding thread)."""
    with _sound_file(path) as fh:
        out = np.empty(max(0, int(fh.frames)), dtype=np.float32)
        filled = 0
        extra: list[np.ndarray] = []  # frames past the header's count (a header that undercounts)
        while True:
            block = fh.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
            if not len(block):
                break
            room = min(len(block), len(out) - filled)
            _mixdown(block[:room], out[filled:filled + room])
            filled += room
            if room < len(block):
                extra.append(_mixdown(block[room:]))
    mono = out[:filled] if filled < len(out) else out
    return np.concatenate([mono, *extra]) if extra else mono


def mono_blocks(path: str | os.PathLike[str], block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Mono float32 blocks at the native rate, read one at a time (errors sorted as :func:`load`'s)."""
    require_regular_file(path)
    try:
        yield from _mono_blocks(path, block_frames)
    except AudioError:
        raise
    except Exception as err:
        raise _classify(path, err) from err


@contextmanager
def _sound_file(path: str | os.PathLike[str]) -> Iterator[sf.SoundFile]:
    """libsndfile reads through an open Python file, not the name: soundfile encodes names strictly, so
    a name with non-UTF-8 bytes (surrogate-escaped by ``os.fsdecode``) could not be opened at all."""
    with open(path, "rb") as raw, sf.SoundFile(raw) as sound:
        yield sound


def _mono_blocks(path: str | os.PathLike[str], block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
    with _sound_file(path) as fh:
        while True:
            block = fh.read(block_frames, dtype="float32", always_2d=True)
            if not len(block):
                break
            yield _mixdown(block)


def _mixdown(block: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The channels' mean, column by column: the same float32 values as ``block.mean(axis=1)``, ~20× faster
    (a row-wise mean reduces each 2-sample row on its own; ~140 ms of a 2.5-min stereo file). ``out``:
    where to write it (a slice of the whole file's array)."""
    if out is None:
        mono = block[:, 0].copy()
    else:
        mono = out
        mono[:] = block[:, 0]
    for channel in range(1, block.shape[1]):
        mono += block[:, channel]
    if block.shape[1] > 1:
        mono /= np.float32(block.shape[1])
    return mono


def declared_bytes_missing(path: str | os.PathLike[str]) -> bool:
    """True when a WAV's data chunk announces more bytes than the file holds (a cut-off download or copy).

    libsndfile silently reads what is there, so the header is checked by hand: RIFF chunks are simple.
    """
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return False
        order: Literal["little", "big"] = "little" if head[:4] == b"RIFF" else "big"
        size = os.fstat(fh.fileno()).st_size
        while chunk := fh.read(8):
            if len(chunk) < 8:
                return False
            length = int.from_bytes(chunk[4:], order)
            if chunk[:4] == b"data":
                return fh.tell() + length > size and length != 0xFFFFFFFF
            fh.seek(length + (length & 1), os.SEEK_CUR)
    return False


_NOT_RECOGNISED = re.compile(r"format not recogni[sz]ed|unknown format|not a valid|file contains data in an unknown",
                             re.IGNORECASE)


_TRANSIENT = re.compile(r"permission denied|input/output error|resource temporarily unavailable", re.IGNORECASE)


def _classify(path: str | os.PathLike[str], err: Exception) -> AudioError:
    name = os.fspath(path)
    if isinstance(err, AudioError):
        return err
    if isinstance(err, FileNotFoundError):
        return AudioError(f"{name}: file vanished while reading")
    if isinstance(err, OSError) and not isinstance(err, sf.LibsndfileError):
        return TransientAudioError(f"{name}: {err.strerror or err}")
    transient = _TRANSIENT.search(str(err))
    if transient:  # libsndfile's "System error": the OS refused, the content may be fine
        return TransientAudioError(f"{name}: {transient.group(0).lower()}")
    if isinstance(err, sf.LibsndfileError) and err.code:
        message = err.error_string.strip()  # without soundfile's prefix, which names the file object
    else:
        message = str(err).split(":", 1)[-1].strip() if name in str(err) else str(err)
    if _NOT_RECOGNISED.search(message) or os.path.getsize(name) == 0:
        return undecodable(name, message or "empty file")
    return AudioError(f"{name}: {message}")


def undecodable(path: str, detail: str) -> AudioError:
    """Content libsndfile does not recognise: a failed file if its name promises audio, else not audio."""
    if os.path.splitext(path)[1].lower() in AUDIO_EXTENSIONS:
        return AudioError(f"{path}: not decodable audio ({detail})")
    return NotAudio(f"{path}: not audio ({detail})")


def peaks(path: str | os.PathLike[str], points: int) -> list[float]:
    """Waveform overview: the absolute peak of each of ``points`` equal stretches of the file, computed
    block by block (a one-hour file never sits in memory). Regular files only."""
    points = max(1, int(points))
    frames = probe(path).frames
    edges = np.linspace(0, max(frames, 1), points + 1).astype(np.int64)
    out = np.zeros(points, dtype=np.float32)
    position = 0
    for block in mono_blocks(path):
        end = position + len(block)
        inner = edges[(edges > position) & (edges < end)] - position
        cuts = np.unique(np.concatenate([[0], inner]))
        maxima = np.maximum.reduceat(np.abs(block), cuts)
        buckets = np.minimum(np.searchsorted(edges, position + cuts, side="right") - 1, points - 1)
        np.maximum.at(out, buckets, maxima)
        position = end
    return [round(float(v), 4) for v in out]
