"""LPIPS v0.1 with the AlexNet trunk (Zhang et al. 2018): the content term of ArtFID.

    d(x, y) = sum_l mean_hw  w_l . (n_l(x) - n_l(y))^2,   n_l = relu_l features / their channel norm

LPIPS takes images in [-1, 1] and shifts and scales them by fixed constants before the trunk; done on
``2x - 1`` that is exactly torch's ImageNet normalisation of ``x`` in 0..1 (0.485 = (1 - 0.030) / 2,
0.229 = 0.458 / 2, and so on), which is what nstyle's AlexNet applies. So images here are RGB in 0..1,
like everywhere in nstyle, and the numbers are LPIPS's on [-1, 1].
"""

from __future__ import annotations

import torch
from torch import nn

from ...models.alexnet import AlexNet
from ...models.lpips import LAYERS, LinearHeads, load_heads

EPS = 1e-10  # LPIPS's normalize_tensor epsilon
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601-2, as PIL's convert("L") and torchvision's Grayscale


def grayscale(rgb01: torch.Tensor) -> torch.Tensor:
    """The luma of [B, 3, H, W] images, copied into three channels (what LPIPS-gray compares)."""
    weights = torch.tensor(LUMA, dtype=rgb01.dtype, device=rgb01.device).view(1, 3, 1, 1)
    return (rgb01 * weights).sum(1, keepdim=True).expand(-1, 3, -1, -1)


def _unit(features: torch.Tensor) -> torch.Tensor:
    return features / (features.pow(2).sum(1, keepdim=True).sqrt() + EPS)


class LPIPS(nn.Module):
    """``LPIPS()(x, y)`` -> [B] distances of [B, 3, H, W] images in 0..1; one side may be a batch of 1.

    ``features`` and ``distance`` split the work, so a content image compared with many results goes
    through the trunk once.
    """

    def __init__(self, trunk: AlexNet | None = None, heads: LinearHeads | None = None):
        super().__init__()
        if trunk is None:
            from ...models.weights import load_backbone

            trunk = load_backbone("alexnet")
        self.trunk = trunk.eval().requires_grad_(False)
        self.heads = (heads if heads is not None else load_heads()).eval().requires_grad_(False)

    @torch.no_grad()
    def features(self, rgb01: torch.Tensor) -> list[torch.Tensor]:
        """The five unit-normalised feature maps of ``rgb01``."""
        out = self.trunk(rgb01, LAYERS)
        return [_unit(out[name]) for name in LAYERS]

    @torch.no_grad()
    def distance(self, a: list[torch.Tensor], b: list[torch.Tensor]) -> torch.Tensor:
        total = 0.0
        for lin, fa, fb in zip(self.heads.lins, a, b, strict=True):
            total = total + lin((fa - fb).pow(2)).mean((1, 2, 3))
        return total

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.distance(self.features(x), self.features(y))
