"""Kits from collections on real audio: names, conversion, zip, SFZ mapping; the CLI end to end."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

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
    return subprocess.run([sys.executable, "-m", "traum.cli.main", *args, "--db", str(db)], capture_output=True,
                          text=True, timeout=120)


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
