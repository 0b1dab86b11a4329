import pytest

from traum.search.query import QueryError, parse_query, related_keys


def test_a_producer_query_is_read_into_text_and_facts():
    q = parse_query("punchy kick 125 bpm in A minor")
    assert q.text == "punchy kick"
    assert q.bpm == pytest.approx((120.0, 130.0))
    assert q.keys == ["A minor"] and q.text_categories == ["kick"]


@pytest.mark.parametrize("text, keys", [("pad Am", ["A minor"]), ("bass F#min", ["F# minor"]),
                                        ("lead in Eb major", ["D# major"]), ("keys in C", ["C major"]),
                                        ("I am a kick", []), ("a dusty snare", [])])
def test_keys_are_read_without_mistaking_words_for_keys(text, keys):
    assert parse_query(text).keys == keys


def test_ranges_durations_and_loops():
    q = parse_query("bass loop 120-128 bpm under 4s")
    assert q.bpm == (120, 128) and q.max_duration == 4 and q.loop is True and q.text == "bass loop"
    assert parse_query("snare one shot").loop is False
    assert parse_query("drum loop").loop is None  # a category, not the loop filter


def test_flags_win_and_are_checked():
    q = parse_query("kick", bpm="120-128", key="F#m", category="bd", max_duration=2)
    assert q.bpm == (120, 128) and q.keys == ["F# minor"] and q.category == "kick" and q.max_duration == 2
    with pytest.raises(QueryError):
        parse_query("kick", key="H minor")
    with pytest.raises(QueryError):
        parse_query("kick", bpm="fast")
    with pytest.raises(QueryError):
        parse_query("kick", category="banana")


def test_compatible_keys_are_relative_and_camelot_neighbours():
    assert related_keys("A", "minor") == ["A minor", "C major", "E minor", "D minor"]
