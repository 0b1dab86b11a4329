"""Writing a kit: clean unique file names, optional conversion (soundfile + soxr), optionally matched to a
project's tempo and key (the preview's plan: :mod:`traum.audio.transform`), zip, SFZ."""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from traum.catalog import Catalog
from traum.catalog.paths import display
from traum.errors import ConfigError, TraumError
from traum.kits.sfz import sfz_text

log = logging.getLogger(__name__)

KitFormat = Literal["folder", "zip", "sfz"]
#: Audio formats a kit may be converted to → soundfile's format name.
AUDIO_FORMATS = {"wav": "WAV", "flac": "FLAC", "aiff": "AIFF", "ogg": "OGG"}
#: Bit depth → soundfile subtype, for the formats that have one.
SUBTYPES = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}


@dataclass(frozen=True, slots=True)
class KitSample:
    stem_id: str
    path: str
    category: str | None = None
    bpm: float | None = None
    #: Detected root note of a pitched one-shot ("C2"), for mapping it to its key in an SFZ.
    note: str | None = None
    #: Detected key ("A minor"), for shifting pitched material to a project key.
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """A project tempo and key the kit's loops and pitched sounds are rendered at (None: left as they are)."""

    bpm: float | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        from traum.audio.transform import parse_key

        if self.bpm is not None and not 20 <= self.bpm <= 300:
            raise ConfigError(f"--bpm {self.bpm:g} is not a tempo: give the project's BPM, 20 to 300")
        if self.key is not None:
            try:
                parse_key(self.key)
            except ValueError:
                raise ConfigError(f"--key {self.key!r} is not a key: try 'A minor', 'Am', 'F#' or 'Bb major'") from None

    @property
    def wanted(self) -> bool:
        return self.bpm is not None or self.key is not None


@dataclass(frozen=True, slots=True)
class Conversion:
    """What every file of the kit becomes; a field left None keeps the file's own."""

    audio_format: str | None = None
    sample_rate: int | None = None
    bit_depth: int | None = None

    def __post_init__(self) -> None:
        if self.audio_format is not None and self.audio_format not in AUDIO_FORMATS:
            raise ConfigError(f"kit audio format {self.audio_format!r} is not one of {', '.join(AUDIO_FORMATS)}")
        if self.bit_depth is not None and self.bit_depth not in SUBTYPES:
            raise ConfigError(f"bit depth {self.bit_depth} is not one of 16, 24, 32 (float)")
        if self.sample_rate is not None and not 8000 <= self.sample_rate <= 192000:
            raise ConfigError(f"sample rate {self.sample_rate} is not between 8000 and 192000")

    @property
    def needed(self) -> bool:
        return self != Conversion()


@dataclass
class KitReport:
    written: Path
    files: list[str] = field(default_factory=list)
    #: (path, reason) of samples left out: gone, unreadable.
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (path, reason) of samples copied as they are although a match was asked for (a stretch too far).
    unmatched: list[tuple[str, str]] = field(default_factory=list)


def samples_of(catalog: Catalog, stem_ids: list[str]) -> list[KitSample]:
    """The kit's samples in the given order; stems no longer in the catalog are left out."""
    stems = {s["id"]: s for s in catalog.stems(stem_ids)}
    return [KitSample(i, stems[i]["path"], stems[i].get("category"), stems[i].get("bpm"), _note(stems[i]),
                      stems[i].get("key")) for i in stem_ids if i in stems]


def _note(stem: dict[str, Any]) -> str | None:
    features = stem.get("harmonic_features")
    try:
        parsed = json.loads(features) if isinstance(features, str) else features
    except ValueError:
        return None
    note = parsed.get("note") if isinstance(parsed, dict) else None
    return note if isinstance(note, str) else None


