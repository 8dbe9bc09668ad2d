"""Outputs never replace inputs, and a command that fails leaves no empty folder of its own behind.

Every entry point that writes files (the commands, the batch, the Python API's compare, sweep and video) lists
what it will write and what it reads, and calls :func:`refuse_overwriting_inputs` before any work: a clash is
one ``UsageError`` naming both, and nothing is touched. Paths are compared after ``os.path.realpath`` (symbolic
links, ``./x`` against ``x``, ``..``) and by device and inode for files that exist (hard links). Two names that a
case-insensitive file system takes for one file are caught only when the output already exists (then they share
an inode); telling them apart otherwise is out of scope.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from nstyle.errors import UsageError

PathLike = str | os.PathLike
#: A labelled path, or a list or tuple of them under one label; anything else is skipped, so that callers can
#: pass images already in memory or options left unset.
Paths = Mapping[str, object]


def _labelled(paths: Paths | None) -> Iterator[tuple[str, str]]:
    for label, value in (paths or {}).items():
        if isinstance(value, (str, os.PathLike)):
            values = [value]
        elif isinstance(value, (list, tuple)):
            values = [v for v in value if isinstance(v, (str, os.PathLike))]
        else:
            continue
        for path in values:
            yield label, os.path.expanduser(os.fspath(path))


def _inode(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _how(first: str, second: str) -> str:
    """Why two different-looking names are one file, for the message."""
    if first == second or os.path.abspath(first) == os.path.abspath(second):
        return ""
    if os.path.realpath(first) == os.path.realpath(second):
        return " (the same file, through a symbolic link)"
    return " (the same file, a hard link)"


def refuse_overwriting_inputs(outputs: Paths, inputs: Paths, folders: Paths | None = None,
                              advice: str = "give the output another name") -> None:
    """Raise a one-line ``UsageError`` when a file in ``outputs`` would be one of ``inputs``, or an input lies
    inside one of ``folders`` (folders the run fills with names of its own, or removes).

    Each argument maps a label for messages (``"-o"``, ``"the content image"``, ``"--mask"``) to a path or a
    list of paths; ``advice`` says what to do instead. Outputs that do not exist yet are compared by name only.
    """
    sources = [(label, path, os.path.realpath(path)) for label, path in _labelled(inputs)]
    if not sources:
        return
    by_name: dict[str, tuple[str, str]] = {}
    by_inode: dict[tuple[int, int], tuple[str, str]] = {}
    for label, path, real in sources:
        by_name.setdefault(real, (label, path))
        inode = _inode(path)
        if inode is not None:
            by_inode.setdefault(inode, (label, path))
    for out_label, out in _labelled(outputs):
        clash = by_name.get(os.path.realpath(out))
        if clash is None and by_inode:
            inode = _inode(out)
            clash = by_inode.get(inode) if inode is not None else None
        if clash is not None:
            in_label, path = clash
            raise UsageError(f"{out_label} {out!r} would replace {in_label} {path!r}{_how(out, path)}; nstyle "
                             f"never writes over its inputs: {advice}")
    for folder_label, folder in _labelled(folders):
        inside = os.path.realpath(folder)
        for in_label, path, real in sources:
            if real == inside or real.startswith(inside.rstrip(os.sep) + os.sep):
                raise UsageError(f"{in_label} {path!r} is inside {folder!r}, {folder_label}; nstyle never writes "
                                 f"over its inputs: move the input out of it or {advice}")


def missing_folder(folder: PathLike) -> str:
    """Why ``folder`` (the parent of an output) is not there, for a message: a file stands in its way, or it
    does not exist."""
    folder = Path(folder)
    for step in [folder, *folder.parents]:
        if step.exists():
            if not step.is_dir():
                return f"{str(step)!r} is a file, not a folder; give another path"
            break
    return f"folder {str(folder)!r} does not exist; create it first"


def output_folder(folder: PathLike, advice: str) -> Path:
    """The folder for a command's results, created if missing, or a one-line UsageError ending in ``advice``
    (a file in its place, or no permission to create it)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder; {advice}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create {folder} ({err.strerror}); {advice}") from None
    check_writable(folder, advice)
    return folder


