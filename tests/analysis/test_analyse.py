"""Analysis on real corpus audio: facts where they exist, None where they don't."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import DIRT, EXAMPLES
from traum.analysis import analyse, catalog_facts
from traum.analysis.loudness import quality
from traum.audio import load


def run(path, name=None):
    d = load(path, None)
    return analyse(d.samples, d.sample_rate, path=name if name is not None else str(path),
                   source_rate=d.info.sample_rate, bit_depth=d.info.bit_depth, truncated=d.truncated)


@pytest.mark.parametrize("folder", ["bd", "sn", "hh", "cp", "808bd"])
def test_drum_one_shots_have_no_tempo_and_no_key_even_renamed(folder):
    for path in sorted((DIRT / folder).iterdir())[:6]:
        facts = run(path, name="/x/0001.wav")
        assert facts["bpm"] is None and facts["key"] is None and facts["is_loop"] is False


def test_a_named_break_gets_its_tempo():
    facts = run(DIRT / "breaks125/016_bllstmp.wav")
    assert facts["bpm"] == pytest.approx(125, rel=0.04) and facts["is_loop"] and facts["category"] == "drum-loop"


def drum_loop(bpm: float, bars: int, rate: int = 44_100) -> np.ndarray:
    """Kick on 1 and 3, snare on 2 and 4, hats on eighths: corpus one-shots on a grid, cut to bars."""
    hits = {name: load(DIRT / path, rate).samples for name, path in
            (("kick", "bd/BT0A0A7.wav"), ("snare", "sn/ST0T0S0.wav"), ("hat", "hh/000_hh3closedhh.wav"))}
    eighth = 60 / bpm / 2
    out = np.zeros(int(round(bars * 8 * eighth * rate)), np.float32)
    for step in range(bars * 8):
        parts = ["hat"] + (["kick"] if step % 4 == 0 else ["snare"] if step % 4 == 2 else [])
        for part in parts:
            start = int(round(step * eighth * rate))
            hit = hits[part][: len(out) - start]
            out[start:start + len(hit)] += hit * (0.5 if part == "hat" else 1.0)
    return out / np.abs(out).max() * 0.9


@pytest.mark.parametrize("bpm, bars", [(96.0, 2), (142.0, 4), (174.0, 4)])
def test_tempo_of_an_unnamed_drum_loop_from_its_bars_and_beat(bpm, bars):
    facts = analyse(drum_loop(bpm, bars), 44_100, path="/x/0001.wav")
    assert facts["bpm"] == pytest.approx(bpm, rel=0.04) and facts["is_loop"] and facts["tempo_confidence"] > 0.3


def test_a_pad_swelling_has_no_tempo():
    assert run(DIRT / "pad/alien-monolith-pad.wav", name="/x/0002.wav")["bpm"] is None


def test_the_name_wins_over_a_break_not_cut_to_bars():
    # The amen in breaks152 is 11.9 beats long: its duration admits no whole-bar tempo near 152.
    assert run(DIRT / "breaks152/000_AMEN.WAV")["bpm"] == 152


def test_a_ringing_808_is_a_one_shot_not_a_loop():
    facts = run(DIRT / "808bd/BD5010.WAV", name="/x/0003.wav")
    assert facts["bpm"] is None and facts["key"] is None


@pytest.mark.parametrize("path, pitch_class", [("moog/000_Mighty Moog C2.wav", "C"),
                                               ("moog/003_Mighty Moog G1.wav", "G"),
                                               ("moog/006_Mighty Moog G4.wav", "G")])
def test_root_note_of_pitched_one_shots_from_audio_alone(path, pitch_class):
    facts = run(DIRT / path, name="/x/renamed.wav")
    assert facts["note"].rstrip("-0123456789") == pitch_class and abs(facts["cents"]) < 50
    assert facts["key"] is None  # one note is a note, not a key


def test_loudness_peaks_and_report_shape():
    facts = run(DIRT / "cp/HANDCLP0.wav")
    assert -40 < facts["loudness_lufs"] < 0 and facts["peak_dbfs"] <= facts["true_peak_dbfs"] + 0.01
    for key in ("duration", "bpm", "tempo_confidence", "key", "mode", "note", "loudness_lufs", "peak_dbfs",
                "is_loop", "category", "category_confidence", "quality_ok", "quality_issues"):
        assert key in facts
    columns = catalog_facts(facts)
    assert columns["category"] == "clap" and columns["key"] is None and columns["bpm"] is None


def test_key_of_tonal_material_is_spelled_with_mode(tmp_path):
    # A chord progression in A minor rendered from sine tones: Am – F – C – G, one chord a beat at 120 BPM.
    rate, beat = 22_050, 0.5
    chords = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]
    t = np.arange(int(rate * beat)) / rate
    y = np.concatenate([sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) for n in chord) / 3
                        * np.exp(-t * 2) for chord in chords * 2]).astype(np.float32)
    facts = analyse(y, rate, path="/x/loop.wav")
    assert (facts["key"], facts["mode"]) in {("A", "minor"), ("C", "major")}


def test_quality_flags_clipping_silence_dc_and_low_resolution():
    rate = 22_050
    clipped = np.clip(np.sin(np.linspace(0, 400, rate)) * 3, -1, 1).astype(np.float32)
    assert "clipping" in quality(clipped, rate)["quality_issues"] and not quality(clipped, rate)["quality_ok"]
    assert "silent" in quality(np.zeros(rate, np.float32), rate)["quality_issues"]
    offset = (np.sin(np.linspace(0, 400, rate)) * 0.3 + 0.2).astype(np.float32)
    assert "dc offset" in quality(offset, rate)["quality_issues"]
    late = np.concatenate([np.zeros(rate), np.sin(np.linspace(0, 400, rate))]).astype(np.float32)
    assert any("leading silence" in i for i in quality(late, rate)["quality_issues"])
    eight_bit = run(DIRT / "sugar/001_crab.wav")  # unsigned 8-bit at 11025 Hz
    assert any("low bit depth" in i for i in eight_bit["quality_issues"])
    assert any("low sample rate" in i for i in eight_bit["quality_issues"])


def test_truncated_file_is_reported(tmp_path):
    data = (DIRT / "pad/alien-monolith-pad.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 3])
    assert "truncated data" in run(tmp_path / "cut.wav")["quality_issues"]


def test_speech_and_long_music_are_analysed_without_crashing():
    speech = run(EXAMPLES / "198-209-0000.ogg")
    assert speech["key"] is None or speech["category"] not in ("kick", "snare")
    assert sf.info(str(EXAMPLES / "198-209-0000.ogg")).duration == pytest.approx(speech["duration"], abs=0.01)


def _tone(n: int = 22_050) -> np.ndarray:
    return (np.sin(np.linspace(0, 2 * np.pi * 440, n)) * 0.5).astype(np.float32)


@pytest.mark.parametrize("samples, rate, words", [
    (np.zeros(0, np.float32), 22_050, "empty"),
    (np.array([0.1, np.nan] * 5000, np.float32), 22_050, "nan"),
    (np.array([0.1, np.inf] * 5000, np.float32), 22_050, "nan or infinity"),
    (np.zeros(22_050, np.float32), 0, "sample rate"),
    (np.zeros(22_050, np.float32), -44_100, "sample rate"),
    (np.zeros((2, 2, 100), np.float32), 22_050, "mono"),
    (np.array(["a", "b"]), 22_050, "real numbers"),
])
def test_analyse_refuses_what_is_not_audio_with_a_clear_error(samples, rate, words):
    from traum.analysis import InvalidSamples

    with pytest.raises(InvalidSamples, match="(?i)" + words) as caught:
        analyse(samples, rate)
    assert isinstance(caught.value, ValueError)


def test_analyse_scales_integer_pcm_to_full_scale_floats():
    tone = _tone()
    as_float = analyse(tone, 22_050)
    as_int16 = analyse((tone * 32767).astype(np.int16), 22_050)
    assert as_int16["loudness_lufs"] == pytest.approx(as_float["loudness_lufs"], abs=0.1)
    assert as_int16["loudness_lufs"] < 0 and as_int16["peak_dbfs"] <= 0


def test_analyse_mixes_stereo_down_in_either_layout():
    tone = _tone()
    mono = analyse(tone, 22_050)
    frames_first = analyse(np.stack([tone, tone], axis=1), 22_050)
    channels_first = analyse(np.stack([tone, tone]), 22_050)
    assert frames_first["duration"] == channels_first["duration"] == mono["duration"] == pytest.approx(1.0)
    assert frames_first["loudness_lufs"] == channels_first["loudness_lufs"] == mono["loudness_lufs"]
