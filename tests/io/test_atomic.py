"""``nstyle.io.atomic.replacing``: the one way every output is written whole or not at all."""

import os

import pytest

from nstyle.io.atomic import replacing


def test_the_new_file_replaces_the_old_one_and_keeps_its_mode(tmp_path):
    target = tmp_path / "table.csv"
    target.write_text("old")
    os.chmod(target, 0o640)
    with replacing(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv" and tmp != target
        tmp.write_text("new")
        assert target.read_text() == "old"  # nothing visible before the block ends
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt), replacing(target) as tmp:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_a_new_file_gets_the_umask_mode_or_the_one_asked_for(tmp_path):
    umask = os.umask(0o022)
    try:
        with replacing(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
        with replacing(tmp_path / "b.bin", prefix=".tmp-b.", mode=0o600) as tmp:
            assert tmp.name.startswith(".tmp-b.")
            tmp.write_bytes(b"x")
    finally:
        os.umask(umask)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.bin").stat().st_mode & 0o777 == 0o600