def check_writable(folder: PathLike, advice: str) -> None:
    """A one-line UsageError, before any work, when nothing can be written in ``folder`` (a read-only file
    system, no permission): found now rather than after a long run. A file is made there and removed at once."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise UsageError(f"cannot write in {folder} ({err.strerror or err}); {advice}") from None


def check_folder_for_outputs(folder: PathLike, flag: str, advice: str) -> None:
    """Before any work, for a folder made only once the results are ready (``--save-maps``): a file in its
    place or in the way of its parents, or a folder nothing can be written in, is one UsageError now."""
    folder = Path(folder)
    for step in [folder, *folder.parents]:
        if step.exists():
            if not step.is_dir():
                raise UsageError(f"{flag} {str(folder)!r}: {str(step)!r} is a file, not a folder; {advice}")
            check_writable(step, advice)
            return


@contextlib.contextmanager
def removed_on_failure(folder: PathLike, leftovers: tuple[str, ...] = ()) -> Iterator[None]:
    """If the block fails (Ctrl-C included), remove ``folder`` and the parents made with it, as long as this block
    made them and they hold nothing but ``leftovers`` (files of the command's own, such as a state file that
    records no work): a failed command leaves no empty folder behind, and a folder that existed before is kept."""
    folder = Path(folder).absolute()
    made = []  # the folders missing now, deepest first
    parent = folder
    while not parent.exists() and parent != parent.parent:
        made.append(parent)
        parent = parent.parent
    try:
        yield
    except BaseException:
        for created in made:
            try:
                if created == folder and leftovers and {p.name for p in created.iterdir()} <= set(leftovers):
                    for name in leftovers:
                        (created / name).unlink(missing_ok=True)
                created.rmdir()  # only an empty folder; anything else written in it keeps it
            except OSError:
                break
        raise


@contextlib.contextmanager
def folder_for_results(folder: PathLike, advice: str) -> Iterator[Path]:
    """``output_folder``, removed again if the block fails before anything is written in it."""
    with removed_on_failure(folder):
        yield output_folder(folder, advice)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def refuse_links_out(folder: PathLike, names, label: str = "-o", advice: str = "remove the link or give another -o"):
    """Raise a one-line ``UsageError`` when a file the run writes in ``folder`` (``names``: the paths of files
    inside it, as the run writes them) would pass through a symbolic link to a folder outside it (``out/sub -> ..``).

    The folder's own path is the user's to choose, links included; the names the run makes inside it are not. A
    link at a file's own name needs no check: :mod:`nstyle.io.atomic` replaces it rather than writing through it.
    """
    root = os.path.abspath(os.path.expanduser(os.fspath(folder)))
    real_root = os.path.realpath(root)
    for name in names:
        relative = os.path.relpath(os.path.abspath(os.path.expanduser(os.fspath(name))), root)
        if relative == os.curdir or relative.startswith(os.pardir):
            continue  # not inside the folder: not this check's business
        step = root
        for part in relative.split(os.sep)[:-1]:
            step = os.path.join(step, part)
            if os.path.islink(step) and not _inside(os.path.realpath(step), real_root):
                raise UsageError(f"{label} {os.fspath(folder)!r}: {os.path.relpath(step, root)!r} is a symbolic link "
                                 f"to {os.readlink(step)!r}, outside {label}; nstyle writes nothing through a link it "
                                 f"did not make: {advice}")


def refuse_link(path: PathLike, what: str, advice: str) -> None:
    """A one-line ``UsageError`` when ``path``, a folder the run makes and fills itself (a video's working
    folder of frames), is a symbolic link: what is written there, and removed from there, would be elsewhere."""
    if os.path.islink(os.path.expanduser(os.fspath(path))):
        raise UsageError(f"{os.fspath(path)!r}, {what}, is a symbolic link (to "
                         f"{os.readlink(os.path.expanduser(os.fspath(path)))!r}); nstyle writes nothing through a "
                         f"link it did not make: {advice}")
