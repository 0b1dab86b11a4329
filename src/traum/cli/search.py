"""traum search TEXT, traum similar FILE_OR_ID"""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated, Optional

import typer

from traum.cli.console import notice, out, print_json, safe
from traum.cli.options import Db, Json, Model


class Quality(StrEnum):
    ok = "ok"
    issues = "issues"


K = Annotated[int, typer.Option("-k", "--top", min=1, max=1000, help="How many results.")]


def search(
    text: Annotated[str, typer.Argument(help="What you are looking for, e.g. \"punchy kick 125 bpm in A minor\".")],
    db: Db = None,
    k: K = 10,
    model: Model = None,
    bpm: Annotated[Optional[str], typer.Option("--bpm", help="Tempo: 125 (±4%) or a range 120-128.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Key: Am, F#m, C major …")] = None,
    category: Annotated[Optional[str], typer.Option("--category", help="kick, snare, pad, … (a filter).")] = None,
    min_duration: Annotated[Optional[float], typer.Option("--min-duration", help="Seconds.")] = None,
    max_duration: Annotated[Optional[float], typer.Option("--max-duration", help="Seconds.")] = None,
    loop: Annotated[Optional[bool], typer.Option("--loop/--one-shot", help="Only loops, or only one-shots.",
                                                 show_default=False)] = None,
    half_double: Annotated[bool, typer.Option("--half-double", help="Also match half and double tempo.")] = False,
    compatible: Annotated[bool, typer.Option("--compatible",
                                             help="Also match relative and Camelot-neighbour keys.")] = False,
    quality: Annotated[Optional[Quality], typer.Option("--quality", help="ok: no quality issues (clipping, "
                                                       "DC offset, silence …); issues: only files with some.",
                                                       show_default=False)] = None,
    min_lufs: Annotated[Optional[float], typer.Option("--min-lufs", help="Integrated loudness floor, LUFS.",
                                                      show_default=False)] = None,
    max_lufs: Annotated[Optional[float], typer.Option("--max-lufs", help="Integrated loudness ceiling, LUFS.",
                                                      show_default=False)] = None,
    names_only: Annotated[bool, typer.Option("--names-only", help="Match file and folder names only: no model "
                                                                  "is loaded, so it answers at once.")] = False,
    fact: Annotated[Optional[list[str]], typer.Option("--fact", help="A plugin fact: brightness>=0.3, "
                                                      "mood=dark or has_vocals (repeat: all must hold).",
                                                      show_default=False)] = None,
    explain: Annotated[bool, typer.Option("--explain",
                                          help="Show how the query was read, why results rank and where the "
                                                "time went.")] = False,
    json: Json = False,
) -> None:
    """Find samples by describing them, filtered by tempo, key, category and length."""
    from traum import api

    imported = time.perf_counter()

    # Passed only when given, so an engine without loudness facts still serves every other search.
    extra = {name: value for name, value in (("quality_ok", None if quality is None else quality == Quality.ok),
                                             ("min_lufs", min_lufs), ("max_lufs", max_lufs),
                                             ("facts", fact or None)) if value is not None}
    result = api.search(text, db=db, k=k, model=model, bpm=bpm, key=key, category=category,
                        min_duration=min_duration, max_duration=max_duration, loop=loop, half_double=half_double,
                        compatible_keys=compatible, names_only=names_only, warm=True, **extra)
    result.timings = {"start-up and imports": _since_start(imported), **result.timings}
    _show(result, json=json, explain=explain, facts=_fact_names(fact or []))


def _fact_names(conditions: list[str]) -> list[str]:
    """The plugin facts a search filtered by get a column each; other facts are in --json only."""
    from traum.catalog.facts import FactCondition

    return list(dict.fromkeys(FactCondition.parse(c).name for c in conditions))


def _since_start(moment: float) -> float:
    """Seconds from the process start to ``moment`` (a perf_counter reading)."""
    import os

    try:  # Linux: the process start time, in clock ticks since boot
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
            before = float(uptime.read().split()[0]) - ticks / os.sysconf("SC_CLK_TCK")
        return max(0.0, before - (time.perf_counter() - moment))
    except (OSError, ValueError, IndexError):
        return 0.0


def similar(
    target: Annotated[str, typer.Argument(help="A catalogued sample (id, id prefix or path) or any audio file.")],
    db: Db = None,
    k: K = 10,
    model: Model = None,
    json: Json = False,
) -> None:
    """Find samples that sound like this one."""
    from traum import api

    _show(api.similar(target, db=db, k=k, model=model), json=json)


def _show(result, *, json: bool, explain: bool = False, facts: list[str] | None = None) -> None:
    if result.notice:
        notice(result.notice)
    if json:
        hits = [h.to_dict() for h in result.hits]
        print_json({"query": result.explain(), "results": hits} if explain else hits)
        return
    if explain:
        info = result.explain()
        out.print(safe(f"read as: text {info['semantic_text']!r}; " + ("; ".join(info["notes"]) or "no facts") +
                       f"; mode {info['mode']}, weights {info['weights']}"), highlight=False)
        if info.get("timings_ms"):
            steps = ", ".join(f"{step} {ms:.0f} ms" + (f" ({info['text_vector']})" if step == "text vector" else "")
                              for step, ms in info["timings_ms"].items())
            out.print(safe(f"time: {steps}"), highlight=False)
    show_hits(result.hits, explain=explain, facts=facts or [])


def show_hits(hits, *, explain: bool = False, facts: list[str] | None = None) -> None:
    from rich.table import Table

    if not hits:
        out.print("no matches")
        return
    table = Table(box=None, header_style="bold")
    facts = facts or []
    columns = ["#", "score", "path", "duration", "bpm", "key", "category", *facts] + (["why"] if explain else [])
    for name in columns:
        # Fold, never ellipsise: the end of a path (the file name) is what matters most.
        table.add_column(name, justify="right" if name in ("#", "score", "duration", "bpm") else "left",
                         overflow="fold")
    for hit in hits:
        x = hit.extra
        offset = f" @{x['offset']:.0f}s" if x.get("offset") else ""
        row = [str(hit.rank), f"{hit.score:.3f}", safe(hit.path) + offset,
               f"{hit.duration:.2f} s" if hit.duration is not None else "",
               f"{x['bpm']:g}" if x.get("bpm") else "", safe(x.get("key") or ""), safe(x.get("category") or ""),
               *(fact_cell(x.get("facts", {}).get(name)) for name in facts)]
        if explain:
            row.append(" ".join(f"{k[:3]}={v:.2f}" for k, v in x.get("components", {}).items()))
        table.add_row(*row)
    out.print(table)


def fact_cell(value: object) -> str:
    """A plugin fact in a table cell: numbers to 3 digits, lists as words."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list):
        return safe(", ".join(map(str, value)))
    return safe(str(value))
