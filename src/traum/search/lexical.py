"""How well a query names a sample, on an absolute scale: 1 when the query's words are exactly a
folder's or the file's name, less when they only appear among other words, 0 when absent.

BM25 (FTS5) finds the candidates, but its scores have no fixed top: the best of a query scores 1.0
after normalising by the best, however weak. This measure is the product of two shares a producer
can check by eye (docs/search.md):

- *coverage*: the share of the query's terms found in the sample's words — a word or one of its
  synonyms (:data:`traum.vocabulary.SYNONYMS`: "kick" finds "bd", "saxophone" finds "sax") counts 1,
  another word of the same category (a "trumpet" for "saxophone") counts :data:`CATEGORY_COVER`;
- *exactness*: the best share, over the name's parts (its last folders, the file name, each tag),
  of that part's words the query names; numbering ("000", "0001") is not counted against a part.

    match = coverage × (1 + exactness) / 2

"808" against ``808/CB.WAV`` → 1 × (1 + 1)/2 = 1; against ``808bd/BD0000.WAV`` → 1 × (1 + ½)/2 = 0.75.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from traum.vocabulary import (
    categories_in,
    category_of_word,
    category_token,
    phrase_category,
    synonyms,
    with_synonyms,
    words,
)

#: The last word of a query this long may be unfinished (as-you-type): a name word it begins counts.
PREFIX_MIN = 3
#: How much of a term a name covers when it holds only another word of the term's category.
CATEGORY_COVER = 0.8


@dataclass(frozen=True, slots=True)
class Term:
    words: tuple[str, ...]
    category: str | None
    #: The query's last word, which may be the start of a name word.
    prefix: bool = False
    #: Words that name the same thing ("hi hat": hihat, hh, hats …; "sax": saxophone …).
    synonyms: frozenset[str] = frozenset()


def fts_match(tokens: Sequence[str]) -> str:
    """The FTS5 MATCH expression for a query's words: any word, synonym or named category's token;
    the last word also as a prefix (as-you-type)."""
    # Synonyms as words of their own: "saxophone" finds a folder "sax" before the rest of the brass.
    terms = list(dict.fromkeys(with_synonyms(tokens) + [category_token(c) for c in categories_in(tokens)]))
    match = " OR ".join(f'"{t}"' for t in terms)
    if len(tokens[-1]) >= PREFIX_MIN:
        match += f' OR "{tokens[-1]}"*'
    return match


def query_terms(tokens: Sequence[str]) -> list[Term]:
    """Query words, with two-word category phrases ("hi hat", "drum loop") as one term."""
    terms: list[Term] = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens) and (category := phrase_category(tokens[i], tokens[i + 1])):
            terms.append(Term((tokens[i], tokens[i + 1]), category, synonyms=synonyms(tokens[i] + tokens[i + 1])))
            i += 2
            continue
        last = i == len(tokens) - 1 and len(tokens[i]) >= PREFIX_MIN
        terms.append(Term((tokens[i],), category_of_word(tokens[i]), last, synonyms(tokens[i])))
        i += 1
    return terms


def name_parts(path: str, tags: Iterable[str] = ()) -> list[list[str]]:
    """The words of each part of a name lexical search sees: the last three folders, the file name
    without its extension, and each tag."""
    parts = re.split(r"[\\/]", path)[-4:]
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    return [w for w in (words(p) for p in [*parts, *tags]) if w]


def name_match(terms: Sequence[Term], parts: Sequence[Sequence[str]]) -> float:
    """coverage × (1 + exactness) / 2, in [0, 1]."""
    if not terms or not parts:
        return 0.0
    present = {w for part in parts for w in part}
    categories = {c for part in parts for c in _categories(part)}
    covered = sum(_covers(t, present, categories) for t in terms)
    exactness = max(_exactness(terms, part) for part in parts)
    return covered / len(terms) * (1 + exactness) / 2


def _covers(term: Term, present: set[str], categories: set[str]) -> float:
    if all(w in present for w in term.words) or term.synonyms & present:
        return 1.0
    if term.prefix and any(w.startswith(term.words[0]) for w in present):
        return 1.0
    return CATEGORY_COVER if term.category is not None and term.category in categories else 0.0


def _categories(part: Sequence[str]) -> set[str]:
    found = {c for w in part if (c := category_of_word(w))}
    found |= {c for a, b in pairwise(part) if (c := phrase_category(a, b))}
    return found


def _exactness(terms: Sequence[Term], part: Sequence[str]) -> float:
    named_words = {w for t in terms for w in (*t.words, *t.synonyms)}
    named_categories = {t.category for t in terms if t.category}
    prefixes = [t.words[0] for t in terms if t.prefix]
    counted = named = 0
    for word in part:
        is_named = (word in named_words or category_of_word(word) in named_categories
                    or any(word.startswith(p) for p in prefixes))
        if is_named:
            named += 1
            counted += 1
        elif not word.isdigit():
            counted += 1
    return named / counted if counted else 0.0
