"""What file and folder names say: producer shorthand for categories, tempo and key.

Sample packs put a lot in names: ``808bd``, ``hh27``, ``breaks125``, ``Bass_Loop_125_F#min.wav``.
These functions read that evidence; the acoustic analysis weighs it against the audio.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from itertools import pairwise

#: Producer taxonomy → words and shorthand that mean it. Whole-word matches; words of 4+ letters
#: also match inside compounds ("clubkick", "linnhats", "padlong").
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "kick": ("kick", "kicks", "kik", "kck", "bd", "bds", "bassdrum", "bassdrums", "bassdm", "bdrum", "kickdrum",
             "kickdrums"),
    "snare": ("snare", "snares", "snr", "snrs", "sn", "sd", "sds"),
    "clap": ("clap", "claps", "cp", "handclap", "handclaps", "clp"),
    "hihat": ("hihat", "hihats", "hat", "hats", "hh", "hhs", "oh", "ch", "hc", "openhat", "closedhat"),
    "cymbal": ("cymbal", "cymbals", "cym", "cyms", "ride", "rides", "crash", "crashes", "cr", "cy", "splash",
               "china"),
    "tom": ("tom", "toms", "lt", "mt", "ht", "floortom"),
    "percussion": ("perc", "percs", "percussion", "percussions", "conga", "congas", "bongo", "bongos", "shaker",
                   "shakers", "cowbell", "cb", "rim", "rimshot", "rimshots", "rs", "tamb", "tambourine", "clave",
                   "claves", "stomp", "maracas", "tabla", "woodblock", "triangle", "snap", "snaps"),
    "drum-loop": ("break", "breaks", "breakbeat", "amen", "drumloop", "beat", "beats", "groove", "amencutup"),
    "bass": ("bass", "basses", "sub", "subbass", "reese", "moog", "bassline"),
    "synth": ("synth", "synths", "arp", "arpy", "stab", "stabs", "rave", "juno", "pluck", "chord", "chords",
              "saw", "ravemono"),
    "pad": ("pad", "pads", "atmos", "drone", "texture", "padlong"),
    "lead": ("lead", "leads"),
    "keys": ("piano", "pianos", "pno", "keys", "keyboard", "keyboards", "kbd", "rhodes", "organ", "organs", "epiano",
             "wurli", "ep"),
    "guitar": ("guitar", "gtr", "gtrs", "guitars", "gtar", "strum"),
    "strings": ("string", "strings", "str", "strs", "violin", "violins", "vln", "cello", "cellos", "viola",
                "orchestra", "orchestral"),
    "brass": ("brass", "trumpet", "trumpets", "tpt", "horn", "horns", "sax", "saxes", "saxophone", "saxophones",
              "trombone", "trombones", "tbn", "tuba"),
    "vocal": ("vox", "vocal", "vocals", "voc", "vocs", "voice", "voices", "choir", "sing", "acapella", "adlib"),
    "speech": ("speech", "spoken", "talk", "numbers", "word", "words", "speak", "narration", "dialogue"),
    "fx": ("fx", "sfx", "efx", "effect", "effects", "riser", "risers", "sweep", "sweeps", "impact", "impacts",
           "whoosh", "whooshes", "glitch", "zap", "laser", "downlifter", "uplifter"),
    # Electronic blips apart from foley and risers: producers reach for them as sounds of their own.
    "synth-fx": ("bleep", "bleeps", "blip", "blips", "beep", "beeps", "synthfx"),
    "field-recording": ("field", "fieldrecording", "birds", "bird", "wind", "rain", "water", "nature", "ambience",
                        "outdoor", "forest", "street", "ocean", "waves", "insect", "insects", "thunder", "crowd"),
    "animal": ("animal", "animals", "dog", "bark", "sheep", "baa", "cat", "meow", "cow", "horse", "whale"),
    "noise": ("noise", "noises", "whitenoise", "pinknoise", "static", "hiss"),
}
CATEGORIES = tuple(CATEGORY_WORDS)

#: Words that name the same thing, spelled out, abbreviated or plural: each finds the others as surely
#: as itself (a query "saxophone" and a folder "sax"), while another word of the category only hints
#: (a trumpet is brass, not a saxophone). Every word here is also in CATEGORY_WORDS.
SYNONYMS: tuple[frozenset[str], ...] = tuple(frozenset(group) for group in (
    ("kick", "kicks", "kik", "kck", "bd", "bds", "bassdrum", "bassdrums", "bassdm", "bdrum", "kickdrum",
     "kickdrums"),
    ("snare", "snares", "snr", "snrs", "sn", "sd", "sds"),
    ("clap", "claps", "cp", "clp", "handclap", "handclaps"),
    ("hihat", "hihats", "hat", "hats", "hh", "hhs"),
    ("cymbal", "cymbals", "cym", "cyms", "cy"),
    ("tom", "toms"),
    ("percussion", "percussions", "perc", "percs"),
    ("rimshot", "rimshots", "rim", "rs"),
    ("shaker", "shakers"), ("conga", "congas"), ("bongo", "bongos"), ("clave", "claves"),
    ("tambourine", "tamb"), ("ride", "rides"), ("crash", "crashes"),
    # Pianos are filed under "Keys"; an electric piano is keys too, but not a piano to whoever asks for one.
    ("piano", "pianos", "pno", "keys", "keyboard", "keyboards", "kbd"),
    ("rhodes", "epiano", "ep"),
    ("organ", "organs"),
    ("guitar", "guitars", "gtr", "gtrs", "gtar"),
    ("string", "strings", "str", "strs"),
    ("violin", "violins", "vln"), ("cello", "cellos"),
    ("saxophone", "saxophones", "sax", "saxes"),
    ("trumpet", "trumpets", "tpt"), ("trombone", "trombones", "tbn"), ("horn", "horns"),
    ("vocal", "vocals", "vox", "voc", "vocs"),
    ("voice", "voices"),
    ("effect", "effects", "fx", "sfx", "efx"),
    ("riser", "risers"), ("sweep", "sweeps"), ("impact", "impacts"), ("whoosh", "whooshes"),
    ("synth", "synths"), ("pad", "pads"), ("lead", "leads"), ("stab", "stabs"), ("chord", "chords"),
    ("break", "breaks", "breakbeat"),
    ("bass", "basses"),
    ("bleep", "bleeps"), ("blip", "blips"), ("beep", "beeps"),
    ("bird", "birds"), ("noise", "noises"),
))
_SYNONYMS_OF = {word: group for group in SYNONYMS for word in group}

#: Phrases of two words that mean one category ("drum loop", "hi hat", "bass drum").
_PHRASES = {("drum", "loop"): "drum-loop", ("drum", "break"): "drum-loop", ("hi", "hat"): "hihat",
            ("bass", "drum"): "kick", ("open", "hat"): "hihat", ("closed", "hat"): "hihat",
            ("field", "recording"): "field-recording", ("sound", "effect"): "fx", ("synth", "fx"): "synth-fx"}
# Plurals of the second word ("hi hats", "drum loops", "sound effects") name the same.
_PHRASES |= {(first, second + "s"): category for (first, second), category in _PHRASES.items()
             if not second.endswith(("s", "x"))}

_WORD_TO_CATEGORY = {w: c for c, words in CATEGORY_WORDS.items() for w in words}
_LONG_WORDS = sorted((w for w in _WORD_TO_CATEGORY if len(w) >= 4), key=len, reverse=True)
#: Runs of letters (any script; a CJK run is one word, as SQLite FTS5's unicode61 tokenizer keeps it)
#: or of digits.
_WORD = re.compile(r"[^\W\d_]+|\d+")


def words(text: str) -> list[str]:
    """Case-folded words without diacritics, letters split from digits ("breaks125" → breaks, 125;
    "808bd" → 808, bd; "Überkick café" → uberkick, cafe). Folding matches FTS5's ``unicode61
    remove_diacritics 2``, so a word typed without its accent finds the name written with it."""
    return _WORD.findall(fold(text))


def fold(text: str) -> str:
    """Case-folded, compatibility-decomposed ("ﬁ" → fi, full-width digits → 0–9), accents dropped from
    Latin letters only, as unicode61 does: a Japanese voicing mark is part of the letter (プ is not フ)."""
    out: list[str] = []
    base = ""
    for char in unicodedata.normalize("NFKD", text.casefold()):
        if unicodedata.combining(char):
            if not _is_latin(base):
                out.append(char)
            continue
        base = char
        out.append(char)
    return unicodedata.normalize("NFC", "".join(out))


def _is_latin(char: str) -> bool:
    return char.isascii() or unicodedata.name(char, "").startswith("LATIN")


def categories_in(tokens: Iterable[str]) -> list[str]:
    """Categories named by words, without repeats: whole words before words inside compounds, and the
    last word first, since the head noun comes last ("808 sub kick" is a kick, "bass loop" a bass)."""
    return [c for c, _whole in _matches(list(tokens))]


def _matches(tokens: list[str]) -> list[tuple[str, bool]]:
    whole, partial = [], []
    for i, token in enumerate(tokens):
        phrase = _PHRASES.get((token, tokens[i + 1])) if i + 1 < len(tokens) else None
        category = phrase or _WORD_TO_CATEGORY.get(token)
        if category:
            whole.append(category)
        elif (category := category_of_word(token)) is not None:
            partial.append(category)
    found: list[tuple[str, bool]] = []
    for category, is_whole in [(c, True) for c in reversed(whole)] + [(c, False) for c in reversed(partial)]:
        if category not in [c for c, _ in found]:
            found.append((category, is_whole))
    return found


def synonyms(word: str) -> frozenset[str]:
    """``word`` and the words that name the same thing ("sax" → sax, saxes, saxophone, saxophones); a
    two-word name is looked up joined ("hi hat" → hihat, hh, hat …)."""
    return _SYNONYMS_OF.get(word, frozenset((word,)))


def with_synonyms(tokens: Iterable[str]) -> list[str]:
    """``tokens`` followed by every synonym of each and of each two-word phrase, without repeats."""
    tokens = list(tokens)
    joined = ["".join(pair) for pair in pairwise(tokens) if _PHRASES.get(pair)]
    found = dict.fromkeys(tokens)
    for token in tokens + joined:
        found.update(dict.fromkeys(sorted(synonyms(token))))
    return list(found)


def phrase_category(first: str, second: str) -> str | None:
    """The category two words name together ("hi hat" → hihat), else None."""
    return _PHRASES.get((first, second))


@functools.lru_cache(maxsize=65536)
def category_of_word(token: str) -> str | None:
    # Cached: ranking asks it of every word of every candidate's path (~4k calls a search), and the
    # substring scan over the long words is most of its cost.
    if token in _WORD_TO_CATEGORY:
        return _WORD_TO_CATEGORY[token]
    if len(token) >= 5:
        for word in _LONG_WORDS:
            if word in token:
                return _WORD_TO_CATEGORY[word]
    return None


_DEPTH_ORDER = (1, 0, 2, 3)


_CHUNK = re.compile(r"[a-z0-9]+")


def without_ids(text: str) -> str:
    """``text`` without hash- or uuid-like chunks ("3bd7c0e5a1", "tmpk3x9q2f"): split into words they
    yield shorthand by chance ("bd" = kick), and a renamed file must not get a category from noise."""
    def keep(match: re.Match[str]) -> str:
        chunk = match.group(0)
        flips = sum(a.isdigit() != b.isdigit() for a, b in pairwise(chunk))
        return " " if len(chunk) >= 8 and flips >= 3 else chunk
    return _CHUNK.sub(keep, text.lower())


def category_from_path(path: str) -> tuple[str | None, float]:
    """The category the file and folder names suggest. A whole word beats a word inside a compound;
    the sample's own folder counts most (that is where a pack maker or producer sorted it: a "hh3kick"
    in "hh" is a hi-hat kit's piece), then the file name, then the folders above."""
    parts = re.split(r"[\\/]", path)[-4:]
    best: tuple[tuple[bool, int], str] | None = None
    for depth, part in enumerate(reversed(parts)):
        for category, is_whole in _matches(words(without_ids(part.rsplit(".", 1)[0] if depth == 0 else part)))[:1]:
            rank = (is_whole, -_DEPTH_ORDER.index(depth))
            if best is None or rank > best[0]:
                best = (rank, category)
    if best is None:
        return None, 0.0
    (is_whole, neg_order), category = best
    return category, round((0.9, 0.85, 0.75, 0.6)[-neg_order] * (1.0 if is_whole else 0.85), 3)


