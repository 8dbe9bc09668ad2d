"""Files written whole or not at all: a reader, or a run stopped at any moment, sees the old file or the new
one, never a part. Every output of nstyle (images, loss tables, checkpoints, weights, videos, the web page's
job files) is written through :func:`replacing`.

A symbolic link at the output's name is replaced by the new file, never written through: the file it leads to
is left as it was (``os.replace`` renames over the link itself). Folders are another matter: a caller that
fills a folder with names of its own checks them with ``nstyle.io.paths.refuse_links_out``."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import WriteError


@contextlib.contextmanager
def replacing(path: str | os.PathLike, prefix: str | None = None, mode: int | None = None) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to, with the same extension (for writers that go by it).

    When the block ends without error the file is flushed to disk and replaces ``path``, keeping the mode of
    the file it replaces, or the usual umask-based mode for a new one (``mode`` overrides). On any error,
    Ctrl-C included, it is removed and ``path`` is left as it was. A write the disk refuses (no space left, a
    quota, a read-only folder) is a one-line ``WriteError`` naming ``path`` and what to do, not a traceback.
    """
    target = Path(path)
    try:
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=prefix or _prefix(target), suffix=_suffix(target))
    except OSError as err:
        raise write_error(target, err) from None
    os.close(fd)
    temporary = Path(name)
    try:
        try:
            yield temporary
        except OSError as err:  # the caller's writing: a full disk or a quota is ours to explain
            if err.errno in _DISK_FULL:
                raise write_error(target, err) from None
            raise
        try:
            with open(temporary, "rb+") as written:
                os.fsync(written.fileno())
            os.chmod(temporary, new_file_mode(target) if mode is None else mode)  # mkstemp creates 0600 files
            os.replace(temporary, target)
        except OSError as err:
            raise write_error(target, err) from None
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def write_error(target: Path, err: OSError) -> WriteError:
    """One line for a file that cannot be written: which file, why, and what to do."""
    why = err.strerror or str(err)
    if err.errno in _DISK_FULL:
        advice = f"free some space on the disk that holds {target.parent} (or give another output) and run again"
    elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        advice = f"{target.parent} cannot be written to: give an output in a folder you can write to"
    elif err.errno in (errno.ENOENT, errno.ENOTDIR):
        advice = f"its folder {target.parent} is missing: create it or give another output"
    else:
        advice = "check the disk and the folder's permissions and run again"
    return WriteError(f"cannot write {target} ({why}): {advice}; what was finished before is kept")


def _prefix(target: Path) -> str:
    return f".{target.name}."


def _suffix(target: Path) -> str:
    return f".tmp{target.suffix}"


def remove_leftovers(path: str | os.PathLike) -> int:
    """Delete the temporary files :func:`replacing` made for ``path`` (default prefix) that a killed process
    (SIGKILL, power cut) could not remove; returns how many. Call it only where no other process is writing
    ``path`` now: the batch holds its folder's lock, a resumed run its own folder."""
    target = Path(path)
    name = re.compile(re.escape(_prefix(target)) + r"[a-z0-9_]{8}" + re.escape(_suffix(target)))
    removed = 0
    try:
        entries = list(os.scandir(target.parent))
    except OSError:  # no folder yet: nothing left behind
        return 0
    for entry in entries:
        if name.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


def new_file_mode(target: Path) -> int:
    """Keep an overwritten file's permissions; give new files, and those replacing a link, the usual umask-based
    ones (a link's target is not the file being replaced, so its mode is not copied)."""
    try:
        st = target.lstat()
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISLNK(st.st_mode):
        return st.st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes(path: str | os.PathLike, data: bytes, prefix: str | None = None, mode: int | None = None) -> Path:
    """``data`` to ``path``, whole or not at all (see ``replacing`` for ``prefix`` and ``mode``)."""
    with replacing(path, prefix=prefix, mode=mode) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str, **kwargs) -> Path:
    """``text`` (UTF-8) to ``path``, whole or not at all."""
    return write_bytes(path, text.encode("utf-8"), **kwargs)


def write_json(path: str | os.PathLike, data, indent: int | None = 1, **kwargs) -> Path:
    """``data`` as JSON to ``path``, whole or not at all; a value that JSON cannot hold (NaN, infinity) is refused
    before anything is written, since most readers reject such a file."""
    import json

    return write_text(path, json.dumps(data, indent=indent, allow_nan=False), **kwargs)
