"""``--style-loss gram``: Gatys et al.'s Gram matrices, in every loss normalisation, with regions and in tiles."""

from __future__ import annotations

import torch

from ..gram import gram_matrix
from ..losses import GuidedStyleLoss, StyleLoss, StyleSources, guided_gram
from ..tiling import TiledGram, style_targets_of


def plain(sources: StyleSources) -> StyleLoss:
    """The error of the image's per-position Gram against the styles' blended ones."""
    target = sum(gram_matrix(f, per_position=True) * share
                 for f, share in zip(sources.features, sources.blend, strict=True))
    return StyleLoss(target, sources.mode, image_pixels=sources.image_pixels)


def guided(sources: StyleSources) -> GuidedStyleLoss:
    """Region by region: each region's Gram against the styles' Grams of the same region, mixed by ``mix``."""
    with torch.no_grad():
        targets = sum(guided_gram(f, g) * sources.mix[k][:, None, None]
                      for k, (f, g) in enumerate(zip(sources.features, sources.guidance.styles, strict=True)))
    return GuidedStyleLoss(targets, sources.guidance.content, sources.shares, sources.mode,
                           image_pixels=sources.image_pixels)


def tiled(backbone, styles, layers, tile, overlap, blend, mode, image_pixels) -> dict[str, TiledGram]:
    """Per layer, the loss of the whole image's Gram summed tile by tile, against the styles' (also by tiles)."""
    targets = style_targets_of(backbone, styles, layers, tile, overlap, blend=blend)
    return {name: TiledGram(StyleLoss(t, mode, image_pixels=image_pixels)) for name, t in targets.items()}
