"""Matching query words against file and folder names."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z]+|\d+")


def words(text: str) -> list[str]:
    """Lower-case words, splitting letters from digits ("breaks125" → breaks, 125)."""
    return _WORD.findall(text.lower())


def name_score(query_words: list[str], path: str) -> float:
    """Share of query words found among the path's words (prefix matches count half)."""
    if not query_words:
        return 0.0
    have = set(words(path))
    score = 0.0
    for word in query_words:
        if word in have:
            score += 1.0
        elif len(word) >= 3 and any(w.startswith(word) for w in have):
            score += 0.5
    return score / len(query_words)
