"""Where the CLI writes: results to stdout, notices and errors to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=_default) + "\n")


def notice(text: str) -> None:
    err.print(f"[yellow]note:[/] {text}", highlight=False, markup=True)


def _default(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return [round(float(x), 7) for x in value]
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
