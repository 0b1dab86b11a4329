"""Facts about a sound, as pure functions: samples (or names) in, facts out. No database here."""

from __future__ import annotations

from typing import Any


def facts_for(path: str, decoded: Any | None) -> dict[str, Any]:
    """The catalog facts for one file: what its name says (category, tempo, key), for now."""
    from traum.analysis.names import bpm_from_name, category_from_path, key_from_name

    category, confidence = category_from_path(path)
    key = key_from_name(path)
    bpm = bpm_from_name(path)
    return {"category": category, "category_confidence": confidence if category else None,
            "bpm": bpm, "tempo_confidence": 0.6 if bpm else None,
            "key": f"{key[0]} {key[1]}" if key else None}