def export_kit(samples: list[KitSample], out: Path, name: str, kit_format: KitFormat = "folder",
               conversion: Conversion | None = None, match: Match | None = None) -> KitReport:
    """Write the kit named ``name`` under the folder ``out``: ``out/NAME/`` (folder, sfz) or ``out/NAME.zip``.
    With ``match``, loops are rendered at its BPM and pitched sounds in its key, as the preview plays them."""
    if kit_format not in ("folder", "zip", "sfz"):
        raise ConfigError(f"kit format {kit_format!r} is not one of folder, zip, sfz")
    if not samples:
        raise TraumError(f"the kit {name!r} has no samples to export")
    conversion = conversion or Conversion()
    folder_name = clean_name(name) or "kit"
    out.mkdir(parents=True, exist_ok=True)
    if kit_format == "zip":
        with tempfile.TemporaryDirectory(dir=out, prefix=".kit-") as tmp:
            report = _write_folder(samples, Path(tmp) / folder_name, conversion, sfz=False, match=match)
            target = out / f"{folder_name}.zip"
            _zip(Path(tmp) / folder_name, target)
            report.written = target
            return report
    target = out / folder_name
    if target.exists() and any(target.iterdir()):
        raise ConfigError(f"{target} exists and is not empty; remove it or choose another --out")
    return _write_folder(samples, target, conversion, sfz=kit_format == "sfz", name=folder_name, match=match)


def zip_bytes_of(samples: list[KitSample], name: str, *, sfz: bool, conversion: Conversion | None = None,
                 match: Match | None = None) -> tuple[Path, KitReport]:
    """A kit (or SFZ instrument) zipped into a temporary file the caller deletes: for a download."""
    folder_name = clean_name(name) or "kit"
    with tempfile.TemporaryDirectory(prefix="traum-kit-") as tmp:
        report = _write_folder(samples, Path(tmp) / folder_name, conversion or Conversion(), sfz=sfz, name=folder_name,
                               match=match)
        handle, zipped = tempfile.mkstemp(prefix="traum-kit-", suffix=".zip")
        os.close(handle)
        _zip(Path(tmp) / folder_name, Path(zipped))
    report.written = Path(zipped)
    return Path(zipped), report


def _write_folder(samples: list[KitSample], folder: Path, conversion: Conversion, *, sfz: bool,
                  name: str = "kit", match: Match | None = None) -> KitReport:
    audio_dir = folder / "samples" if sfz else folder
    audio_dir.mkdir(parents=True, exist_ok=True)
    report = KitReport(folder)
    taken: set[str] = set()
    placed: list[tuple[KitSample, str]] = []
    for sample in samples:
        plan, tags = _plan(sample, match or Match(), report)
        suffix = _suffix(sample.path, conversion, rendered=plan is not None)
        file_name = unique_name(" ".join([clean_name(Path(sample.path).stem) or "sample", *tags]), suffix, taken)
        try:
            _place(sample.path, audio_dir / file_name, conversion, plan)
        except (OSError, RuntimeError, ValueError) as err:  # soundfile raises RuntimeError/LibsndfileError
            log.warning("kit: %s left out: %s", display(sample.path), err)
            report.skipped.append((display(sample.path), str(err).splitlines()[0] if str(err) else type(err).__name__))
            taken.discard(file_name.lower())
            continue
        report.files.append(file_name)
        placed.append((sample, file_name))
    if sfz and placed:
        (folder / f"{name}.sfz").write_text(sfz_text([(_sounding_note(s, match), f"samples/{f}") for s, f in placed]),
                                           encoding="utf-8")
    return report


def _plan(sample: KitSample, match: Match, report: KitReport) -> tuple[Any, list[str]]:
    """The preview's plan for ``sample`` at the match (None: copy it) and the words its file name gets."""
    if not match.wanted:
        return None, []
    from traum.audio.transform import plan_preview

    try:
        plan = plan_preview(bpm=sample.bpm, key=sample.key, note=sample.note, target_bpm=match.bpm,
                            target_key=match.key)
    except ValueError as err:
        report.unmatched.append((display(sample.path), str(err)))
        return None, []
    tags = []
    if plan.method == "stretch" and match.bpm and sample.bpm:
        tags.append(f"{match.bpm:g} BPM")
    if match.key and (sample.key or sample.note):
        tags.append(key_tag(match.key))
    return (plan if plan.changes_anything else None), tags


