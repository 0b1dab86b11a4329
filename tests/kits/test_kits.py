"""Kits from collections on real audio: names, conversion, zip, SFZ mapping; the CLI end to end."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CORPUS
from traum.catalog import Catalog, collections
from traum.kits import Conversion, export_kit, samples_of
from traum.kits.export import clean_name, unique_name
from traum.kits.sfz import midi_of, sfz_text
from traum.pipeline import IndexOptions, run_index

KICK = "dirt-samples/bd/BT0A0D0.wav"
SNARE = "dirt-samples/sn/ST0T0S0.wav"
CHOIR = "dirt-samples/rave2/rave_choir01.ogg"  # pitched: D3
BAA = "dirt-samples/baa/1.wav"  # pitched: E3


@pytest.fixture(scope="module")
def kit_catalog(tmp_path_factory):
    """A catalog with a collection of a kick, a snare under the kick's file name, and two pitched sounds."""
    root = tmp_path_factory.mktemp("kits")
    library = root / "library"
    for source, target in ((KICK, "bd/BT0A0D0.wav"), (SNARE, "other/BT0A0D0.wav"), (CHOIR, "choir/rave_choir01.ogg"),
                           (BAA, "baa/1.wav")):
        (library / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / source, library / target)
    db = root / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(cache=False))
        ids = [catalog.stem_by_path(str(library / p)) for p in
               ("bd/BT0A0D0.wav", "other/BT0A0D0.wav", "choir/rave_choir01.ogg", "baa/1.wav")]
        collections.add(catalog, "Test Kit", ids)
    return db, library


def kit_samples(db: Path):
    with Catalog(db) as catalog:
        return samples_of(catalog, collections.members(catalog, "test kit"))


def test_a_folder_kit_has_the_files_under_clean_unique_names(kit_catalog, tmp_path):
    db, library = kit_catalog
    report = export_kit(kit_samples(db), tmp_path, "Test Kit")
    folder = tmp_path / "Test Kit"
    assert report.written == folder and not report.skipped
    assert sorted(p.name for p in folder.iterdir()) == ["1.wav", "BT0A0D0 2.wav", "BT0A0D0.wav", "rave_choir01.ogg"]
    assert (folder / "BT0A0D0.wav").read_bytes() == (library / "bd/BT0A0D0.wav").read_bytes()
    assert (folder / "BT0A0D0 2.wav").read_bytes() == (library / "other/BT0A0D0.wav").read_bytes()


def test_the_sfz_maps_one_shots_from_c1_and_pitched_sounds_by_root_note(kit_catalog, tmp_path):
    db, _ = kit_catalog
    samples = kit_samples(db)
    assert [s.note for s in samples][2:] == ["D3", "E3"]
    export_kit(samples, tmp_path, "Test Kit", "sfz")
    text = (tmp_path / "Test Kit" / "Test Kit.sfz").read_text()
    regions = [dict(re.findall(r"^(\w+)=(.*)$", block, re.M)) for block in text.split("<region>")[1:]]
    assert [(r["sample"], r.get("key")) for r in regions[:2]] == [("samples/BT0A0D0.wav", "24"),
                                                                 ("samples/BT0A0D0 2.wav", "25")]
    choir, baa = regions[2:]
    assert choir["sample"] == "samples/rave_choir01.ogg" and choir["pitch_keycenter"] == "50"
    assert baa["pitch_keycenter"] == "52"
    assert (choir["lokey"], choir["hikey"], baa["lokey"], baa["hikey"]) == ("26", "51", "52", "127")
    for r in regions:
        assert (tmp_path / "Test Kit" / r["sample"]).is_file()


def test_sfz_keys_and_note_names():
    assert (midi_of("C1"), midi_of("C4"), midi_of("F#3"), midi_of("Bb1"), midi_of("kick")) == (24, 60, 54, 34, None)
    text = sfz_text([("A2", "a.wav"), ("A2", "b.wav")])
    assert text.count("pitch_keycenter=45") == 2


