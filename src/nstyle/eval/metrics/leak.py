"""Object leak: how much of the painting's picture stands in the result at the place where it stands in the painting.

A style loss should move colour and texture, never the painting's objects; a Gram or W2 loss on deep layers at
coarse sizes can paint them in, in place (a head in the photograph's sky where the portrait has it). None of the
field's numbers sees this: FID even rewards it. Here, on features of a network no nstyle run optimises
(torchvision's VGG16, as CFSD), each image resized so its long side is ``SIZE`` and the style stretched to the
result's shape:

    in_place(X) = mean_p cos(X_p, S_p) - mean_d mean_p cos(X_p, S_(p+d))      (per layer, then mean over LAYERS)
    leak(R)     = in_place(R) - in_place(C)

p runs over the feature positions, d over the circular shifts of the style's feature map by half its width, half
its height and both. The shifted style has the same colours and textures in the same amounts, only moved, so
whatever R shares with S everywhere (palette, strokes, their orientation) cancels in the difference and what is
left is resemblance at the same place. Subtracting the content's own in-place resemblance makes the photograph 0
exactly, and a photograph whose layout happens to match the painting's (sky above, ground below) scores what it
adds to it, not what it had. Not clipped: per pair the zero cases (the content in the style's colours, under a
texture of its shuffled patches) spread by up to about 0.03 on either side, and a set's mean keeps them unbiased. A
square of the style pasted in place over a fraction a of the content scores about 0.6 a; the style image itself
about 0.75 (docs/QUALITY.md, "Object leak").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...models.base import Backbone

NETWORK = "vgg16"
LAYERS = ("relu3_1", "relu4_1", "relu5_1")
SIZE = 256  # the long side every image is compared at: the measure's scale does not follow the image's
EPS = 1e-8


def working_shape(height: int, width: int, size: int = SIZE) -> tuple[int, int]:
    """The (height, width) with long side ``size`` and the image's aspect ratio."""
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _unit(features: torch.Tensor) -> torch.Tensor:
    return features / (features.norm(dim=1, keepdim=True) + EPS)


def shifts(height: int, width: int) -> tuple[tuple[int, int], ...]:
    """The chance baseline's moves of the style: half the height, half the width, both."""
    return ((height // 2, 0), (0, width // 2), (height // 2, width // 2))


def in_place(images: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> torch.Tensor:
    """Resemblance at the same place minus resemblance at shifted places, for unit feature maps [B, C, h, w] of the
    images and [1 or B, C, h, w] of the style, mean over the layers -> [B]."""
    values = []
    for name, x in images.items():
        s = style[name]
        same = (x * s).sum(1).mean((1, 2))
        moved = [(x * s.roll(d, (2, 3))).sum(1).mean((1, 2)) for d in shifts(*s.shape[-2:])]
        values.append(same - torch.stack(moved).mean(0))
    return torch.stack(values).mean(0)


class ObjectLeak:
    """``ObjectLeak()(result, content, style)`` -> [B] for [B, 3, H, W] results and [1 or B, 3, H, W] contents of
    one size and a [1, 3, h, w] style of any size; ``features`` and ``in_place`` split the work so that a content's
    and a style's features serve all their results."""

    def __init__(self, net: Backbone | None = None, network: str = NETWORK, size: int = SIZE,
                 layers: tuple[str, ...] = LAYERS):
        if net is None:
            from ...models.weights import load_backbone

            net = load_backbone(network)
        self.net = net
        self.size = size
        self.layers = tuple(layers)

    @torch.no_grad()
    def features(self, rgb01: torch.Tensor, shape: tuple[int, int] | None = None) -> dict[str, torch.Tensor]:
        """Unit feature vectors of images resized to ``shape`` (default: their own working shape): a style is given
        the result's shape, stretched, so that its positions are the result's."""
        shape = shape or working_shape(*rgb01.shape[-2:], self.size)
        x = F.interpolate(rgb01.float(), size=shape, mode="bilinear", antialias=True, align_corners=False)
        out = self.net(x.clamp(0, 1), self.layers)
        return {name: _unit(out[name].float()) for name in self.layers}

    def shape(self, rgb01: torch.Tensor) -> tuple[int, int]:
        """The working shape of a result or content: the shape its style's features must be made at."""
        return working_shape(*rgb01.shape[-2:], self.size)

    @torch.no_grad()
    def in_place(self, features: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> torch.Tensor:
        return in_place(features, style)

    def __call__(self, result: torch.Tensor, content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        if result.shape[-2:] != content.shape[-2:]:
            raise ValueError(f"result and content differ in size: {tuple(result.shape)} vs {tuple(content.shape)}")
        target = self.features(style, self.shape(result))
        return self.in_place(self.features(result), target) - self.in_place(self.features(content), target)
