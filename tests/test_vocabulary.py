import csv
import json

import pytest

from tests.helpers import CORPUS
from traum.catalog.documents import path_document
from traum.vocabulary import (
    bpm_from_name,
    categories_in,
    category_from_path,
    key_from_name,
    words,
)


@pytest.mark.parametrize("path, category", [
    ("/s/bd/BT0A0A7.wav", "kick"), ("/s/808bd/BD0000.WAV", "kick"), ("/s/hh27/000_hh.wav", "hihat"),
    ("/s/Drums/Kicks/808 sub kick.wav", "kick"), ("/s/jungbass/011_shiphorn_tekstep_bass.wav", "bass"),
    ("/s/clubkick/1.wav", "kick"), ("/s/linnhats/2.wav", "hihat"), ("/s/padlong/x.wav", "pad"),
    ("/s/hh/006_hh3kick2.wav", "hihat"), ("/s/misc/take 3.wav", None)])
def test_producer_shorthand(path, category):
    assert category_from_path(path)[0] == category


def test_corpus_folders_are_mostly_right_from_names_alone():
    with open(CORPUS / "labels.csv") as f:
        labels = {r["folder"]: r["category"] for r in csv.DictReader(f)}
    right = total = 0
    for folder, category in labels.items():
        for path in (CORPUS / folder).iterdir():
            if path.suffix.lower() in (".wav", ".ogg"):
                total += 1
                right += category_from_path(str(path))[0] == category
    assert right / total >= 0.89


@pytest.mark.parametrize("path, bpm", [("breaks125/000.wav", 125), ("Bass_Loop_125_F#min.wav", 125),
                                       ("loop 90 bpm.wav", 90), ("BPM128 groove.wav", 128),
                                       ("198-209-0000.ogg", None), ("hh27/000_hh.wav", None), ("808/CB.WAV", None)])
def test_tempo_from_names(path, bpm):
    assert bpm_from_name(path) == bpm


@pytest.mark.parametrize("path, key", [("pad_Am.wav", ("A", "minor")), ("bass F#min.wav", ("F#", "minor")),
                                       ("synth_Cmaj_120.wav", ("C", "major")), ("lead_Ebm.wav", ("D#", "minor")),
                                       ("Dance_in_F_sharp_minor_(strings).ogg", ("F#", "minor")),
                                       ("take A.wav", None), ("kick_C.wav", None)])
def test_key_from_names(path, key):
    assert key_from_name(path) == key


def test_search_document_carries_category_tokens():
    assert words("breaks125 808bd") == ["breaks", "125", "808", "bd"]
    assert categories_in(words("drum loop")) == ["drum-loop"]
    doc = path_document("/lib/samples/808bd/BD0010.WAV", json.dumps(["punchy"]))
    assert "bd" in doc.split() and "catkick" in doc.split() and "punchy" in doc.split()


@pytest.mark.parametrize("path", ["/tmp/tmpk3_9x1ab/3bd7c0e5a1.wav", "/lib/a3f9e2bd-4c1d-4e8a-9b7f-1c2d3e4f5a6b.wav",
                                  "/tmp/tmpoh3x9q2f/0001.wav"])
def test_hash_like_names_say_nothing(path):
    # Split into words, "3bd7c0e5a1" holds "bd" (kick) by chance: a renamed file must not get a category.
    assert category_from_path(path) == (None, 0.0)


def test_short_kit_names_still_count():
    assert category_from_path("/x/bd/BT0A0A7.wav")[0] == "kick"
    assert category_from_path("/x/kit/hh27.wav")[0] == "hihat"


@pytest.mark.parametrize("text, expected", [
    ("Überkick café 909", ["uberkick", "cafe", "909"]),
    ("breaks125 808bd", ["breaks", "125", "808", "bd"]),
    ("ÉCLAT_Señor-Straße", ["eclat", "senor", "strasse"]),
    ("ﬁlter ２３", ["filter", "23"]),                       # compatibility forms
    ("サンプル音 kick_キック", ["サンプル音", "kick", "キック"]),  # a CJK run is one word; プ keeps its mark
])
def test_words_are_unicode_aware_and_fold_accents(text, expected):
    assert words(text) == expected


def test_non_ascii_names_are_found_by_search(tmp_path):
    import shutil

    from tests.helpers import DIRT
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index
    from traum.search import SearchEngine

    library = tmp_path / "Bibliothèque"
    library.mkdir()
    shutil.copy(DIRT / "bd" / "BT0A0A7.wav", library / "Überkick.wav")
    shutil.copy(DIRT / "sn" / "ST0T0S0.wav", library / "café snare.wav")
    shutil.copy(DIRT / "hh" / "000_hh3closedhh.wav", library / "ハイハット.wav")
    with Catalog(tmp_path / "c.db") as catalog:
        run_index([library], catalog, IndexOptions(model="laion/larger_clap_general", cache=False, analyse=False))
        engine = SearchEngine(catalog)
        for query, name in [("uberkick", "Überkick.wav"), ("Überkick", "Überkick.wav"), ("café", "café snare.wav"),
                            ("cafe", "café snare.wav"), ("ハイハット", "ハイハット.wav")]:
            hits = engine.search(query, k=3).hits
            assert hits and hits[0].path.endswith(name), query


