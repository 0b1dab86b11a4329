"""The lexical search document of a catalogued path: the words FTS5 indexes for it.

Documents are derived data, rebuilt by :meth:`Catalog.refresh_documents` whenever
:data:`DOCUMENT_VERSION` changes; migrations never call this module (a released migration must
behave the same whatever live code becomes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from traum.catalog.paths import display

#: Bump when :func:`path_document` changes: catalogs rebuild their documents on the next open.
#: 2: the same accent-folding word splitter as queries (traum.vocabulary.words); 3: spelled-out
#: instrument names (saxophone, keyboard, violins) carry their category token; 4: more abbreviations and
#: plurals (pno, kbd, tpt, saxes, cyms …) in traum.vocabulary.
DOCUMENT_VERSION = 4

#: An analysed category joins the search words only when this sure: a guess from acoustics alone
#: (a speech snippet heard as a snare) must not match like a folder named "sn".
DOCUMENT_CATEGORY_CONFIDENCE = 0.7

def path_document(path: str, tags: str | None = None, user_tags: str | None = None,
                  category: str | None = None, confidence: float | None = None) -> str:
    """Words of ``path`` (last folders and file name) and of its stem's tags as stored (JSON lists or
    plain text), plus a category token for every category they name and for a sure analysed one."""
    # One word splitter for documents and queries, so what is typed finds what is written.
    from traum.vocabulary import categories_in, category_token, words

    parts = re.split(r"[\\/]", display(path))[-4:]
    tokens = words(" ".join([*parts[:-1], parts[-1].rsplit(".", 1)[0]]))
    for tag in tag_list(tags) + tag_list(user_tags):
        tokens += words(tag)
    sure = [category] if category and (confidence or 0) >= DOCUMENT_CATEGORY_CONFIDENCE else []
    cats = categories_in(tokens) + sure
    return " ".join(tokens + [category_token(c) for c in dict.fromkeys(cats)])


def tag_list(value: str | None) -> list[str]:
    if not value:
        return []
    try:
        parsed = json.loads(value)
    except ValueError:
        return [value]
    items: Iterable[object] = parsed if isinstance(parsed, list) else [parsed]
    return [str(t) for t in items]
