"""``nstyle.io.atomic.replacing``: the one way every output is written whole or not at all."""

import os
import signal
import subprocess
import sys

import pytest

from nstyle.io.atomic import remove_leftovers, replacing


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


def test_the_leftover_of_a_killed_writer_is_removed_and_nothing_else(tmp_path):
    """SIGKILL mid-write leaves the temporary (no handler runs); ``remove_leftovers`` deletes it and only it."""
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    others = {".out.png.backup": b"a", "out.png.tmp.png": b"b", ".out.png.short.tmp.png": b"c",
              ".other.png.abcd1234.tmp.png": b"d"}  # the user's, or another output's
    for name, data in others.items():
        (tmp_path / name).write_bytes(data)
    writer = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom nstyle.io.atomic import replacing\n"
         "with replacing(sys.argv[1]) as tmp:\n    tmp.write_bytes(b'half')\n    print('writing', flush=True)\n"
         "    time.sleep(60)\n", str(target)], stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "writing"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    left = sorted(set(p.name for p in tmp_path.iterdir()) - set(others) - {"out.png"})
    assert len(left) == 1 and left[0].startswith(".out.png.")
    assert remove_leftovers(target) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*others, "out.png"])
    assert target.read_bytes() == b"old"
    assert remove_leftovers(tmp_path / "missing" / "out.png") == 0
