"""``--method nnst`` (Kolkin et al. 2022): the image optimised towards its neural neighbours in the style
(``nstyle.core.neighbours``), re-targeted from every level's start, then given the style's colours
(``color.match_oklab``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..color import match_oklab
from ..losses import Guides
from ..neighbours import NeuralNeighbourLoss
from ..options import TransferOptions

colour = match_oklab


def objective(options: TransferOptions, backbone, content: torch.Tensor, styles: Sequence[torch.Tensor],
              layers: tuple[list[str], Mapping[str, float]], guides: Guides | None = None,
              content_factor: float = 1.0) -> NeuralNeighbourLoss:
    """One level's loss: the style layers' hypercolumns; the content weight is the content's share of the search."""
    weights = options.resolved().weights
    return NeuralNeighbourLoss(backbone, content, styles, list(layers[1]), weights["content"], weights["style"],
                               weights["tv"], blend=options.style_blend_for(len(styles)), seed=options.seed)
