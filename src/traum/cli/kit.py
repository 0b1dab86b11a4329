"""traum kit export NAME --out DIR --format folder|zip|sfz"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

from traum.cli.console import err, failed, safe
from traum.cli.options import Db

kit = typer.Typer(name="kit", no_args_is_help=True, help="Sample kits out of collections.")


class KitFormat(StrEnum):
    folder = "folder"
    zip = "zip"
    sfz = "sfz"


class AudioFormat(StrEnum):
    wav = "wav"
    flac = "flac"
    aiff = "aiff"
    ogg = "ogg"


@kit.command()
def export(
    name: Annotated[str, typer.Argument(help="The collection to export.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the kit into.", show_default=False)],
    format: Annotated[KitFormat, typer.Option("--format", help="folder: the files; zip: the folder zipped; "
                                              "sfz: the files and an SFZ instrument over them.")] = KitFormat.folder,
    audio_format: Annotated[Optional[AudioFormat], typer.Option(
        "--audio-format", help="Convert every file to this format (default: copy as they are).",
        show_default=False)] = None,
    sample_rate: Annotated[Optional[int], typer.Option("--sample-rate", min=8000, max=192000,
                                                       help="Resample every file (soxr, high quality).",
                                                       show_default=False)] = None,
    bit_depth: Annotated[Optional[int], typer.Option("--bit-depth", help="16, 24 or 32 (float); with a "
                                                     "conversion, 24 unless given.", show_default=False)] = None,
    bpm: Annotated[Optional[float], typer.Option("--bpm", help="Render loops at this tempo (time-stretched, as the "
                                                 "page previews them); the BPM goes into their names.",
                                                 show_default=False)] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Shift pitched sounds to this key ('Am', 'F# major'; "
                                               "nearest transposition); the key goes into their names.",
                                               show_default=False)] = None,
    db: Db = None,
) -> None:
    """Copy a collection's samples to a folder, a zip or an SFZ instrument, with clean unique names."""
    from traum.catalog import Catalog, collections
    from traum.kits import Conversion, Match, export_kit, samples_of
    from traum.settings import resolve_db

    conversion = Conversion(audio_format.value if audio_format else None, sample_rate, bit_depth)
    match = Match(bpm, key)
    with Catalog(resolve_db(db)) as catalog:
        info = collections.info(catalog, name)
        samples = samples_of(catalog, collections.members(catalog, info.name))
    report = export_kit(samples, out, info.name, format.value, conversion, match)
    for path, why in report.skipped:
        failed(path, why, label="left out")
    for path, why in report.unmatched:
        failed(path, why, label="copied unmatched", style="yellow")
    err.print(f"wrote {len(report.files)} samples of {safe(info.name)} to {safe(report.written)}", highlight=False)
    if report.skipped:
        raise typer.Exit(1)
