"""``--method gatys``: the content's features and ``--style-loss``'s statistic (Gatys et al.), the plain recipe that
the other methods' terms replace parts of."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ..losses import Guides, MethodTerms, StyleTransferLoss
from ..options import TransferOptions


def objective(options: TransferOptions, backbone, content: torch.Tensor, styles: Sequence[torch.Tensor],
              layers: tuple[list[str], Mapping[str, float]], guides: Guides | None = None,
              content_factor: float = 1.0, terms: MethodTerms = MethodTerms()) -> StyleTransferLoss:
    """One level's loss: ``layers`` are the content layers and the weighted style layers, ``content_factor``
    multiplies the content weight; ``terms``, the content and extra style terms (a method built on this one)."""
    resolved = options.resolved()
    content_layers, style_layers = layers
    weights = dict(resolved.weights, content=resolved.weights["content"] * content_factor)
    return StyleTransferLoss(backbone, content, styles, content_layers, style_layers, weights, mode=options.loss,
                             style_blend=options.style_blend_for(len(styles)), smoothing=options.smoothing,
                             guidance=guides, style_loss=resolved.style_loss, terms=terms)
