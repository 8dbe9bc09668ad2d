"""The two terms STROTSS (``--method strotss``; Kolkin, Salavon, Shakhnarovich, CVPR 2019) adds to its relaxed-EMD
style loss (``distributions.RelaxedEMDLoss``): a content loss on self-similarity and a palette term.

Both sample positions anew at every evaluation, as STROTSS does: over an optimisation every position is
seen, at the cost of one small matrix per term. nstyle applies them per layer (STROTSS concatenates the layers
into hypercolumns): each layer then counts alike, whatever its channel count.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .distributions import IMAGE_SAMPLES, STYLE_SAMPLES, mixed_sample, positions, some_rows

SELF_SIMILARITY_SAMPLES = 1024


def cosine_distances(rows: torch.Tensor) -> torch.Tensor:
    """1 - cos between every two rows of [P, C]: [P, P]."""
    unit = F.normalize(rows, dim=1)
    return 1.0 - unit @ unit.t()


def self_similarity_error(image: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """STROTSS's content loss for sampled positions [P, C] of the image and the content at the same places:
    the mean over positions j of sum_i |D_ij / sum_i D_ij - D^c_ij / sum_i D^c_ij|, D the cosine distances among the
    positions. It is 0 when the image's positions are as alike and unlike as the content's, whatever the features'
    colours and textures, and at most 2."""
    d, dc = cosine_distances(image), cosine_distances(content)
    d = d / d.sum(dim=0, keepdim=True).clamp_min(1e-8)
    dc = dc / dc.sum(dim=0, keepdim=True).clamp_min(1e-8)
    return (d - dc).abs().sum(dim=0).mean()


class SelfSimilarityLoss(nn.Module):
    """The self-similarity content loss on one layer, at ``SELF_SIMILARITY_SAMPLES`` positions drawn anew at every
    evaluation (the same positions in the content's features, which have the image's shape)."""

    def __init__(self, target: torch.Tensor):
        super().__init__()
        self.register_buffer("target", positions(target.detach()))  # [M, C]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        rows = positions(features)
        picked = some_rows(SELF_SIMILARITY_SAMPLES, rows.shape[0], rows.device)
        return self_similarity_error(rows[picked], self.target[picked])


def relaxed_emd_euclidean(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """max(mean_i min_j C_ij, mean_j min_i C_ij) for Euclidean distances C between the rows of a and b (the nearest
    pairs found without autograd and gathered with ``index_select``, as in ``distributions.relaxed_emd``)."""
    with torch.no_grad():
        cost = torch.cdist(a, b)
        to_b, to_a = cost.argmin(dim=1), cost.argmin(dim=0)
    forward = (a - b.index_select(0, to_b)).norm(dim=1).mean()
    backward = (a.index_select(0, to_a) - b).norm(dim=1).mean()
    return torch.maximum(forward, backward)


class PaletteLoss(nn.Module):
    """STROTSS's palette term: the relaxed EMD between the image's colours (RGB 0..1, ``IMAGE_SAMPLES`` pixels drawn
    at every evaluation) and a sample of the styles' colours, by Euclidean distance."""

    def __init__(self, styles: list[torch.Tensor], blend: list[float]):
        super().__init__()
        pixels = [positions(s) for s in styles]
        self.register_buffer("style", mixed_sample(pixels, blend, STYLE_SAMPLES))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        rows = positions(image)
        return relaxed_emd_euclidean(rows[some_rows(IMAGE_SAMPLES, rows.shape[0], rows.device)], self.style)
