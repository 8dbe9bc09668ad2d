"""The temporal loss of Ruder et al. (2016): stay close to the previous stylised frame where the flow is reliable.

    L_temporal = 1/D sum_k c_k (x_k - w_k)^2,   D = C*H*W

with ``w`` the previous stylised frame warped onto this one and ``c`` the reliability mask (0 on occlusions,
motion boundaries and pixels from outside the frame). In RGB 0..1 and divided by D, it does not depend on the
image size, like nstyle's default losses. The long-term form sums one such term per earlier frame, each with
its mask reduced to the pixels that no nearer frame already covers (``long_term_masks``), so that a pixel
occluded for a moment is tied again to how it looked before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..core.optim import Objective


class TemporalLoss(nn.Module):
    """Masked mean squared distance to one or more warped earlier frames (tensors [1, 3, H, W], masks [1, 1, H, W])."""

    def __init__(self, targets: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]):
        super().__init__()
        if len(targets) != len(masks) or not targets:
            raise ValueError("the temporal loss needs one mask per warped frame, and at least one frame")
        self.register_buffer("targets", torch.cat([t.detach() for t in targets]))
        self.register_buffer("masks", torch.cat([m.detach() for m in masks]))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        squared = self.masks * (image - self.targets).pow(2)  # broadcasts over the earlier frames
        return squared.sum() / image[0].numel()


def long_term_masks(masks: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Ruder et al.'s eq. 7: each mask (nearest frame first) less what the nearer frames already cover, >= 0."""
    covered = torch.zeros_like(masks[0])
    out = []
    for mask in masks:
        out.append((mask - covered).clamp_min(0))
        covered = covered + mask
    return out


def with_temporal(objective: Objective, temporal: TemporalLoss | None, weight: float,
                  compose: Callable[[torch.Tensor], torch.Tensor] | None = None) -> Objective:
    """The objective plus ``weight`` times the temporal loss, reported as the part ``"temporal"``; ``compose``
    maps the optimised image to the picture it stands for (a mask's kept content), which the loss compares."""
    if temporal is None or weight == 0:
        return objective

    def wrapped(image: torch.Tensor):
        total, parts = objective(image)
        term = weight * temporal(compose(image) if compose is not None else image)
        return total + term, {**parts, "temporal": term}

    return wrapped
