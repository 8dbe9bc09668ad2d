"""``--style-loss sliced``: sliced Wasserstein, the whole distribution; whole images only."""

from __future__ import annotations

from ..distributions import SlicedWassersteinLoss
from ..losses import StyleSources


def plain(sources: StyleSources) -> SlicedWassersteinLoss:
    return SlicedWassersteinLoss(sources.features, sources.blend)
