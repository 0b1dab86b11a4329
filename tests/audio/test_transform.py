"""Previews at the project's tempo and key, measured on real loops and notes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CORPUS
from traum.audio.transform import PreviewPlan, key_shift, note_shift, plan_preview, render, stretch, varispeed

BREAK_125 = "dirt-samples/breaks125/016_bllstmp.wav"
MOOG_C3 = "dirt-samples/moog/001_Mighty Moog C3.wav"


def _read(relative: str) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(CORPUS / relative, dtype="float32", always_2d=True)
    return samples, rate


def _pitch_hz(samples: np.ndarray, rate: int) -> float:
    import librosa

    mono = samples.mean(axis=1)[: rate * 2]  # the held part of the note, before its release
    f0, voiced, _ = librosa.pyin(mono, fmin=30, fmax=2000, sr=rate, frame_length=4096)
    return float(np.nanmedian(f0[voiced]))


def _cents(measured_hz: float, expected_hz: float) -> float:
    return float(1200 * np.log2(measured_hz / expected_hz))


def test_a_loop_stretched_to_the_project_tempo_has_the_project_tempos_length():
    samples, rate = _read(BREAK_125)
    plan = plan_preview(bpm=125, key=None, note=None, target_bpm=100)
    out = render(samples, rate, plan)
    assert plan.method == "stretch"
    assert abs(len(out) / len(samples) - 125 / 100) < 0.01
    # Still the break, not silence or a smear: its loudness is kept within a few dB.
    assert abs(20 * np.log10(np.sqrt(np.mean(out**2)) / np.sqrt(np.mean(samples**2)))) < 3


def test_half_time_fix_doubles_the_tempo_the_loop_is_matched_from():
    plan = plan_preview(bpm=62.5, key=None, note=None, target_bpm=125, tempo_multiplier=2)
    assert plan.time_factor == pytest.approx(1.0)
    with pytest.raises(ValueError, match="half/double"):
        plan_preview(bpm=62.5, key=None, note=None, target_bpm=140)


def test_a_note_shifted_to_the_project_key_lands_within_ten_cents():
    samples, rate = _read(MOOG_C3)
    source_hz = _pitch_hz(samples, rate)  # named C3, sounds C2 (+11 cents): the measure is the reference
    plan = plan_preview(bpm=None, key=None, note="C2", target_key="E minor")
    assert (plan.method, plan.semitones) == ("varispeed", 4)
    assert abs(_cents(_pitch_hz(render(samples, rate, plan), rate), source_hz * 2 ** (4 / 12))) < 10


def test_a_loop_pitch_shifted_keeps_its_length_and_moves_its_pitch():
    samples, rate = _read(MOOG_C3)
    out = stretch(samples, rate, semitones=3)
    assert len(out) == len(samples)
    assert abs(_cents(_pitch_hz(out, rate), _pitch_hz(samples, rate) * 2 ** (3 / 12))) < 10


def test_varispeed_changes_length_with_pitch_like_a_sampler():
    samples, rate = _read(MOOG_C3)
    assert len(varispeed(samples, rate, 12)) == pytest.approx(len(samples) / 2, rel=0.001)


def test_the_same_request_renders_the_same_samples():
    samples, rate = _read(BREAK_125)
    plan = PreviewPlan("stretch", 0.9, -2)
    assert np.array_equal(render(samples, rate, plan), render(samples, rate, plan))


@pytest.mark.parametrize(("source", "target", "shift"), [
    ("A minor", "C major", 0), ("A minor", "C minor", 3), ("C major", "B", -1), ("C", "F#", 6),
    ("F# minor", "C", 3), ("F# minor", "C minor", 6), ("Bbm", "A minor", -1), ("E major", "C# minor", 0),
])
def test_nearest_transposition_into_the_project_key(source, target, shift):
    assert key_shift(source, target) == shift


def test_one_shot_root_note_to_the_key_tonic():
    assert note_shift("G1", "C minor") == 5
    assert note_shift("C2", "A") == -3
    with pytest.raises(ValueError):
        note_shift("H2", "C")


def test_nothing_to_match_renders_the_input_unchanged():
    samples, rate = _read(BREAK_125)
    plan = plan_preview(bpm=None, key=None, note=None, target_bpm=120, target_key="C")
    assert plan.method == "none" and render(samples, rate, plan) is samples