@pytest.mark.parametrize("spelled, short", [("saxophone", "sax"), ("guitar", "gtr"), ("vocal", "vox"),
                                            ("percussion", "perc"), ("effects", "fx"), ("piano", "keys"),
                                            ("kick", "bd"), ("hi hat", "hh"), ("bass drum", "bassdrum")])
def test_spelled_out_and_abbreviated_names_mean_the_same(spelled, short):
    assert categories_in(words(spelled)) == categories_in(words(short)) != []


PAIRS = [("saxophone", "sax"), ("saxophones", "sax"), ("saxes", "saxophone"), ("guitar", "gtr"), ("guitars", "gtrs"),
         ("vocal", "vox"), ("vocals", "vox"), ("percussion", "perc"), ("percs", "percussion"), ("effects", "fx"),
         ("effect", "sfx"), ("piano", "keys"), ("rhodes", "ep"), ("pianos", "pno"), ("kick", "bd"),
         ("kicks", "bassdrum"), ("hihat", "hh"), ("hat", "hh"), ("hats", "hihats"), ("cymbal", "cym"),
         ("trumpet", "tpt"), ("strings", "str"), ("snare", "sd"), ("snares", "snr"), ("clap", "cp")]


@pytest.mark.parametrize("spelled, short", PAIRS)
def test_spelled_out_abbreviated_and_plural_names_are_synonyms(spelled, short):
    from traum.vocabulary import synonyms

    assert short in synonyms(spelled) and spelled in synonyms(short)
    assert categories_in([spelled]) == categories_in([short]) != []


def test_siblings_in_a_category_are_not_synonyms():
    from traum.vocabulary import synonyms, with_synonyms

    assert "trumpet" not in synonyms("sax") and "organ" not in synonyms("piano") and "oh" not in synonyms("hh")
    assert "rhodes" not in synonyms("piano") and categories_in(["rhodes"]) == categories_in(["piano"])
    assert {"hh", "hihat", "hats"} <= set(with_synonyms(words("hi-hat")))


@pytest.fixture(scope="module")
def instrument_libraries(tmp_path_factory):
    """The same files filed under spelled-out and under abbreviated names, indexed names-only."""
    from tests.helpers import DIRT
    from traum.catalog import Catalog
    from traum.pipeline import IndexOptions, run_index

    sources = sorted((DIRT / "jvbass").glob("*.wav"))
    folders = [("Saxophones", "Sax"), ("Trumpets", "Tpt"), ("Guitars", "Gtr"), ("Vocals", "Vox"),
               ("Percussion", "Perc"), ("Effects", "FX"), ("Pianos", "Keys"), ("Organs", "Organ"), ("Kicks", "BD"),
               ("Hi-Hats", "HH")]
    root = tmp_path_factory.mktemp("instruments")
    dbs = {}
    for form in (0, 1):
        for i, names in enumerate(folders):
            folder = root / str(form) / names[form]
            folder.mkdir(parents=True)
            for j in range(2):
                (folder / f"{names[form]} {j + 1}.wav").write_bytes(sources[(2 * i + j) % len(sources)].read_bytes())
        dbs[form] = root / f"{form}.db"
        with Catalog(dbs[form]) as catalog:
            # A known model id never cached in tests: catalogued without vectors, searched by names.
            options = IndexOptions(model="laion/larger_clap_general", cache=False, analyse=False)
            run_index([root / str(form)], catalog, options)
    return dbs


@pytest.mark.parametrize("query, spelled, short", [
    ("saxophone", "Saxophones", "Sax"), ("sax", "Saxophones", "Sax"), ("guitar", "Guitars", "Gtr"),
    ("gtr", "Guitars", "Gtr"), ("vocal", "Vocals", "Vox"), ("vox", "Vocals", "Vox"),
    ("percussion", "Percussion", "Perc"), ("perc", "Percussion", "Perc"), ("effects", "Effects", "FX"),
    ("sfx", "Effects", "FX"), ("piano", "Pianos", "Keys"), ("pno", "Pianos", "Keys"), ("kick", "Kicks", "BD"),
    ("bd", "Kicks", "BD"), ("hi-hat", "Hi-Hats", "HH"), ("hh", "Hi-Hats", "HH"), ("trumpet", "Trumpets", "Tpt")])
def test_names_only_search_reads_either_spelling(instrument_libraries, query, spelled, short):
    from traum.catalog import Catalog
    from traum.search import SearchEngine

    for form, folder in ((0, spelled), (1, short)):
        with Catalog(instrument_libraries[form], readonly=True) as catalog:
            hits = SearchEngine(catalog).search(query, k=2).hits
        assert [h.path.split("/")[-2] for h in hits] == [folder, folder], (query, form)
