"""Paths whose bytes are not UTF-8 must round-trip through the catalog (issue 12.1)."""

from __future__ import annotations

import os

from tests.catalog.conftest import assert_index_in_step, record, vector
from traum.catalog import Catalog
from traum.catalog.paths import display, from_db, to_db
from traum.catalog.store import PathOutcome


def test_storage_form_keeps_text_readable_and_bytes_exact(odd_name):
    assert to_db("/lib/Überkick.wav") == "/lib/Überkick.wav"
    stored = to_db(odd_name)
    assert isinstance(stored, bytes) and stored == os.fsencode(odd_name)
    assert from_db(stored) == odd_name
    assert "\ufffd" in display(odd_name) and display(odd_name).encode("utf-8")


def test_a_non_utf8_path_round_trips_through_the_catalog(db, odd_name):
    stem, outcome = record(odd_name)
    with Catalog(db) as catalog:
        catalog.write_batch([stem], [outcome], [(stem.id, vector(1), [], "m")])
        state = catalog.file_state(odd_name)
        assert state is not None and state.path == odd_name and state.status == "indexed"
        assert catalog.paths_of(stem.id) == [odd_name]
        [row] = catalog.stems()
        assert row["path"] == odd_name and row["filename"] == os.path.basename(odd_name)
        assert catalog.stem_by_path(odd_name) == stem.id
        root = os.path.dirname(os.path.dirname(odd_name))
        assert list(catalog.paths_under([root])) == [odd_name]
        assert list(catalog.paths_under([os.path.dirname(odd_name)])) == [odd_name]
        assert catalog.pending_stems() == []
        # Its words are searchable, and the hit names the exact path.
        assert catalog.lexical('"kick"') == [(stem.id, catalog.lexical('"kick"')[0][1], odd_name)]
        assert "\ufffd" not in catalog.conn.execute("SELECT search_text FROM processing_status").fetchone()[0]


def test_duplicates_missing_and_failures_with_non_utf8_paths(db, odd_name, tmp_path):
    twin = odd_name.replace("kick", "copy")
    os.link(os.fsencode(odd_name), os.fsencode(twin))
    stem, first = record(odd_name)
    _, second = record(twin)
    broken = os.fsdecode(os.fsencode(str(tmp_path)) + b"/bad\xff.wav")
    with Catalog(db) as catalog:
        catalog.write_batch([stem], [first, second, PathOutcome(broken, "failed", error="corrupt")])
        assert catalog.exact_duplicates() == [sorted([odd_name, twin])]
        assert catalog.failures() == [(broken, "failed", "corrupt")]
        assert catalog.mark_missing([odd_name]) == 1
        assert catalog.file_state(odd_name).status == "missing"
        assert catalog.stem(stem.id)["path"] == twin
        assert catalog.paths_of(stem.id) == [twin]
        assert [p for _i, _s, p in catalog.lexical('"kick"')] == []
        assert [p for _i, _s, p in catalog.lexical('"copy"')] == [twin]
        catalog.set_user_tags(stem.id, ["thump"])
        catalog.write_batch([], [first])  # the path is back
        assert [p for _i, _s, p in catalog.lexical('"thump" AND "kick"')] == [odd_name]
        assert_index_in_step(catalog)
