"""What every backbone offers: named layers, its own preprocessing, and truncated feature extraction.

A backbone takes an RGB image in 0..1 (the space nstyle optimises in) and returns a dict of the named
intermediate features that were asked for. It applies its own preprocessing, so callers never need to
know whether a network was trained on BGR 0..255 ("caffe") or on normalised RGB ("torch"), and it runs
only as far as the deepest layer requested.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..errors import UsageError


@dataclass(frozen=True)
class Preprocessing:
    """How a network expects its input, given an RGB image in 0..1.

    ``x_model = (x01[channels] * scale - mean) / std`` with ``channels`` reordered to ``channel_order``.
    """

    name: str
    channel_order: str  # "RGB" or "BGR"
    scale: float
    mean: tuple[float, float, float]  # in the model's channel order and scale
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    def _stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return mean, std

    def __call__(self, rgb01: torch.Tensor) -> torch.Tensor:
        x = rgb01.flip(1) if self.channel_order == "BGR" else rgb01
        mean, std = self._stats(x)
        return (x * self.scale - mean) / std

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """Back from the model's input space to RGB 0..1."""
        mean, std = self._stats(x)
        x = (x * std + mean) / self.scale
        return x.flip(1) if self.channel_order == "BGR" else x


CAFFE = Preprocessing("caffe", "BGR", 255.0, (103.939, 116.779, 123.68))
TORCH = Preprocessing("torch", "RGB", 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
INCEPTION = Preprocessing("inception", "RGB", 2.0, (1.0, 1.0, 1.0))


class Backbone(nn.Module):
    """A pretrained CNN seen as an ordered list of named stages.

    Subclasses fill ``self.stages`` (an ``nn.ModuleDict`` in execution order) and set the class
    attributes below. ``aliases`` maps other spellings (e.g. Keras's ``block5_conv2``) to stage names.
    """

    name: str = ""
    preprocessing: Preprocessing = CAFFE
    default_content_layers: tuple[str, ...] = ()
    default_style_layers: tuple[str, ...] = ()
    min_input_size: int = 16  # the smallest image side the network can take
    aliases: dict[str, str] = {}
    compute_dtype: torch.dtype | None = None  # e.g. torch.bfloat16 to run under autocast; None: float32

    stages: nn.ModuleDict

    @staticmethod
    def checked_pooling(pooling: str) -> str:
        """'max' or 'avg': with 'avg' a network's max-pooling layers become average pooling."""
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        return pooling

    @property
    def layer_names(self) -> list[str]:
        return list(self.stages.keys())

    def resolve(self, layers: Iterable[str]) -> list[str]:
        """Canonical names for ``layers``; an unknown name is a usage error listing the valid ones."""
        names = []
        for layer in layers:
            canonical = self.aliases.get(layer, layer)
            if canonical not in self.stages:
                raise UsageError(
                    f"{self.name} has no layer {layer!r}; choose from: {', '.join(self.layer_names)}"
                )
            names.append(canonical)
        return names

    def forward(self, rgb01: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        """The named features of ``rgb01`` ([B, 3, H, W], RGB in 0..1), as float32 whatever
        ``compute_dtype`` the network runs in (``nstyle.models.precision``)."""
        if self.compute_dtype is None:
            return self._features(rgb01, layers)
        with torch.autocast(rgb01.device.type, dtype=self.compute_dtype):
            features = self._features(rgb01, layers)
        return {name: f.float() for name, f in features.items()}

    def feature_shapes(self, height: int, width: int, layers: Sequence[str]) -> dict[str, tuple[int, int, int]]:
        """(channels, height, width) of each named map for an input of ``height`` x ``width``: probed once, on
        zeros, and kept (the network's padding and pooling decide it, whichever network it is)."""
        key = (height, width, tuple(self.resolve(layers)))
        known = self.__dict__.setdefault("_feature_shapes", {})  # beside nn.Module's attributes, not a submodule
        if key not in known:
            parameter = next(self.parameters())
            with torch.no_grad():
                maps = self.forward(torch.zeros(1, 3, height, width, device=parameter.device), key[2])
            known[key] = {name: tuple(m.shape[1:]) for name, m in maps.items()}
        return known[key]

    def _features(self, rgb01: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
        wanted = set(self.resolve(layers))
        # Channels-last: oneDNN's fastest convolution layout on CPU (VGG19 at 512 px: 0.70 s against 0.85 s
        # for the forward convolutions), and the layout the Gram matrices read without a copy.
        x = self.preprocessing(rgb01).contiguous(memory_format=torch.channels_last)
        out: dict[str, torch.Tensor] = {}
        for name, stage in self.stages.items():
            x = stage(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break  # nothing deeper is needed
        return out
