"""docs/plugins.md documents every hook a plugin can implement."""

from __future__ import annotations

import inspect
import re

from tests.helpers import REPO


def test_every_hook_spec_is_documented_with_its_arguments():
    from traum.plugins import hookspecs

    doc = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    headings = dict(re.findall(r"^### `(\w+)\(([^)]*)\)`", doc, re.MULTILINE))
    specs = {name: ", ".join(inspect.signature(fn).parameters) for name, fn in vars(hookspecs).items()
             if callable(fn) and hasattr(fn, "traum_spec")}
    assert specs, "no hook specs found"
    assert headings == specs