def key_tag(key: str) -> str:
    """"A minor" → "Am", "F# major" → "F#": how sample packs name a key in a file name."""
    from traum.audio.transform import parse_key

    tonic = key.strip()[0].upper() + (key.strip()[1] if key.strip()[1:2] in ("#", "b") else "")
    return tonic + ("m" if parse_key(key)[1] == "minor" else "")


def _sounding_note(sample: KitSample, match: Match | None) -> str | None:
    """The root note an SFZ maps a sample at: a one-shot varispeeded to the key sounds at the key's tonic."""
    if not (match and match.key and sample.note and not sample.bpm):
        return sample.note
    from traum.audio.transform import note_shift
    from traum.kits.sfz import midi_of

    root = midi_of(sample.note)
    if root is None:
        return sample.note
    shifted = root + note_shift(sample.note, match.key)
    return f"{_NOTE_NAMES[shifted % 12]}{shifted // 12 - 1}"


_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def _suffix(source: str, conversion: Conversion, *, rendered: bool) -> str:
    if conversion.audio_format:
        return f".{conversion.audio_format}"
    suffix = Path(source).suffix.lower()
    # A rendered file is written, not copied: in its own format when soundfile writes it, else WAV.
    if rendered and {"aif": "aiff"}.get(suffix.lstrip("."), suffix.lstrip(".")) not in AUDIO_FORMATS:
        return ".wav"
    return suffix


def _place(source: str, target: Path, conversion: Conversion, plan: Any = None) -> None:
    if not conversion.needed and plan is None:
        shutil.copyfile(source, target)
        return
    import soundfile as sf

    with open(source, "rb") as handle:  # a file object: soundfile cannot encode non-UTF-8 names
        data, rate = sf.read(handle, always_2d=True, dtype="float32")
    if plan is not None:
        import numpy as np

        from traum.audio.transform import render

        data = np.clip(render(data, rate, plan), -1.0, 1.0)
    if conversion.sample_rate and conversion.sample_rate != rate:
        import soxr

        data = soxr.resample(data, rate, conversion.sample_rate, quality="HQ")
        rate = conversion.sample_rate
    audio_format = AUDIO_FORMATS[conversion.audio_format or _format_of(target)]
    # Without a bit depth asked for, 24-bit PCM: no loss for any source a sample library holds.
    subtype = None if audio_format == "OGG" else SUBTYPES[conversion.bit_depth or 24]
    if audio_format == "FLAC" and subtype == "FLOAT":
        raise ValueError("FLAC has no 32-bit float; choose 16 or 24 bits")
    sf.write(str(target), data, rate, format=audio_format, subtype=subtype)


def _format_of(target: Path) -> str:
    suffix = target.suffix.lower().lstrip(".")
    suffix = "aiff" if suffix == "aif" else suffix
    if suffix not in AUDIO_FORMATS:
        raise ValueError(f"{target.suffix} files cannot be converted; choose --audio-format wav, flac, aiff or ogg")
    return suffix


def _zip(folder: Path, target: Path) -> None:
    partial = target.with_name(f".{target.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, Path(folder.name) / path.relative_to(folder))
    partial.replace(target)


def clean_name(name: str) -> str:
    """A file name every OS and sampler takes: letters, digits, space, - _ . ( ), at most 80 characters."""
    ascii_name = unicodedata.normalize("NFKD", display(name)).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9 ._()-]+", "_", ascii_name)
    cleaned = re.sub(r"[ _]{2,}", " ", cleaned).strip(" ._")
    return cleaned[:80]


def unique_name(stem: str, suffix: str, taken: set[str]) -> str:
    """``stem + suffix``, or ``stem 2 + suffix``… when taken (case-insensitive: macOS and Windows)."""
    candidate, n = f"{stem}{suffix}", 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem} {n}{suffix}"
    taken.add(candidate.lower())
    return candidate
