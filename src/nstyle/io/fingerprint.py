"""sha256 fingerprints of inputs, hashed one way everywhere: how a resumed transfer or video and a rerun batch know
that their inputs are the bytes the earlier run was made with (a file's name says nothing about its contents)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import PIL.Image

_CHUNK = 1 << 20
# (path, size, mtime, inode) -> digest of a large file: a weights file (hundreds of MB) is hashed once per process,
# not once per batch job. Small files are hashed every time (a rewrite within one clock tick keeps the mtime).
_FILE_DIGESTS: dict[tuple, str] = {}
_CACHED_FROM = 16 << 20


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, read in chunks; an OSError when it cannot be read."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
    if key in _FILE_DIGESTS:
        return _FILE_DIGESTS[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    if stat.st_size >= _CACHED_FROM:
        _FILE_DIGESTS[key] = digest.hexdigest()
    return digest.hexdigest()


def pixels_digest(*images: PIL.Image.Image) -> str:
    """sha256 of images in memory (an API caller's images, a video's decoded frames): mode, size and pixels."""
    digest = hashlib.sha256()
    for image in images:
        digest.update(f"{image.mode} {image.width}x{image.height};".encode())
        digest.update(image.tobytes())
    return digest.hexdigest()


def input_digest(value: str | os.PathLike | PIL.Image.Image) -> str:
    """A file's bytes, or an in-memory image's pixels."""
    if isinstance(value, PIL.Image.Image):
        return pixels_digest(value)
    return file_digest(value)
