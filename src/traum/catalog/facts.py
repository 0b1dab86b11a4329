"""Plugin facts (table ``stem_facts``): written with their stem, read back, and searched with
conditions a producer can type: ``brightness>=0.3``, ``mood=dark``, ``has_vocals``.

A fact's value is JSON; conditions compare numbers with numbers and words with words (case-insensitive),
and ``name=value`` on a list fact matches when the list holds the value.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from traum.errors import QueryError

if TYPE_CHECKING:
    from traum.catalog.store import Catalog

#: Key of a StemRecord's facts carrying {fact name: (JSON value, plugin name)} (see traum.plugins.analysis).
PLUGIN_FACTS = "plugin_facts"
OPERATORS = (">=", "<=", "!=", "=", ">", "<")
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(?:(>=|<=|!=|==|=|>|<|:)\s*(.+?))?\s*$")


@dataclass(frozen=True, slots=True)
class FactCondition:
    """One condition on a plugin fact; ``op`` None: the sample has the fact at all."""

    name: str
    op: str | None = None
    value: float | str | None = None

    @classmethod
    def parse(cls, text: str) -> FactCondition:
        """``name>=0.3``, ``name<0``, ``name=dark`` (or ``name:dark``), ``name!=dark``, or ``name``."""
        match = _CONDITION.match(text)
        if not match:
            raise QueryError(f"cannot read fact condition {text!r}; write it like brightness>=0.3, mood=dark "
                             "or has_vocals")
        name, op, raw = match.groups()
        if op is None:
            return cls(name)
        op = {"==": "=", ":": "="}.get(op, op)
        value = _number(raw)
        if value is None and op not in ("=", "!="):
            raise QueryError(f"fact condition {text!r} compares {raw!r} with {op}; give a number, e.g. {name}{op}0.5")
        return cls(name, op, raw.strip().strip("'\"") if value is None else value)

    def __str__(self) -> str:
        return self.name if self.op is None else f"{self.name}{self.op}{self.value:g}" if isinstance(
            self.value, float) else f"{self.name}{self.op}{self.value}"


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def condition_sql(c: FactCondition) -> tuple[str, list[Any]]:
    """SQL over stems ``s``: true when the stem's fact satisfies ``c``."""
    head = "EXISTS (SELECT 1 FROM stem_facts f WHERE f.stem_id = s.id AND f.name = ?"
    if c.op is None:
        return head + ")", [c.name]
    if isinstance(c.value, float):
        number = "json_type(f.value) IN ('integer', 'real', 'true', 'false')"
        if c.op == "!=":
            return f"NOT {head} AND {number} AND json_extract(f.value, '$') = ?)", [c.name, c.value]
        return f"{head} AND {number} AND json_extract(f.value, '$') {c.op} ?)", [c.name, c.value]
    same = ("(json_type(f.value) = 'text' AND lower(json_extract(f.value, '$')) = lower(?) OR "
            "json_type(f.value) = 'array' AND EXISTS (SELECT 1 FROM json_each(f.value) j "
            "WHERE j.type = 'text' AND lower(j.value) = lower(?)))")
    if c.op == "!=":
        return f"NOT {head} AND {same})", [c.name, c.value, c.value]
    return f"{head} AND {same})", [c.name, c.value, c.value]


def conditions_sql(conditions: tuple[FactCondition, ...]) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for c in conditions:
        sql, values = condition_sql(c)
        clauses.append(sql)
        params += values
    return " AND ".join(clauses) or "1", params


def write_stem_facts(conn: sqlite3.Connection, stem_id: str, facts: dict[str, Any]) -> None:
    """Replace the stem's plugin facts with ``facts[PLUGIN_FACTS]``, in the caller's transaction.
    A stem analysed without plugins (facts from its name only) keeps the ones it has."""
    found: dict[str, tuple[Any, str]] | None = facts.get(PLUGIN_FACTS)
    if found is None:
        return
    conn.execute("DELETE FROM stem_facts WHERE stem_id = ?", (stem_id,))
    conn.executemany("INSERT INTO stem_facts (stem_id, name, value, plugin) VALUES (?, ?, ?, ?)",
                     [(stem_id, name, json.dumps(value), plugin) for name, (value, plugin) in found.items()])


def stem_facts(catalog: Catalog, stem_id: str) -> dict[str, Any]:
    """{fact name: value} of one stem."""
    rows = catalog.conn.execute("SELECT name, value FROM stem_facts WHERE stem_id = ? ORDER BY name", (stem_id,))
    return {name: json.loads(value) for name, value in rows}


def facts_of(catalog: Catalog, stem_ids: list[str]) -> dict[str, dict[str, Any]]:
    """{stem id: {fact name: value}} for a page of results; a stem without plugin facts maps to {}."""
    out: dict[str, dict[str, Any]] = {stem_id: {} for stem_id in stem_ids}
    for start in range(0, len(stem_ids), 500):
        chunk = stem_ids[start:start + 500]
        rows = catalog.conn.execute(f"SELECT stem_id, name, value FROM stem_facts WHERE stem_id IN "
                                    f"({','.join('?' * len(chunk))}) ORDER BY stem_id, name", chunk)
        for stem_id, name, value in rows:
            out[stem_id][name] = json.loads(value)
    return out


def facts_by_plugin(catalog: Catalog, stem_id: str) -> dict[str, dict[str, Any]]:
    """{plugin name: {fact name: value}} of one stem."""
    out: dict[str, dict[str, Any]] = {}
    for name, value, plugin in catalog.conn.execute(
            "SELECT name, value, plugin FROM stem_facts WHERE stem_id = ? ORDER BY plugin, name", (stem_id,)):
        out.setdefault(plugin, {})[name] = json.loads(value)
    return out


def fact_names(catalog: Catalog) -> dict[str, int]:
    """Every fact name in the catalog and how many samples have it."""
    return dict(catalog.conn.execute("SELECT name, count(*) FROM stem_facts GROUP BY name ORDER BY name"))
