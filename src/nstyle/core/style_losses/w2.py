"""``--style-loss w2``: the Wasserstein-2 distance of Gaussians fitted to the features, with regions and in tiles."""

from __future__ import annotations

from ..distributions import GuidedMeanCovarianceLoss, MeanCovarianceLoss
from ..losses import StyleSources
from ..tiling import TiledW2, style_moments_of


def plain(sources: StyleSources) -> MeanCovarianceLoss:
    return MeanCovarianceLoss(sources.features, sources.blend)


def guided(sources: StyleSources) -> GuidedMeanCovarianceLoss:
    g = sources.guidance
    return GuidedMeanCovarianceLoss(sources.features, g.styles, sources.mix, g.content, sources.shares)


def tiled(backbone, styles, layers, tile, overlap, blend, mode, image_pixels) -> dict[str, TiledW2]:
    """Per layer, W2 from the whole image's mean and second moment summed tile by tile (so are the styles')."""
    targets = style_moments_of(backbone, styles, layers, tile, overlap, blend=blend)
    return {name: TiledW2(t) for name, t in targets.items()}