def test_a_zip_kit_converted_to_one_format_rate_and_depth(kit_catalog, tmp_path):
    db, library = kit_catalog
    report = export_kit(kit_samples(db), tmp_path, "Test Kit", "zip", Conversion("flac", 22050, 16))
    assert report.written == tmp_path / "Test Kit.zip" and [p.name for p in tmp_path.iterdir()] == ["Test Kit.zip"]
    with zipfile.ZipFile(report.written) as archive:
        assert sorted(archive.namelist()) == ["Test Kit/1.flac", "Test Kit/BT0A0D0 2.flac", "Test Kit/BT0A0D0.flac",
                                              "Test Kit/rave_choir01.flac"]
        archive.extractall(tmp_path / "out")
    converted = sf.info(str(tmp_path / "out/Test Kit/rave_choir01.flac"))
    original = sf.info(str(library / "choir/rave_choir01.ogg"))
    assert converted.samplerate == 22050 and converted.subtype == "PCM_16" and converted.format == "FLAC"
    assert converted.duration == pytest.approx(original.duration, rel=0.01)


def test_a_missing_file_is_left_out_and_reported(kit_catalog, tmp_path):
    db, _ = kit_catalog
    samples = kit_samples(db)
    gone = samples[0].__class__(samples[0].stem_id, str(tmp_path / "gone.wav"))
    report = export_kit([gone, *samples[1:]], tmp_path / "kits", "Test Kit")
    assert len(report.files) == 3 and [p for p, _ in report.skipped] == [str(tmp_path / "gone.wav")]


def test_names_are_clean_and_unique():
    assert clean_name("../../etc/passwd") == "etc_passwd"
    assert clean_name("Kick – Fat <1>") == "Kick Fat 1"
    assert clean_name("Crème brûlée") == "Creme brulee"
    taken: set[str] = set()
    assert [unique_name("Kick", ".wav", taken) for _ in range(3)] == ["Kick.wav", "Kick 2.wav", "Kick 3.wav"]
    assert unique_name("KICK", ".WAV", taken) == "KICK 4.WAV"


def traum(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    """The CLI through its real entry point, in this process (a process per command cost ~1 s apiece)."""
    from tests.cli.conftest import run_traum

    result = run_traum(*args, "--db", db)
    return subprocess.CompletedProcess(list(args), result.code, result.stdout, result.stderr)


def test_the_cli_makes_a_collection_and_exports_it(kit_catalog, tmp_path):
    db, library = kit_catalog
    assert traum("collection", "create", "Drums", db=db).returncode == 0
    added = traum("collection", "add", "drums", str(library / "bd/BT0A0D0.wav"), str(library / "other/BT0A0D0.wav"),
                  db=db)
    assert added.returncode == 0 and "added 2 to Drums" in added.stderr
    listed = json.loads(traum("collection", "list", "--json", db=db).stdout)
    assert {"name": "Drums", "size": 2} == {k: v for k, v in next(c for c in listed if c["name"] == "Drums").items()
                                          if k != "created_at"}
    members = json.loads(traum("collection", "list", "Drums", "--json", db=db).stdout)
    assert [m["path"] for m in members] == [str(library / "bd/BT0A0D0.wav"), str(library / "other/BT0A0D0.wav")]
    done = traum("kit", "export", "Drums", "--out", str(tmp_path), "--format", "sfz", db=db)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "Drums" / "samples").iterdir()) == ["BT0A0D0 2.wav", "BT0A0D0.wav"]
    again = traum("kit", "export", "Drums", "--out", str(tmp_path), "--format", "sfz", db=db)
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr
    missing = traum("kit", "export", "nope", "--out", str(tmp_path), db=db)
    assert missing.returncode == 1 and "no collection named 'nope'" in missing.stderr
    unknown = traum("collection", "add", "Drums", str(tmp_path / "nothing.wav"), db=db)
    assert unknown.returncode == 1 and "not a catalogued sample" in unknown.stderr
    assert traum("collection", "remove", "Drums", str(library / "bd/BT0A0D0.wav"), db=db).returncode == 0
    assert traum("collection", "delete", "Drums", db=db).returncode == 0
    assert "Drums" not in traum("collection", "list", db=db).stdout


BREAK = "dirt-samples/breaks125/016_bllstmp.wav"  # 125 BPM
MOOG = "dirt-samples/moog/001_Mighty Moog C3.wav"  # a C3 note


@pytest.fixture(scope="module")
def match_catalog(tmp_path_factory):
    """A catalog (analysed) with the collection "Matched": a 125 BPM break, a Moog C3 note and a kick."""
    from tests.helpers import copy_library

    root = tmp_path_factory.mktemp("matchkits")
    library = copy_library(root / "library", [BREAK, MOOG, KICK])
    db = root / "catalog.db"
    with Catalog(db) as catalog:
        run_index([library], catalog, IndexOptions(cache=False))
        collections.add(catalog, "Matched", [catalog.stem_by_path(str(library / p)) for p in (BREAK, MOOG, KICK)])
    return db, library


