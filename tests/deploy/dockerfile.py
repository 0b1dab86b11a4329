"""A Dockerfile as data: stages of (instruction, arguments), for tests of deploy/Dockerfile's structure.

Hand-written rather than a parser package: the tests need continuation lines joined, comments and
parser directives dropped and stages split, which is all this does; the syntax itself is hadolint's job.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]

    def last(self, instruction: str) -> str:
        found = self.all(instruction)
        assert found, f"stage {self.name}: no {instruction}"
        return found[-1]


@dataclass
class Dockerfile:
    global_args: list[str]
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def parse(path: Path) -> Dockerfile:
    global_args: list[str] = []
    stages: list[Stage] = []
    for line in _logical_lines(path.read_text()):
        instruction, _, args = line.partition(" ")
        instruction, args = instruction.upper(), args.strip()
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
        elif stages:
            stages[-1].instructions.append((instruction, args))
        elif instruction == "ARG":
            global_args.append(args)
    return Dockerfile(global_args, stages)


def _logical_lines(text: str) -> list[str]:
    lines, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments (and parser directives) may sit inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1].strip() + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def exec_form(args: str) -> list[str]:
    """["a", "b"] (exec form) or a b (shell form, split as the shell would)."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)