def category_token(category: str) -> str:
    """A single search token for a category ("drum-loop" → "catdrumloop") that no real word collides with."""
    return "cat" + category.replace("-", "")


_BPM_PATTERNS = [
    re.compile(r"(?<!\d)(\d{2,3}(?:\.\d+)?)\s*-?\s*bpm", re.IGNORECASE),
    re.compile(r"bpm\s*-?\s*(\d{2,3}(?:\.\d+)?)(?!\d)", re.IGNORECASE),
    _BARE_NUMBER := re.compile(r"(?:^|[_\-\s])(\d{2,3})(?:[_\-\s]|$)"),
    re.compile(r"(?:break|breaks|loop|beat|groove)s?(\d{2,3})(?!\d)", re.IGNORECASE),
]


def bpm_from_name(path: str) -> float | None:
    """A tempo written in the file or folder name ("125bpm", "_125_", "breaks125"), 50–220 BPM."""
    parts = re.split(r"[\\/]", path)[-3:]
    for part in reversed(parts):
        stem = part.rsplit(".", 1)[0] if part is parts[-1] else part
        for pattern in _BPM_PATTERNS:
            if pattern is _BARE_NUMBER and len(re.findall(r"\d+", stem)) != 1:
                continue  # "198-209-0000" is an id, not a tempo: a bare number counts only when alone
            for match in pattern.finditer(stem):
                value = float(match.group(1))
                if 50 <= value <= 220:
                    return value
    return None


_NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
_KEY = re.compile(r"(?:^|[_\-\s(])([A-G])([#b]|sharp|flat)?\s?(maj(?:or)?|min(?:or)?|m(?!aj)|M)?(?=$|[_\-\s).])")


def key_from_name(path: str) -> tuple[str, str] | None:
    """A key written in a file name ("Am", "F#min", "Cmaj", "in F sharp minor") as (tonic, mode)."""
    name = re.split(r"[\\/]", path)[-1].rsplit(".", 1)[0]
    spelled = re.search(r"(?:^|[^a-z])([A-G])[ _-]?(sharp|flat)?[ _-]?(major|minor)(?![a-z])", name, re.IGNORECASE)
    if spelled:
        tonic = spelled.group(1).upper() + {"sharp": "#", "flat": "b"}.get((spelled.group(2) or "").lower(), "")
        return normalise_tonic(tonic), spelled.group(3).lower()
    for match in _KEY.finditer(name):
        tonic, accidental, mode = match.groups()
        if mode is None:
            continue  # a bare letter is too often not a key ("A" for take A, "B" side)
        accidental = {"sharp": "#", "flat": "b"}.get(accidental or "", accidental or "")
        major = mode.lower().startswith("maj") or mode == "M"
        return normalise_tonic(tonic + accidental), "major" if major else "minor"
    return None


def normalise_tonic(tonic: str) -> str:
    tonic = _FLATS.get(tonic, tonic)
    if tonic in ("E#", "B#", "Cb", "Fb"):
        tonic = {"E#": "F", "B#": "C", "Cb": "B", "Fb": "E"}[tonic]
    return tonic


def pitch_class(tonic: str) -> int:
    return _NOTE_NAMES.index(normalise_tonic(tonic))


def note_name(pc: int) -> str:
    return _NOTE_NAMES[pc % 12]

