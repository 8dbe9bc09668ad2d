"""Large images in bounded memory: the whole image's loss and gradient, computed tile by tile.

A VGG19 evaluation at 4096x3072 would hold about 40 GB of activations for its backward pass. Here the
image is cut into overlapping tiles, and every tile *owns* the part of each feature map up to the middle
of its overlaps, so the owned parts partition the image's feature maps. The losses are sums over
positions (the content error) or functions of sums over positions (a Gram matrix is the sum of the
tiles' Grams), so one evaluation is exact:

1. forward every tile without a graph and add up the owned Grams: the whole image's Gram matrices;
2. the style loss of those Grams and its gradient with respect to them (small, C x C per layer);
3. forward and backward each tile in turn, with the loss ``<dL/dG, G_tile> + content error of the owned
   part``, and add its gradient into the image's.

Memory is that of one tile's forward and backward pass, whatever the image size; the price is the
extra forward pass of step 1 (about 1.5x the work of an untiled evaluation, plus the overlaps). Because
the optimiser sees one image and one exact gradient, there is nothing to blend and no seam, other than
where a tile's owned features differ from the whole image's for want of context (the overlap gives each
owned feature at least half an overlap of it). ``seam_score`` measures that.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import torch

from .distributions import GaussianTarget, gaussian_w2
from .gram import gram_matrix
from .losses import ContentLoss, StyleLoss, TotalVariationLoss
from .modes import get_mode

ALIGN = 32  # tile edges and overlap middles fall on multiples of the deepest stride, so feature grids line up


@dataclass(frozen=True)
class Tile:
    top: int
    left: int
    height: int
    width: int
    own_rows: tuple[int, int]  # the image rows this tile owns, in image coordinates
    own_cols: tuple[int, int]

    def crop(self, image: torch.Tensor) -> torch.Tensor:
        return image[..., self.top:self.top + self.height, self.left:self.left + self.width]

    def owned(self, features: torch.Tensor) -> torch.Tensor:
        """The part of this tile's feature map that it owns (the feature map's stride from its size)."""
        fh, fw = features.shape[-2:]
        r0, r1 = (_to_features(v - self.top, self.height, fh) for v in self.own_rows)
        c0, c1 = (_to_features(v - self.left, self.width, fw) for v in self.own_cols)
        return features[..., r0:r1, c0:c1]


def _to_features(pixel: int, size: int, features: int) -> int:
    return min(features, round(pixel * features / size)) if pixel < size else features


def _spans(length: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """(start, size, own_start, own_end) of tiles along one axis: starts on multiples of ALIGN, evenly
    spread, neighbours sharing at least ``overlap``; owned parts split each overlap at an ALIGN boundary."""
    if length <= tile:
        return [(0, length, 0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    last = (length - tile) // ALIGN * ALIGN
    starts = sorted({round(i * last / (count - 1) / ALIGN) * ALIGN for i in range(count)})
    ends = [s + tile for s in starts[:-1]] + [length]
    cuts = [0] + [round((starts[i + 1] + ends[i]) / 2 / ALIGN) * ALIGN for i in range(len(starts) - 1)] + [length]
    return [(s, e - s, cuts[i], cuts[i + 1]) for i, (s, e) in enumerate(zip(starts, ends, strict=True))]


def tile_grid(height: int, width: int, tile: int, overlap: int) -> list[Tile]:
    """Overlapping tiles covering the image, each about ``tile`` pixels square, in raster order."""
    if not 0 < overlap < tile:
        raise ValueError(f"the overlap must be between 0 and the tile size, not {overlap} for {tile}")
    return [Tile(r[0], c[0], r[1], c[1], (r[2], r[3]), (c[2], c[3]))
            for r in _spans(height, tile, overlap) for c in _spans(width, tile, overlap)]


def tiled_statistics(backbone, image: torch.Tensor, layers: Sequence[str], tiles: Sequence[Tile]
                     ) -> dict[str, tuple[torch.Tensor, torch.Tensor, int]]:
    """The image's unnormalised Gram matrices ``F F^T`` [1, C, C], feature sums [1, C] and position counts ``M`` per
    layer, tile by tile."""
    grams: dict[str, torch.Tensor] = {}
    sums: dict[str, torch.Tensor] = {}
    counts: dict[str, int] = {}
    with torch.no_grad():
        for t in tiles:
            for name, f in backbone(t.crop(image), list(layers)).items():
                f = t.owned(f)
                g, total = gram_matrix(f), f.float().sum(dim=(-2, -1))
                grams[name] = grams[name] + g if name in grams else g
                sums[name] = sums[name] + total if name in sums else total
                counts[name] = counts.get(name, 0) + f.shape[-2] * f.shape[-1]
    return {name: (grams[name], sums[name], counts[name]) for name in grams}


def tiled_grams(backbone, image: torch.Tensor, layers: Sequence[str], tiles: Sequence[Tile]
                ) -> dict[str, tuple[torch.Tensor, int]]:
    """The image's unnormalised Gram matrices ``F F^T`` and position counts ``M`` per layer, tile by tile."""
    return {name: (g, m) for name, (g, _, m) in tiled_statistics(backbone, image, layers, tiles).items()}


