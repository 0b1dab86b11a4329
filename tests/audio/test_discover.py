import os

import pytest

from traum.audio import Found, Unreadable, discover


def test_walks_recursively_and_skips_hidden(tmp_path):
    (tmp_path / "kicks" / "deep").mkdir(parents=True)
    (tmp_path / "kicks" / "deep" / "a.wav").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "b.wav").write_bytes(b"x")
    (tmp_path / "._c.wav").write_bytes(b"x")
    found = [f.path for f in discover([tmp_path]) if isinstance(f, Found)]
    assert found == [str(tmp_path / "kicks" / "deep" / "a.wav")]


def test_survives_symlink_loops_and_broken_links(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.wav").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    os.symlink(tmp_path / "nowhere", tmp_path / "a" / "dangling.wav")
    items = list(discover([tmp_path]))
    assert [i.path for i in items if isinstance(i, Found)] == [str(tmp_path / "a" / "x.wav")]
    assert [i.reason for i in items if isinstance(i, Unreadable)] == ["broken symbolic link"]


def test_unicode_and_spaces_in_names(tmp_path):
    name = tmp_path / "Ünïcødé pads" / "bright päd 01 – F#m.wav"
    name.parent.mkdir()
    name.write_bytes(b"x")
    assert [f.path for f in discover([tmp_path])] == [str(name)]


def test_missing_root_is_reported_not_raised(tmp_path):
    assert isinstance(next(iter(discover([tmp_path / "nope"]))), Unreadable)


def test_unreadable_folder_is_reported(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.wav").write_bytes(b"x")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("this user (root) reads folders whatever their mode")
        items = list(discover([tmp_path]))
        assert [i.path for i in items if isinstance(i, Unreadable)] == [str(locked)]
    finally:
        locked.chmod(0o755)


def test_fifos_and_devices_are_reported_never_opened(tmp_path):
    from traum.audio import Unreadable

    os.mkfifo(tmp_path / "pipe.wav")
    os.symlink("/dev/null", tmp_path / "null.wav")
    os.symlink(tmp_path / "nowhere", tmp_path / "gone.wav")
    found = {os.path.basename(item.path): item for item in discover([tmp_path])}
    assert found["pipe.wav"].reason == "not a regular file (FIFO)"
    assert found["null.wav"].reason == "symbolic link to not a regular file (character device)"
    assert found["gone.wav"].reason == "broken symbolic link"
    direct = list(discover([tmp_path / "pipe.wav", "/dev/zero"]))
    assert all(isinstance(item, Unreadable) and "not a regular file" in item.reason for item in direct)
