"""A Rich progress bar for the indexing job (files/s and ETA)."""

from __future__ import annotations

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from traum.cli.console import err, notice, safe


class _Rate(TextColumn):
    def __init__(self) -> None:
        super().__init__("")

    def render(self, task: Task) -> Text:
        # Completed over elapsed: Rich's windowed speed jumps wildly when a batch commits at once.
        elapsed = task.finished_time if task.finished else task.elapsed
        speed = task.completed / elapsed if elapsed and elapsed > 0.5 else None
        return Text(f"{speed:6.1f} files/s" if speed else "   … files/s", style="progress.data.speed")


class BarProgress:
    def __init__(self) -> None:
        self._bar = Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                             _Rate(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                             console=err, transient=False)
        self._task: TaskID | None = None

    def start(self, total: int) -> None:
        if total:
            self._bar.start()
            self._task = self._bar.add_task("index", total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._bar.advance(self._task, n)

    def notice(self, text: str) -> None:
        if self._task is None:
            notice(text)
        else:
            self._bar.console.print(f"[yellow]note:[/] {safe(text)}", highlight=False)

    def stop(self) -> None:
        self._bar.stop()
