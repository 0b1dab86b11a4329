"""traum embed FILE... | --text TEXT"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from traum.cli.console import err, out, print_json, safe
from traum.cli.options import Json, Model


def embed(
    files: Annotated[Optional[list[Path]], typer.Argument(help="Audio files.", show_default=False)] = None,
    text: Annotated[Optional[list[str]], typer.Option("--text", help="Embed this text instead (repeatable).",
                                                      show_default=False)] = None,
    model: Model = None,
    windows: Annotated[Optional[str], typer.Option("--windows", help="Model windows per file at most, or all "
                                                   "(as traum index; default: TRAUM_WINDOWS, 3).",
                                                   show_default=False)] = None,
    json: Json = False,
    output: Annotated[Optional[Path], typer.Option("--out", help="Write an (n, 512) float32 .npy file.",
                                                   show_default=False)] = None,
) -> None:
    """Print or save CLAP embeddings of audio files or texts."""
    import numpy as np

    from traum import api
    from traum.cli.inputs import require_inputs

    if bool(files) == bool(text):
        raise typer.BadParameter("give audio files or --text, not both (and not neither)")
    if text:
        records = [{"text": t, "embedding": v} for t, v in zip(text, api.embed_text(text, model=model), strict=True)]
    else:
        require_inputs(files or [], files_only=True)
        api.window_budget(windows)
        records = api.embed(files or [], model=model, windows=windows)
    if output:
        np.save(output, np.stack([r["embedding"] for r in records]).astype(np.float32))
        err.print(f"wrote {len(records)} embeddings to {safe(output)}", highlight=False)
    elif json:
        print_json(records)
    else:
        for record in records:
            vec = record["embedding"]
            head = " ".join(f"{x:+.4f}" for x in vec[:6])
            out.print(f"{safe(record.get('path') or record.get('text'))}  \\[{len(vec)}-d] {head} …", highlight=False)
