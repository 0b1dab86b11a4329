"""traum model list / traum model import"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from traum.cli.console import out, print_json, safe
from traum.cli.options import Json

model_app = typer.Typer(name="model", no_args_is_help=True,
                        help="The CLAP models Traum knows and has, and importing LAION's original checkpoints.")


@model_app.command("list")
def list_(json: Json = False) -> None:
    """Known checkpoints and local model folders: size, what each is good for, whether it works offline."""
    from traum.embedding.models import list_models, models_dir
    from traum.settings import default_model

    entries = list_models()
    if json:
        print_json([e.to_dict() for e in entries])
        return
    current = default_model()
    for entry in entries:
        size = f"{entry.size_bytes / 1e6:.0f} MB" if entry.size_bytes else next(
            (m.size for m in _known() if m.name == entry.name), "?")
        where = "offline" if entry.offline else "download first"
        mark = "*" if entry.name == current else " "
        out.print(f"{mark} {safe(entry.name):<40} {size:>8}  {where:<14} {entry.good_for}", highlight=False)
    out.print(f"(* = current model; imported folders go to {safe(models_dir())})", highlight=False)


@model_app.command("import")
def import_(
    checkpoint: Annotated[Path, typer.Argument(help="A LAION-CLAP checkpoint, e.g. 630k-audioset-best.pt.")],
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Folder to write (default: the user data "
                                                    "dir's models/<checkpoint name>).", show_default=False)] = None,
    fusion: Annotated[Optional[bool], typer.Option("--fusion/--no-fusion", help="Expect a fused (or unfused) "
                                                   "checkpoint; read from the file when not given.",
                                                   show_default=False)] = None,
    tokenizer: Annotated[Optional[Path], typer.Option("--tokenizer", help="Folder with roberta-base's tokenizer "
                                                      "(or any Hugging Face CLAP folder); default: the Hugging "
                                                      "Face cache.", show_default=False)] = None,
    json: Json = False,
) -> None:
    """Convert a LAION-CLAP checkpoint into a model folder for --model."""
    from traum.embedding.laion import import_checkpoint
    from traum.embedding.models import models_dir

    target = out_dir or models_dir() / checkpoint.stem
    result = import_checkpoint(checkpoint, target, fusion=fusion, tokenizer=tokenizer)
    if json:
        print_json({"out": str(result.out), "architecture": result.architecture.describe(),
                    "audio": result.architecture.audio, "fused": result.architecture.fused,
                    "tokenizer": result.tokenizer_source})
        return
    out.print(f"imported {safe(checkpoint.name)}: {result.architecture.describe()}; tokenizer from "
              f"{safe(result.tokenizer_source)}", highlight=False)
    out.print(f"use it with: traum index PATH --model {safe(result.out)}", highlight=False)


def _known():
    from traum.embedding.models import KNOWN_MODELS

    return KNOWN_MODELS
