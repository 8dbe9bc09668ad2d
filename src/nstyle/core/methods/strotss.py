"""``--method strotss`` (Kolkin et al. 2019): Gatys's recipe with a self-similarity content term and the palette term
added to its relaxed-EMD style loss (the terms: ``nstyle.core.strotss``)."""

from __future__ import annotations

from torch import nn

from ..losses import MethodTerms
from ..strotss import PaletteLoss, SelfSimilarityLoss
from . import gatys


def self_similarity(target, mode) -> nn.Module:
    """The content term of one layer: it compares distances among positions, the same in every normalisation."""
    return SelfSimilarityLoss(target)


TERMS = MethodTerms(content=self_similarity, extra=PaletteLoss)


def objective(*args, **kwargs) -> nn.Module:
    return gatys.objective(*args, **kwargs, terms=TERMS)
