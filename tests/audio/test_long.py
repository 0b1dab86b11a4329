"""Long files: refused when the header is absurd, streamed block by block otherwise."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from tests.helpers import DIRT
from traum.analysis import analyse, analyse_path
from traum.analysis.stream import WholeFile, read_long
from traum.audio import load, peaks
from traum.audio.decode import mono_blocks
from traum.errors import AudioError


def _wav_with_header(path, rate: int, frames: int) -> None:
    sf.write(path, np.zeros(frames, np.int16), rate, subtype="PCM_16")


def test_an_absurd_sample_rate_in_the_header_is_refused(tmp_path):
    # 40 KB claiming 1 Hz: "5.5 hours" that cost 7.7 GB and 190 s to index.
    _wav_with_header(tmp_path / "one-hertz.wav", 1, 20_000)
    with pytest.raises(AudioError, match="implausible sample rate in the header \\(1 Hz"):
        load(tmp_path / "one-hertz.wav")


def test_files_over_the_duration_limit_are_refused(tmp_path, monkeypatch):
    _wav_with_header(tmp_path / "long.wav", 8_000, 8_000 * 130)
    monkeypatch.setenv("TRAUM_MAX_DURATION_S", "120")
    with pytest.raises(AudioError, match=r"over the 2-minute limit .*TRAUM_MAX_DURATION_S"):
        load(tmp_path / "long.wav")
    with pytest.raises(AudioError, match="limit"):
        analyse_path(str(tmp_path / "long.wav"))
    monkeypatch.setenv("TRAUM_MAX_DURATION_S", "200")
    assert load(tmp_path / "long.wav").duration == pytest.approx(130)


@pytest.mark.parametrize("name", ["pad/alien-monolith-pad.wav", "baa/6.wav", "sn/ST7TASA.wav"])
def test_block_by_block_measures_match_the_whole_file_ones(name):
    decoded = load(DIRT / name, None)
    whole = WholeFile(decoded.sample_rate)
    for block in mono_blocks(DIRT / name, block_frames=4_096):
        whole.add(block)
    streamed = analyse(decoded.samples, decoded.sample_rate, whole=whole)
    direct = analyse(decoded.samples, decoded.sample_rate)
    assert streamed["loudness_lufs"] == pytest.approx(direct["loudness_lufs"], abs=0.15)
    assert streamed["true_peak_dbfs"] == pytest.approx(direct["true_peak_dbfs"], abs=0.1)
    for key in ("duration", "peak_dbfs", "quality_issues", "quality_ok", "noise_floor_dbfs", "dynamic_range"):
        assert streamed[key] == pytest.approx(direct[key], abs=0.05) if isinstance(direct[key], float) \
            else streamed[key] == direct[key], key


def test_clipping_runs_across_block_boundaries_are_counted_once():
    y = np.zeros(1000, np.float32)
    for start in (98, 500, 700):  # the first run straddles the 100-sample block boundary
        y[start:start + 5] = 1.0
    whole = WholeFile(1000)
    for i in range(0, len(y), 100):
        whole.add(y[i:i + 100])
    assert whole.quality_evidence()["clipped_runs"] == 3


def test_a_twenty_minute_file_is_analysed_and_windowed_without_being_read_whole(tmp_path):
    rate, seconds = 22_050, 20 * 60
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as fh:
        for _ in range(seconds // 60):
            fh.write((rng.standard_normal(rate * 60) * 0.01).astype(np.float32))
    windows: list[tuple[float, int]] = []
    read_long(DIRT / "pad/alien-monolith-pad.wav", model_rate=48_000)  # imports (scipy, soxr) are not the file
    tracemalloc.start()
    long = read_long(path, model_rate=48_000, on_window=lambda offset, clip: windows.append((offset, len(clip))))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    whole_file_bytes = rate * seconds * 4  # the file as mono float32: 106 MB
    assert peak < whole_file_bytes / 2, f"peak {peak / 1e6:.0f} MB"
    assert len(windows) == 120 and windows[0] == (0.0, 480_000) and windows[-1][0] == pytest.approx(1190.0)
    assert all(size == 480_000 for _, size in windows)
    assert long.whole.frames == rate * seconds and len(long.head) == 30 * rate
    facts = analyse_path(str(path))
    assert facts["duration"] == pytest.approx(seconds) and -50 < facts["loudness_lufs"] < -30


def test_streamed_windows_match_the_whole_file_resample(tmp_path):
    from traum.audio.decode import resample
    from traum.embedding.windows import split_windows

    y = load(DIRT / "pad/alien-monolith-pad.wav", None)
    long = np.tile(y.samples, 4)  # ~48 s: four windows 10 s apart
    sf.write(tmp_path / "long.wav", long, y.sample_rate, subtype="FLOAT")
    got: list[tuple[float, np.ndarray]] = []
    read_long(tmp_path / "long.wav", model_rate=48_000, on_window=lambda o, c: got.append((o, c.copy())))
    expected = split_windows(resample(long, y.sample_rate, 48_000), 48_000)
    assert [o for o, _ in got] == [o for o, _ in expected]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert np.corrcoef(a, b)[0, 1] > 0.9999


def test_peaks_are_computed_block_by_block():
    path = DIRT / "pad/alien-monolith-pad.wav"
    samples = np.abs(load(path, None).samples)
    expected = [float(chunk.max()) for chunk in np.array_split(samples, 50)]
    got = peaks(path, 50)
    assert len(got) == 50 and np.allclose(got, expected, atol=2e-3)
