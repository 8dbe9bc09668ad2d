"""Files written whole or not at all: a reader, or a run stopped at any moment, sees the old file or the new
one, never a part. Every output of nstyle (images, loss tables, checkpoints, weights, videos, the web page's
job files) is written through :func:`replacing`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def replacing(path: str | os.PathLike, prefix: str | None = None, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to, with the same extension (for writers that go by it).

    When the block ends without error the file is flushed to disk and replaces ``path``, keeping the mode of
    the file it replaces, or the usual umask-based mode for a new one (``mode`` overrides). On any error,
    Ctrl-C included, it is removed and ``path`` is left as it was.
    """
    target = Path(path)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=prefix or f".{target.name}.", suffix=f".tmp{target.suffix}")
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, new_file_mode(target) if mode is None else mode)  # mkstemp creates 0600 files
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def new_file_mode(target: Path) -> int:
    """Keep an overwritten file's permissions; give new files the usual umask-based ones."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
