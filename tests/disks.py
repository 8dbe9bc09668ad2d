"""Full disks and read-only folders for tests (issue 33, item 5): a small tmpfs mounted for the test where the
tests run as root (mount works), else the test is skipped. Filled to the last byte, or mounted read-only."""

import contextlib
import os
import subprocess
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted(folder: Path, *options: str):
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(("size=256k", *options)), "tmpfs", str(folder)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (not root): no full or read-only disk to test with")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    fd = os.open(folder / ".filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


@pytest.fixture
def full_disk(tmp_path):
    """An empty folder on a full file system."""
    with mounted(tmp_path / "full") as folder:
        fill(folder)
        yield folder


@pytest.fixture
def read_only_disk(tmp_path):
    """A read-only folder (a read-only tmpfs: root can write in any folder chmod 0555)."""
    with mounted(tmp_path / "read-only", "ro") as folder:
        yield folder


def fsync_fails_for(monkeypatch, fragment: str) -> None:
    """Make flushing any file whose path holds ``fragment`` fail as a full disk does (ENOSPC), the rest as usual."""
    import errno

    real_fsync = os.fsync

    def fsync(fd):
        if fragment in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