class TiledObjective:
    """``objective(image) -> (loss, parts)`` of a whole image, evaluated tile by tile (see the module text).

    The style losses see the whole image's per-position Gram and mean (sums over the tiles); the content targets
    are the content image's owned features, computed once here.
    """

    def __init__(self, backbone, content: torch.Tensor, style_losses: Mapping[str, TiledStyleLoss],
                 content_layers: Sequence[str], layer_weights: Mapping[str, float], weights: Mapping[str, float],
                 mode: str, tile: int, overlap: int):
        """``style_losses``: per style layer, the loss of the whole image's statistics (a style loss's ``tiled``
        factory makes them: ``catalog.StyleLossRecord.tiled_losses``)."""
        self.backbone = backbone
        self.tiles = tile_grid(content.shape[-2], content.shape[-1], tile, overlap)
        self.weights = dict(weights)
        self.layer_weights = get_mode(mode).layer_weights(layer_weights)
        self.content_layers = list(content_layers)
        self.layers = list(dict.fromkeys(self.content_layers + list(self.layer_weights)))
        with torch.no_grad():
            self.content_targets = [{n: t.owned(f) for n, f in backbone(t.crop(content), self.content_layers).items()}
                                    for t in self.tiles]
        self.content_counts = {n: sum(c[n].numel() for c in self.content_targets) for n in self.content_layers}
        # One ContentLoss per layer for the reduction, normalised by the whole target's squared norm.
        self.content_losses = {
            n: ContentLoss(self.content_targets[0][n], mode,
                           target_squared_norm=sum(c[n].pow(2).sum().item() for c in self.content_targets))
            for n in self.content_layers}
        self.style_losses = {n: style_losses[n] for n in self.layer_weights}
        self.tv_loss = TotalVariationLoss(mode)

    def compose(self, image: torch.Tensor) -> torch.Tensor:
        """The picture the optimised image stands for: itself (tiles take no masks)."""
        return image

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        parts: dict[str, torch.Tensor] = {}
        loss = _TiledLoss.apply(image, self, parts)
        return loss, parts

    def evaluate(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        """The loss, its gradient with respect to ``image``, and the weighted parts."""
        image = image.detach()
        grad = torch.zeros_like(image)
        # 1-2: the whole image's Grams (and feature sums), the style loss, and its gradient with respect to them.
        statistics = tiled_statistics(self.backbone, image, list(self.layer_weights), self.tiles)
        style = image.new_zeros(())
        gram_grads: dict[str, torch.Tensor] = {}
        sum_grads: dict[str, torch.Tensor] = {}
        for name, (gram, total, m) in statistics.items():
            per_position = (gram / m).requires_grad_(True)
            mean = (total / m).requires_grad_(True)
            loss = self.style_losses[name]
            with torch.enable_grad():
                value = self.layer_weights[name] * loss(per_position, mean, m)
                if loss.uses_mean:
                    g, g_mean = torch.autograd.grad(value * self.weights["style"], (per_position, mean))
                    sum_grads[name] = g_mean / m  # d loss / d (sum of F over positions)
                else:
                    (g,) = torch.autograd.grad(value * self.weights["style"], per_position)
            gram_grads[name] = g / m  # d loss / d (F F^T)
            style = style + value.detach()
        # 3: each tile's share of the gradient.
        content = image.new_zeros(())
        for t, targets in zip(self.tiles, self.content_targets, strict=True):
            with torch.enable_grad():
                x = t.crop(image).clone().requires_grad_(True)
                feats = self.backbone(x, self.layers)
                share = x.new_zeros(())
                for name, g in gram_grads.items():
                    share = share + (g * gram_matrix(t.owned(feats[name]))).sum()
                    if name in sum_grads:
                        share = share + (sum_grads[name] * t.owned(feats[name]).float().sum(dim=(-2, -1))).sum()
                for name in self.content_layers:
                    squared = (t.owned(feats[name]) - targets[name]).pow(2).sum()
                    term = self.content_losses[name].from_squared_error(squared, self.content_counts[name])
                    share = share + self.weights["content"] * term
                    content = content + term.detach()
                share.backward()
            t.crop(grad).add_(x.grad)
        parts = {"content": self.weights["content"] * content, "style": self.weights["style"] * style}
        if self.weights["tv"]:
            with torch.enable_grad():
                x = image.clone().requires_grad_(True)
                tv = self.weights["tv"] * self.tv_loss(x)
                tv.backward()
            grad += x.grad
            parts["tv"] = tv.detach()
        else:
            parts["tv"] = image.new_zeros(())
        return parts["content"] + parts["style"] + parts["tv"], grad, parts


class _TiledLoss(torch.autograd.Function):
    """Hands the tile-by-tile gradient to autograd, so optimisers use a TiledObjective like any other."""

    @staticmethod
    def forward(ctx, image: torch.Tensor, objective: TiledObjective, parts: dict) -> torch.Tensor:
        loss, grad, computed = objective.evaluate(image)
        parts.update(computed)
        ctx.save_for_backward(grad)
        return loss

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return grad_output * grad, None, None


@dataclass(frozen=True)
class StyleMoments:
    """A style's features' mean [C] and second moment E[y y^T] [C, C] on one layer (several styles mixed)."""

    mean: torch.Tensor
    second: torch.Tensor


class TiledStyleLoss(Protocol):
    """A style loss of the whole image's statistics, which tiles add up: ``loss(gram, mean, m)`` of the per-position
    Gram [1, C, C] and mean [1, C] over ``m`` positions. ``uses_mean``: whether it reads the mean (its gradient is
    then handed back to the tiles too)."""

    uses_mean: bool

    def __call__(self, gram: torch.Tensor, mean: torch.Tensor, m: int) -> torch.Tensor: ...


class TiledGram:
    """The Gram loss (``losses.StyleLoss``) of the whole image's Gram."""

    uses_mean = False

    def __init__(self, loss: StyleLoss):
        self.loss = loss

    @property
    def target(self) -> torch.Tensor:
        return self.loss.target

    def __call__(self, gram: torch.Tensor, mean: torch.Tensor, m: int) -> torch.Tensor:
        return self.loss.from_gram(gram, gram.shape[-1], m)


class TiledW2:
    """W2 of the whole image from its mean and second moment (``distributions.GaussianTarget``), relative to the
    style's E|y|^2 as the untiled loss is."""

    uses_mean = True

    def __init__(self, target: StyleMoments):
        mean, second = target.mean.float(), target.second.float()
        self.gaussian = GaussianTarget(moments=(mean, second - torch.outer(mean, mean)))
        self.scale = 1.0 / max(torch.trace(second).item(), 1e-12)

    def __call__(self, gram: torch.Tensor, mean: torch.Tensor, m: int) -> torch.Tensor:
        second, mean = gram[0].float(), mean[0]
        g = self.gaussian
        return gaussian_w2(mean, second - torch.outer(mean, mean), g.mean, g.cov_trace, g.root) * self.scale


def style_moments_of(backbone, styles: Sequence[torch.Tensor], layers: Sequence[str], tile: int, overlap: int,
                     blend: Sequence[float] | None = None) -> dict[str, StyleMoments]:
    """The mixture of one or more style images' feature moments (blended by weight), tile by tile."""
    blend = list(blend) if blend is not None else [1.0] * len(styles)
    total = sum(blend)
    means: dict[str, torch.Tensor] = {}
    seconds: dict[str, torch.Tensor] = {}
    for style, share in zip(styles, blend, strict=True):
        tiles = tile_grid(style.shape[-2], style.shape[-1], tile, overlap)
        for name, (gram, feature_sum, m) in tiled_statistics(backbone, style, layers, tiles).items():
            w = share / total
            mean, second = feature_sum[0].float() / m * w, gram[0].float() / m * w
            means[name] = means[name] + mean if name in means else mean
            seconds[name] = seconds[name] + second if name in seconds else second
    return {name: StyleMoments(means[name], seconds[name]) for name in means}


def style_targets_of(backbone, styles: Sequence[torch.Tensor], layers: Sequence[str], tile: int, overlap: int,
                     blend: Sequence[float] | None = None) -> dict[str, torch.Tensor]:
    """Per-position Gram targets of one or more style images (blended by weight), tile by tile."""
    blend = list(blend) if blend is not None else [1.0] * len(styles)
    total = sum(blend)
    targets: dict[str, torch.Tensor] = {}
    for style, share in zip(styles, blend, strict=True):
        tiles = tile_grid(style.shape[-2], style.shape[-1], tile, overlap)
        for name, (gram, m) in tiled_grams(backbone, style, layers, tiles).items():
            g = gram / m * (share / total)
            targets[name] = targets[name] + g if name in targets else g
    return targets


def seam_score(image: torch.Tensor, tiles: Sequence[Tile], reach: int = 6) -> float:
    """How much the lines where tiles meet stand out: the largest ratio of the mean absolute pixel jump
    across such a line (a tile's edge, or the split of an overlap) to the mean jump across the parallel
    lines within ``reach`` pixels of it. About 1 without a seam; a seam makes its line jump several times
    more than its neighbourhood.
    """
    x = image.float().mean(1)[0]
    jumps_down = (x[1:, :] - x[:-1, :]).abs().mean(1)  # [i]: between rows i and i + 1
    jumps_right = (x[:, 1:] - x[:, :-1]).abs().mean(0)

    def worst(jumps: torch.Tensor, lines: set[int]) -> float:
        score = 0.0
        for p in lines:  # the jump between p - 1 and p
            i = p - 1
            near = [jumps[q] for q in range(i - reach, i + reach + 1) if 0 <= q < len(jumps) and abs(q - i) >= 2]
            if 0 <= i < len(jumps) and near:
                score = max(score, float(jumps[i] / (torch.stack(near).mean() + 1e-8)))
        return score

    rows = {v for t in tiles for v in (t.top, t.top + t.height, *t.own_rows)} - {0, x.shape[0]}
    cols = {v for t in tiles for v in (t.left, t.left + t.width, *t.own_cols)} - {0, x.shape[1]}
    return max(worst(jumps_down, rows), worst(jumps_right, cols))
