"""Where the CLI writes: results to stdout, notices and errors to stderr.

Anything that came from the user or the disk (file names, tags, queries, error messages quoting
them) goes through :func:`safe` before Rich sees it: a file called ``pack[/bad].wav`` must not be read
as markup, a name with terminal escape sequences must not drive the terminal, and a name that is not
valid UTF-8 (surrogate-escaped by ``os.fsdecode``) must print, not crash.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# ESC-introduced sequences (CSI, OSC up to BEL or ST, and two-byte escapes), then any other C0/C1 control.
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|[\x00-\x1f\x7f-\x9f]")


def display(text: object) -> str:
    """A printable form of ``text``: undecodable bytes as U+FFFD, control sequences removed."""
    from traum.catalog.paths import display as display_path  # lazy: `traum --help` imports no numpy

    return _CONTROL.sub("", display_path(str(text)))


def safe(text: object) -> str:
    """``text`` made printable and escaped for Rich markup."""
    return escape(display(text))


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False, default=_default)
    # Surrogate-escaped paths are valid in JSON only as their display form (the id is the exact handle).
    from traum.catalog.paths import display as display_path

    sys.stdout.write(display_path(text) + "\n")


def notice(text: str) -> None:
    err.print(f"[yellow]note:[/] {safe(text)}", highlight=False, markup=True)


def failed(path: object, why: object, *, label: str = "failed", style: str = "red") -> None:
    err.print(f"[{style}]{label}[/] {safe(path)}: {safe(why)}", highlight=False)


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return [round(float(x), 7) for x in value]
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
