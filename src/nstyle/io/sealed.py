"""Cached safetensors files that carry their own checksum, so that a file truncated, zeroed in part or overwritten
with NaN is found before it is loaded, not after a run that painted with it.

nstyle writes the sha256 of a file's data section (every byte after the header) into the header's metadata under
:data:`KEY`. The data section does not depend on the metadata, so the digest is known before the file is written.
:func:`check` reads the header, compares the file's size with the extent the header gives (a truncated file fails
here, at no cost) and, with ``full``, hashes the data section (about 0.2 s for VGG19's 80 MB; see
docs/RELIABILITY.md). Only the standard library is used: listing what is cached stays instant.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

KEY = "nstyle_data_sha256"
_MAX_HEADER = 100_000_000


class Damaged(Exception):
    """A cached file that must not be used; ``str(err)`` says how it is damaged, in a few words."""


class Unsealed(Damaged):
    """A readable file without a checksum: one written by an older nstyle."""


def header(path: str | os.PathLike) -> tuple[int, dict]:
    """The header's length and its JSON; ``Damaged`` when the file does not start as a safetensors file."""
    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > _MAX_HEADER:
                raise Damaged("not a safetensors file (its header length is impossible)")
            parsed = json.loads(f.read(length))
    except FileNotFoundError:
        raise Damaged("missing") from None
    except (OSError, ValueError, struct.error) as err:
        raise Damaged(f"unreadable ({type(err).__name__})") from None
    if not isinstance(parsed, dict):
        raise Damaged("not a safetensors file")
    return length, parsed


def data_size(parsed: dict) -> int:
    """How many bytes of tensors the header describes."""
    ends = [entry["data_offsets"][1] for name, entry in parsed.items()
            if name != "__metadata__" and isinstance(entry, dict) and "data_offsets" in entry]
    return max(ends, default=0)


def digest_bytes(blob: bytes) -> str:
    """The checksum of a whole safetensors file held in memory, as :func:`check` computes it from the file."""
    (length,) = struct.unpack("<Q", blob[:8])
    return hashlib.sha256(memoryview(blob)[8 + length:]).hexdigest()


def check(path: str | os.PathLike, full: bool = True) -> dict:
    """The metadata of an intact file; ``Damaged`` saying what is wrong otherwise (``Unsealed``: no checksum).

    Without ``full`` only the size is compared with the header (instant); with it, the data is hashed too."""
    length, parsed = header(path)
    expected = 8 + length + data_size(parsed)
    actual = os.path.getsize(path)
    if actual != expected:
        raise Damaged(f"truncated ({actual} of {expected} bytes)" if actual < expected
                      else f"longer than its header says ({actual} bytes, not {expected})")
    metadata = parsed.get("__metadata__") if isinstance(parsed.get("__metadata__"), dict) else {}
    if KEY not in metadata:
        raise Unsealed("without a checksum (cached by an older nstyle)")
    if full:
        with open(path, "rb") as f:
            f.seek(8 + length)
            actual_digest = hashlib.file_digest(f, "sha256").hexdigest()
        if actual_digest != metadata[KEY]:
            raise Damaged("corrupt (its checksum does not match: changed since it was cached)")
    return metadata
