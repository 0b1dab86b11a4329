"""Whole-file loudness and true peak: the block-by-block meters give what pyloudnorm's
``integrated_loudness`` and ``max|resample_poly(x, 4, 1)|`` (the straightforward implementation they
replaced) give, on real files decoded whole, streamed in blocks, and on a long file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import DIRT, EXAMPLES
from traum.analysis.loudness import LoudnessMeter, TruePeakMeter, loudness, true_peak
from traum.analysis.stream import WholeFile, read_long
from traum.audio import load

#: The tolerances a producer cannot hear or read off a meter.
LU, DB = 0.01, 0.05


def reference_lufs(samples: np.ndarray, rate: int) -> float | None:
    import pyloudnorm

    shortest = int(0.4 * rate) + 1
    y = samples if len(samples) >= shortest else np.pad(samples, (0, shortest - len(samples)))
    lufs = pyloudnorm.Meter(rate).integrated_loudness(y.astype(np.float64))
    return float(lufs) if np.isfinite(lufs) else None


def reference_true_peak(samples: np.ndarray) -> float:
    from scipy.signal import resample_poly

    return float(np.max(np.abs(resample_poly(samples, 4, 1))))


def to_db(x: float) -> float:
    return 20 * np.log10(x)


def streamed(samples: np.ndarray, rate: int, seed: int = 0) -> tuple[float | None, float]:
    """Loudness and true peak from meters fed in blocks of random sizes (1 sample to 70k)."""
    rng = np.random.default_rng(seed)
    lufs, peak = LoudnessMeter(rate), TruePeakMeter()
    start = 0
    while start < len(samples):
        size = int(rng.choice([1, 7, 300, 4_096, 65_536, int(rng.integers(1, 70_000))]))
        lufs.add(samples[start:start + size])
        peak.add(samples[start:start + size])
        start += size
    return lufs.integrated(), peak.result()


# 18 ms; 8-bit at 11025 Hz (a non-integer gating step); 44101 Hz; 48 kHz; 24-bit pad; speech; music
FILES = [DIRT / "stomp/009_9.wav", DIRT / "sugar/000_bark.wav", DIRT / "bd/BT0A0D0.wav", DIRT / "baa/1.wav",
         DIRT / "pad/alien-monolith-pad.wav", DIRT / "breaks125/016_bllstmp.wav", DIRT / "cp/HANDCLP0.wav",
         EXAMPLES / "198-209-0000.ogg", EXAMPLES / "admiralbob77_-_Choice_-_Drum-bass.ogg"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_loudness_and_true_peak_equal_pyloudnorm_and_resample_poly_on_corpus_files(path):
    decoded = load(path, None)
    samples, rate = decoded.samples, decoded.sample_rate
    expected_lufs, expected_peak = reference_lufs(samples, rate), reference_true_peak(samples)
    facts = loudness(samples, rate)
    assert facts["loudness_lufs"] == pytest.approx(expected_lufs, abs=LU)
    assert facts["true_peak_dbfs"] == pytest.approx(to_db(expected_peak), abs=DB)
    lufs, peak = streamed(samples, rate)
    assert lufs == pytest.approx(expected_lufs, abs=LU)
    assert to_db(peak) == pytest.approx(to_db(expected_peak), abs=DB)


@pytest.fixture(scope="module")
def long_file(tmp_path_factory) -> tuple[np.ndarray, int, object]:
    """Two and a half minutes of corpus audio end to end (music, drums, speech, a 12 s pad), as float WAV."""
    rate = 22_050
    parts = [load(EXAMPLES / name, rate).samples for name in
             ("Kevin_MacLeod_-_Vibe_Ace.ogg", "admiralbob77_-_Choice_-_Drum-bass.ogg", "198-209-0000.ogg",
              "Hungarian_Dance_number_5_-_Allegro_in_F_sharp_minor_(string_orchestra).ogg")]
    parts.append(load(DIRT / "pad/alien-monolith-pad.wav", rate).samples)
    samples = np.concatenate(parts).astype(np.float32)
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, samples, rate, subtype="FLOAT")
    return samples, rate, path


def test_a_long_file_measures_as_pyloudnorm_and_resample_poly_whole_and_streamed(long_file):
    samples, rate, path = long_file
    assert len(samples) / rate > 140
    expected_lufs, expected_peak = reference_lufs(samples, rate), reference_true_peak(samples)
    facts = loudness(samples, rate)
    assert facts["loudness_lufs"] == pytest.approx(expected_lufs, abs=LU)
    assert facts["true_peak_dbfs"] == pytest.approx(to_db(expected_peak), abs=DB)
    # The streaming reader of files over STREAM_SECONDS, on the file as written.
    whole = read_long(path).whole.loudness()
    assert whole["loudness_lufs"] == pytest.approx(expected_lufs, abs=LU)
    assert whole["true_peak_dbfs"] == pytest.approx(to_db(expected_peak), abs=DB)
    lufs, peak = streamed(samples, rate, seed=1)
    assert lufs == pytest.approx(expected_lufs, abs=LU)
    assert to_db(peak) == pytest.approx(to_db(expected_peak), abs=DB)


def intersample_signals() -> dict[str, np.ndarray]:
    """Signals whose true peak lies between samples, often where the samples are not the loudest."""
    rng = np.random.default_rng(3)
    n = np.arange(20_000)
    quarter = np.sin(np.pi / 2 * n + np.pi / 4)  # samples at ±0.707, true peak 1.0 (+3 dB)
    low = 0.9 * np.sin(2 * np.pi * 110 / 44_100 * n)
    burst = low.copy()
    burst[12_000:12_040] = 0.8 * np.tile([1, 1, -1, -1], 10)  # quieter samples, louder between them
    square = np.sign(np.sin(2 * np.pi * 1_000 / 44_100 * n)) * 0.7
    noise = rng.uniform(-1, 1, 20_000)
    clicks = np.zeros(20_000)
    clicks[rng.integers(0, 20_000, 40)] = rng.uniform(-1, 1, 40)
    return {name: y.astype(np.float32) for name, y in
            {"quarter": quarter, "burst": burst, "square": square, "noise": noise, "clicks": clicks,
             "edge": np.r_[0.9, -0.9, 0.9, np.zeros(100)], "short": rng.uniform(-1, 1, 17)}.items()}


@pytest.mark.parametrize("name", list(intersample_signals()))
def test_true_peak_is_exact_where_the_samples_hide_it(name):
    y = intersample_signals()[name]
    expected = reference_true_peak(y)
    assert true_peak(y, 44_100) == pytest.approx(expected, rel=1e-5)
    assert streamed(y, 44_100)[1] == pytest.approx(expected, rel=1e-5)
    whole = WholeFile(44_100)
    whole.add(y)
    assert whole.loudness()["true_peak_dbfs"] == pytest.approx(to_db(expected), abs=0.006)


def test_the_burst_hides_a_true_peak_above_every_sample():
    # Guards the skip test itself: the loudest samples are elsewhere, 1 dB below this true peak.
    y = intersample_signals()["burst"]
    assert to_db(true_peak(y, 44_100)) > to_db(float(np.max(np.abs(y)))) + 1.0


def test_silence_has_no_loudness_and_short_clips_are_one_padded_block():
    assert loudness(np.zeros(44_100, np.float32), 44_100)["loudness_lufs"] is None
    click = np.zeros(400, np.float32)
    click[10:20] = 0.5
    assert loudness(click, 44_100)["loudness_lufs"] == pytest.approx(reference_lufs(click, 44_100), abs=LU)


def test_a_swell_ending_in_a_partial_gating_block_counts_that_block_as_pyloudnorm_does():
    # 1.06 s: pyloudnorm's last gating block runs past the end, and it holds the loudest part.
    rate = 44_100
    ramp = np.linspace(0.01, 1, int(1.06 * rate)) ** 4
    y = (np.random.default_rng(5).uniform(-1, 1, len(ramp)) * ramp).astype(np.float32)
    assert loudness(y, rate)["loudness_lufs"] == pytest.approx(reference_lufs(y, rate), abs=LU)
    assert streamed(y, rate)[0] == pytest.approx(reference_lufs(y, rate), abs=LU)
