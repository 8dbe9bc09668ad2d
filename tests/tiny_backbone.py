"""A backbone with no weights to fetch: four small 3x3 conv + ReLU stages and a pool, with seeded random weights.

The engine's plumbing (levels, tiling, masks, colour, stops, seeds) does not depend on what a network has learnt, so
tests run it with this one: an evaluation at 256 px takes milliseconds, where VGG19's takes a second.
"""

import math

import torch
from torch import nn

from nstyle.models.base import TORCH, Backbone


def _conv(generator: torch.Generator, cin: int, cout: int) -> nn.Conv2d:
    """He-initialised from ``generator``, so the features keep their scale through the stages."""
    conv = nn.Conv2d(cin, cout, 3, padding=1)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * math.sqrt(2 / (cin * 9)))
        conv.bias.copy_(0.05 * torch.randn(cout, generator=generator))
    return conv


class TinyBackbone(Backbone):
    name = "tiny"
    preprocessing = TORCH
    default_content_layers = ("conv3",)
    default_style_layers = ("conv1", "conv2", "conv3", "conv4")
    min_input_size = 16

    def __init__(self, seed: int = 0, width: int = 8):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.stages = nn.ModuleDict({
            "conv1": nn.Sequential(_conv(g, 3, width), nn.ReLU()),
            "conv2": nn.Sequential(_conv(g, width, width), nn.ReLU()),
            "pool": nn.MaxPool2d(2),
            "conv3": nn.Sequential(_conv(g, width, 2 * width), nn.ReLU()),
            "conv4": nn.Sequential(_conv(g, 2 * width, 2 * width), nn.ReLU()),
        })
        self.eval().requires_grad_(False).to(memory_format=torch.channels_last)


class ExplodingBackbone(TinyBackbone):
    """Fails if it is ever run: given to calls that must refuse their options before touching the network."""

    def forward(self, *args, **kwargs):
        raise AssertionError("the backbone was run")