def kit_samples_of(db: Path, ids: list[str]):
    with Catalog(db, readonly=True) as catalog:
        return samples_of(catalog, ids)


def _cents(rendered: Path, original: Path) -> float:
    from tests.web.test_map_preview import _pitch_hz

    after, rate_after = sf.read(str(rendered), always_2d=True)
    before, rate = sf.read(str(original), always_2d=True)
    return float(1200 * np.log2(_pitch_hz(after, rate_after) / _pitch_hz(before, rate)))


def test_a_kit_at_the_project_tempo_and_key_stretches_loops_shifts_notes_and_says_so_in_names(match_catalog, tmp_path):
    db, library = match_catalog
    done = traum("kit", "export", "Matched", "--out", str(tmp_path), "--bpm", "100", "--key", "E major", db=db)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "Matched"
    files = sorted(p.name for p in folder.iterdir())
    loop = next(f for f in files if f.startswith("016_bllstmp"))
    assert loop.startswith("016_bllstmp 100 BPM") and loop.endswith(".wav"), files
    with Catalog(db, readonly=True) as catalog:
        detected = (catalog.stem(catalog.stem_by_path(str(library / BREAK)) or "") or {})["bpm"]
    ratio = sf.info(str(folder / loop)).frames / sf.info(str(library / BREAK)).frames
    assert abs(ratio / (detected / 100) - 1) < 0.01, (ratio, detected)
    assert "001_Mighty Moog C3 E.wav" in files  # C3 → E: +4 semitones, varispeeded as a sampler would
    assert abs(_cents(folder / "001_Mighty Moog C3 E.wav", library / MOOG) - 400) < 10
    assert (folder / "BT0A0D0.wav").read_bytes() == (library / KICK).read_bytes()  # a drum: copied as it is
    bad = traum("kit", "export", "Matched", "--out", str(tmp_path / "x"), "--key", "H major", db=db)
    assert bad.returncode == 2 and "not a key" in bad.stderr and "Traceback" not in bad.stderr


def test_the_api_exports_a_selection_as_an_sfz_in_the_key_mapped_at_the_shifted_note(match_catalog, tmp_path):
    from traum.api import export_kit as api_export_kit

    db, library = match_catalog
    with Catalog(db, readonly=True) as catalog:
        ids = [catalog.stem_by_path(str(library / p)) or "" for p in (MOOG, KICK)]
    report = api_export_kit(None, tmp_path, ids=ids, name="Pick", format="sfz", key="E major", db=db)
    assert report.files == ["001_Mighty Moog C3 E.wav", "BT0A0D0.wav"] and not report.skipped
    text = (tmp_path / "Pick" / "Pick.sfz").read_text()
    assert "sample=samples/BT0A0D0.wav\nkey=24" in text
    detected = kit_samples_of(db, ids)[0].note
    assert midi_of(detected) is not None
    # Mapped where it now sounds: its detected root (a C) raised by the 4 semitones to E.
    assert f"sample=samples/001_Mighty Moog C3 E.wav\nlokey=25\nhikey=127\npitch_keycenter={midi_of(detected) + 4}\n" \
        in text


def test_the_page_downloads_a_collection_or_a_selection_at_the_project_tempo(match_catalog):
    from fastapi.testclient import TestClient

    from tests.web.conftest import BASE
    from traum.web.app import create_app

    db, library = match_catalog
    client = TestClient(create_app(db, token="t"), base_url=BASE, headers={"Authorization": "Bearer t"})
    answer = client.get("/api/collections/Matched/kit", params={"bpm": "100"})
    assert answer.status_code == 200 and 'filename="Matched-100bpm.zip"' in answer.headers["content-disposition"]
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert any(n.startswith("Matched/016_bllstmp 100 BPM") for n in names) and "Matched/BT0A0D0.wav" in names
    with Catalog(db, readonly=True) as catalog:
        ids = [catalog.stem_by_path(str(library / BREAK))]
    picked = client.post("/api/kit", json={"ids": ids, "name": "Loop", "bpm": 100, "key": "A minor"})
    assert picked.status_code == 200 and 'filename="Loop-100bpm-Am.zip"' in picked.headers["content-disposition"]
    assert [n for n in zipfile.ZipFile(io.BytesIO(picked.content)).namelist() if "016_bllstmp 100 BPM" in n]
    refused = client.post("/api/kit", json={"ids": ids, "key": "H major"})
    assert refused.status_code == 400 and "not a key" in refused.json()["error"]
