"""A style distance on a network the run did not optimise, so that a method's home advantage shows.

nstyle's runs optimise VGG19 by default, and the judge measures them on VGG19 too. This is the judge's own
style formula, mean_l |G_l - A_l| / |A_l| with per-position Gram matrices, on another network's default
style layers: InceptionV3 by default (the FID network, whose weights nstyle has; a run made with
``--model inception_v3`` should be scored with ``network="resnet50"``). Images keep their size (an image
smaller than the network's smallest input is enlarged to it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...core.gram import gram_matrix
from ...models.base import Backbone

NETWORK = "inception_v3"


class CrossNetworkStyle:
    """``targets(style)`` once per style image, then ``distance(images, targets)`` -> [B]."""

    def __init__(self, net: Backbone | None = None, network: str = NETWORK, layers: tuple[str, ...] | None = None):
        if net is None:
            from ...models.weights import load_backbone

            net = load_backbone(network)
        self.net = net
        self.layers = tuple(net.resolve(layers or net.default_style_layers))

    def _grams(self, rgb01: torch.Tensor) -> dict[str, torch.Tensor]:
        side = min(rgb01.shape[-2:])
        if side < self.net.min_input_size:
            scale = self.net.min_input_size / side
            size = [max(self.net.min_input_size, round(s * scale)) for s in rgb01.shape[-2:]]
            rgb01 = F.interpolate(rgb01, size=size, mode="bilinear", align_corners=False)
        features = self.net(rgb01, self.layers)
        return {name: gram_matrix(features[name], per_position=True) for name in self.layers}

    @torch.no_grad()
    def targets(self, style: torch.Tensor) -> dict[str, torch.Tensor]:
        """The style's Gram matrices ([1, 3, H, W] in 0..1)."""
        return self._grams(style)

    @torch.no_grad()
    def distance(self, images: torch.Tensor, targets: dict[str, torch.Tensor] | list[dict[str, torch.Tensor]]
                 ) -> torch.Tensor:
        """Distances of [B, 3, H, W] images to one style's targets, or to one per image."""
        grams = self._grams(images)
        per_image = targets if isinstance(targets, list) else [targets] * images.shape[0]
        rows = []
        for i, target in enumerate(per_image):
            rows.append(torch.stack([(grams[n][i] - target[n][0]).norm() / target[n][0].norm()
                                     for n in self.layers]).mean())
        return torch.stack(rows)
