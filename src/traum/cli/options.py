"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

Db = Annotated[Optional[Path], typer.Option("--db", envvar="TRAUM_DB", help="Catalog file (default: user data dir).",
                                            show_default=False)]
Model = Annotated[Optional[str], typer.Option("--model", envvar="TRAUM_MODEL",
                                              help="CLAP model: Hugging Face id or local folder in HF format.",
                                              show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
