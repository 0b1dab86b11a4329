import numpy as np
import pytest
import soundfile as sf

from tests.helpers import CORPUS, MIXED
from traum.audio import content_hash, load, probe
from traum.errors import AudioError, NotAudio

AUDIO = [f for f in MIXED if not f.endswith((".ews", ".TXT"))]


@pytest.mark.parametrize("rel", AUDIO)
def test_every_corpus_format_decodes_to_48k_mono(rel):
    decoded = load(CORPUS / rel, 48_000)
    info = sf.info(str(CORPUS / rel))
    assert decoded.samples.dtype == np.float32 and decoded.samples.ndim == 1
    assert decoded.sample_rate == 48_000
    assert decoded.duration == pytest.approx(info.duration, abs=2e-3)
    # Resampling a clipped file overshoots a little (intersample peaks); nothing is rescaled.
    assert 0.01 < np.abs(decoded.samples).max() <= 1.1


def test_bit_depths_are_reported():
    assert probe(CORPUS / "dirt-samples/monsterb/002_tongue.wav").bit_depth == 8
    assert probe(CORPUS / "dirt-samples/pad/alien-monolith-pad.wav").bit_depth == 24
    assert probe(CORPUS / "dirt-samples/rs/rytm-rs.wav").bit_depth == 32
    assert probe(CORPUS / "dirt-samples/rave2/rave_choir01.ogg").bit_depth is None


def test_stereo_is_downmixed_by_averaging(tmp_path):
    left = np.sin(np.linspace(0, 100, 4800)).astype(np.float32)
    sf.write(tmp_path / "st.wav", np.stack([left, -left], axis=1), 48_000, subtype="FLOAT")
    assert np.abs(load(tmp_path / "st.wav").samples).max() < 1e-6


def test_odd_rate_is_resampled_not_reinterpreted():
    decoded = load(CORPUS / "dirt-samples/bd/BT0A0D0.wav", 48_000)  # 44101 Hz
    assert len(decoded.samples) == pytest.approx(probe(CORPUS / "dirt-samples/bd/BT0A0D0.wav").frames * 48000 / 44101,
                                                 abs=2)


def test_content_decides_not_the_name(tmp_path):
    with pytest.raises(NotAudio):
        load(CORPUS / "dirt-samples/bassdm/000_BT0A0A7.WAV.ews")
    disguised = tmp_path / "kick.bin"
    disguised.write_bytes((CORPUS / "dirt-samples/bd/BT0A0A7.wav").read_bytes())
    assert load(disguised).duration > 0


def test_corrupt_and_empty_audio_files_fail_clearly(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "garbage.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    for name in ("empty.wav", "garbage.wav"):
        with pytest.raises(AudioError) as err:
            load(tmp_path / name)
        assert not isinstance(err.value, NotAudio)
        assert str(tmp_path / name) in str(err.value)


def test_truncated_file_is_flagged(tmp_path):
    data = (CORPUS / "dirt-samples/pad/alien-monolith-pad.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    decoded = load(tmp_path / "cut.wav")
    assert decoded.truncated and decoded.duration == pytest.approx(6.0, abs=0.1)


def test_content_hash_ignores_name(tmp_path):
    src = CORPUS / "dirt-samples/bd/BT0A0A7.wav"
    (tmp_path / "copy.wav").write_bytes(src.read_bytes())
    assert content_hash(src) == content_hash(tmp_path / "copy.wav")


@pytest.mark.parametrize("rel", AUDIO)
def test_samples_line_up_with_librosa_load(rel):
    """CLAP repeat-pads short clips: even one sample of length difference shifts every repeat."""
    import librosa

    reference, _ = librosa.load(CORPUS / rel, sr=48_000, mono=True)
    ours = load(CORPUS / rel, 48_000).samples
    assert len(ours) == len(reference)
    assert np.abs(ours - reference).max() < 1e-5


def test_a_fifo_or_device_is_refused_before_it_is_opened(tmp_path):
    import os

    from traum.audio import content_hash, probe
    from traum.errors import NotAudio

    os.mkfifo(tmp_path / "pipe.wav")  # opening it for reading would block until a writer comes
    for target in (tmp_path / "pipe.wav", "/dev/zero"):
        for read in (lambda p: load(p, None), probe, content_hash):
            with pytest.raises(NotAudio, match="not a regular file"):
                read(target)


def test_a_file_name_with_non_utf8_bytes_decodes_probes_and_gives_peaks(tmp_path):
    import os
    import shutil

    from traum.audio.decode import peaks

    source = CORPUS / "dirt-samples/sn/ST0T0S3.wav"
    latin1 = tmp_path / os.fsdecode(b"caf\xe9.wav")  # surrogate-escaped: soundfile cannot encode the name
    shutil.copyfile(source, latin1)
    assert probe(latin1) == probe(source)
    ours, reference = load(latin1, None), load(source, None)
    assert len(ours.samples) > 0 and np.array_equal(ours.samples, reference.samples)
    assert peaks(latin1, 16) == peaks(source, 16) and max(peaks(latin1, 16)) > 0.01


def test_the_mixdown_is_the_channels_mean_to_the_bit():
    from traum.audio.decode import _mixdown, _mono_blocks

    path = CORPUS / "dirt-samples" / "baa" / "1.wav"  # stereo
    stereo = sf.read(str(path), dtype="float32", always_2d=True)[0]
    assert stereo.shape[1] == 2
    mono = np.concatenate(list(_mono_blocks(path, block_frames=4096)))
    np.testing.assert_array_equal(mono, stereo.mean(axis=1, dtype=np.float32))
    three = np.ascontiguousarray(np.c_[stereo, stereo[:, ::-1].sum(axis=1)])
    np.testing.assert_array_equal(_mixdown(three), three.mean(axis=1, dtype=np.float32))
