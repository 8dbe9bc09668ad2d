"""Neural neighbour style transfer (``--method nnst``; Kolkin et al., ECCV 2022) as an objective of one level.

Hypercolumns (every style layer's features resampled to one grid, a quarter of the image's resolution) of the
image to search with (``content_share`` of the content plus the rest of the current image; the content alone at
the first level) are each replaced by their nearest style hypercolumn, under the sum over layers of the cosine
distance of features centred on the style's mean (the style and its three quarter-turns: more candidates keep
more of the content). The image is then optimised so that its own hypercolumns point the way of those targets:
the mean cosine distance, layer by layer. There is no content term: the content is in which style features were
chosen. The targets are fixed within a level (``retarget`` makes them from the level's start), so the objective
is smooth and L-BFGS takes it; NNST's Adam over a Laplacian pyramid is ``--optimizer adam --parametrization
laplacian``. Its last pass, which matches each layer separately at full resolution, is left out (its cost on a
CPU is that of the whole method again); the colour match to the style comes after the last level
(``color.match_oklab``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .modes import get_mode

#: the grid's long side is the image's divided by this (NNST's quarter resolution), and at most GRID_MAX
GRID_DIVISOR = 4
GRID_MAX = 96  # a 512 px image's search is then 9,216 x STYLE_POSITIONS distances a layer: seconds on 2 cores
#: style hypercolumns kept (a sample of the style and its turns), the candidates every position chooses from
STYLE_POSITIONS = 8192
SEARCH_CHUNK = 1024  # image positions searched at once: a chunk's distances are 1024 x 8192 floats


def grid_size(height: int, width: int) -> tuple[int, int]:
    """The hypercolumn grid of an image: a quarter of its resolution, the long side at most ``GRID_MAX``."""
    scale = min(1.0 / GRID_DIVISOR, GRID_MAX / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def hypercolumns(features: dict[str, torch.Tensor], layers: Sequence[str], grid: tuple[int, int]
                 ) -> list[torch.Tensor]:
    """Each layer's features [1, C, h, w] resampled to ``grid``, as [P, C] float32: averaged over each cell where the
    layer is finer than the grid, bilinearly interpolated where it is coarser. Area averaging keeps the backbone's
    channels-last layout in both directions (an antialiased bilinear resize took a fifth of an evaluation at 512 px,
    most of it adding its gradient, laid out the other way, into the network's)."""
    out = []
    for name in layers:
        f = features[name]
        if f.shape[-2] >= grid[0] and f.shape[-1] >= grid[1]:
            f = F.adaptive_avg_pool2d(f, grid) if tuple(f.shape[-2:]) != grid else f
        else:
            f = F.interpolate(f.float(), size=grid, mode="bilinear", align_corners=False)
        out.append(f[0].flatten(1).t().float())
    return out


def nearest(queries: Sequence[torch.Tensor], keys: Sequence[torch.Tensor], centres: Sequence[torch.Tensor]
            ) -> torch.Tensor:
    """For each query row, the key row nearest under the sum over layers of the centred cosine distance: [P]."""
    units = [F.normalize(k - c, dim=1) for k, c in zip(keys, centres, strict=True)]
    found = []
    for start in range(0, queries[0].shape[0], SEARCH_CHUNK):
        similarity = sum(F.normalize(q[start:start + SEARCH_CHUNK] - c, dim=1) @ u.t()
                         for q, u, c in zip(queries, units, centres, strict=True))
        found.append(similarity.argmax(dim=1))  # the largest summed similarity is the smallest summed distance
    return torch.cat(found)


def turns(image: torch.Tensor) -> list[torch.Tensor]:
    """The image and its three quarter-turns."""
    return [torch.rot90(image, k, dims=(-2, -1)) for k in range(4)]


class NeuralNeighbourLoss(nn.Module):
    """style_weight * mean_l mean_p (1 - cos(h_l(x)_p, t_l,p)) + tv_weight * TV, the targets t from ``retarget``.

    ``styles`` are mixed by their ``blend`` shares of the candidates. Returns the total and its parts, as
    ``StyleTransferLoss`` does; ``compose`` is the identity (no masks).
    """

    def __init__(self, backbone: nn.Module, content: torch.Tensor, styles: Sequence[torch.Tensor],
                 layers: Sequence[str], content_share: float, style_weight: float, tv_weight: float,
                 blend: Sequence[float] | None = None, mode: str = "nstyle", seed: int = 0):
        super().__init__()
        self.backbone, self.layers = backbone, list(layers)
        self.content_share = float(content_share)
        self.weights = {"content": 0.0, "style": style_weight, "tv": tv_weight}
        self.tv_loss = get_mode(mode).tv
        self.grid = grid_size(*content.shape[-2:])
        blend = list(blend) if blend is not None else [1.0] * len(styles)
        generator = torch.Generator().manual_seed(seed)
        per_layer: list[list[torch.Tensor]] = [[] for _ in self.layers]
        with torch.no_grad():
            for style, share in zip(styles, blend, strict=True):
                columns = [torch.cat(parts) for parts in zip(*(
                    hypercolumns(backbone(t, self.layers), self.layers, grid_size(*t.shape[-2:]))
                    for t in turns(style)), strict=True)]
                keep = min(columns[0].shape[0], max(1, round(STYLE_POSITIONS * share / sum(blend))))
                rows = torch.randperm(columns[0].shape[0], generator=generator)[:keep].to(content.device)
                for target, c in zip(per_layer, columns, strict=True):
                    target.append(c[rows])
        self.style = [torch.cat(rows) for rows in per_layer]  # [Ns, C_l] a layer
        self.centres = [s.mean(dim=0) for s in self.style]
        self.register_buffer("content_image", content.detach())
        self.targets: list[torch.Tensor] | None = None
        self.retarget(content)

    def retarget(self, current: torch.Tensor) -> None:
        """Targets from the image ``content_share`` content and the rest ``current`` (same size as the content)."""
        probe = self.content_share * self.content_image + (1.0 - self.content_share) * current.detach()
        with torch.no_grad():
            queries = hypercolumns(self.backbone(probe, self.layers), self.layers, self.grid)
            found = nearest(queries, self.style, self.centres)
            self.targets = [F.normalize(s[found], dim=1) for s in self.style]

    def compose(self, image: torch.Tensor) -> torch.Tensor:
        return image

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        columns = hypercolumns(self.backbone(image, self.layers), self.layers, self.grid)
        distance = sum((1.0 - (F.normalize(c, dim=1) * t).sum(dim=1)).mean()
                       for c, t in zip(columns, self.targets, strict=True)) / len(columns)
        zero = image.new_zeros(())
        parts = {"content": zero, "style": self.weights["style"] * distance,
                 "tv": self.weights["tv"] * self.tv_loss(image) if self.weights["tv"] else zero}
        return parts["style"] + parts["tv"], parts
