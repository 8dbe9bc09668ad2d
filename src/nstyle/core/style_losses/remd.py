"""``--style-loss remd``: STROTSS's relaxed earth mover's distance; whole images only."""

from __future__ import annotations

from ..distributions import RelaxedEMDLoss
from ..losses import StyleSources


def plain(sources: StyleSources) -> RelaxedEMDLoss:
    return RelaxedEMDLoss(sources.features, sources.blend)
