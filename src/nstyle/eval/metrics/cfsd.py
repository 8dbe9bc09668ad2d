"""CFSD, the content feature structural distance of StyleID (CVPR 2024), as ``../shared/bench/README.md`` gives it.

relu3_1 features F (HW x C) divided by C, self-similarity S = F F^T, and the KL divergence, summed over the
rows, from softmax(S_content) to log_softmax(S_result): ``kl_div(log_softmax(S_r), softmax(S_c),
reduction="batchmean")`` with a batch of 1. At 512 px S is 16384 x 16384 (1 GiB in float32), so it is
made ``block_rows`` rows at a time (by default as many as fill ``BLOCK_ELEMENTS``): each row's softmax needs
only its own row, so the blocks add up to the same sum.

The network: StyleID takes torchvision's ImageNet VGG19, whose weights no package registry here holds.
nstyle's ``vgg19`` is Oxford's Caffe network (inputs 0..255): its relu3_1 activations are about 70 times
those of torchvision's networks, S about 5000 times, and each softmax row collapses onto one position (CFSD
of a 256 px content against its noisy copy: 5e4, where torchvision's VGG16 gives 0.02). The default is
therefore ``vgg16``, torchvision's ImageNet VGG16 (as frozen in LPIPS): the framework, preprocessing and
training recipe of torchvision's VGG19 and the same five layers up to relu3_1 (conv1_1, conv1_2, conv2_1,
conv2_2, conv3_1), only trained separately. A proxy too, on the protocol's scale; ``network="vgg19"`` gives
the README's network name with Caffe weights.
"""

from __future__ import annotations

import torch

from ...models.base import Backbone

LAYER = "relu3_1"
NETWORK = "vgg16"
FAR = 10.0  # beyond this a row's KL is taken by logsumexp (only Caffe-scale features get there)
BLOCK_ELEMENTS = 1 << 24  # a block of S holds this many floats (64 MiB) whatever the batch and image size


def structure(features: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] -> [B, HW, C] divided by C: the rows whose dot products make S."""
    b, c = features.shape[:2]
    return features.permute(0, 2, 3, 1).reshape(b, -1, c) / c  # a view for channels-last features


def self_similarity_kl(result: torch.Tensor, content: torch.Tensor, block_rows: int | None = None) -> torch.Tensor:
    """sum_i KL(softmax(S_c[i]) || softmax(S_r[i])) for rows [B, HW, C] (content may be a batch of 1) -> [B];
    ``block_rows`` rows of S at a time (default: as many as make ``BLOCK_ELEMENTS``).

    Each row is computed as log(1 + sum_j p_j expm1(x_j)), x = d - <d>_p with d = S_r - S_c and <d>_p its
    mean under p = softmax(S_c): the same KL, but from small differences, so float32 keeps its digits (kl_div
    on two log_softmax rows subtracts numbers near log(HW) and was 0.5 % off a float64 reference at 256 px).
    """
    if content.shape[0] not in (1, result.shape[0]) or content.shape[1:] != result.shape[1:]:
        raise ValueError(f"result and content features differ in shape: {tuple(result.shape)} vs "
                         f"{tuple(content.shape)}")
    b, n = result.shape[:2]
    block_rows = block_rows or max(1, BLOCK_ELEMENTS // (b * n))
    total = torch.zeros(b, dtype=torch.float64, device=result.device)
    for start in range(0, n, block_rows):
        rows = slice(start, start + block_rows)
        s_c = torch.bmm(content[:, rows], content.transpose(1, 2))  # the content's rows once for all results
        log_p = s_c.log_softmax(-1)
        p = log_p.exp()
        x = torch.baddbmm(s_c, result[:, rows], result.transpose(1, 2), beta=-1)  # S_r - S_c, in one pass
        x -= torch.linalg.vecdot(p, x).unsqueeze(-1)
        far = x.amax(-1) > FAR  # rows where exp(x) could overflow: a large KL, which logsumexp gets right
        kl = (log_p + x).logsumexp(-1) if far.any() else None
        near = x.clamp_(max=FAR).expm1_().mul_(p).sum(-1).log1p()
        total += (near if kl is None else torch.where(far, kl, near)).sum(-1).double()
    return total.clamp(min=0).float()  # a KL is >= 0; identical images can round to -1e-17


class CFSD:
    """``CFSD()(result, content)`` -> [B] for [B, 3, H, W] images in 0..1 of one size; ``features`` and
    ``distance`` split the work so one content's features serve all its results."""

    def __init__(self, net: Backbone | None = None, network: str = NETWORK, block_rows: int | None = None):
        if net is None:
            from ...models.weights import load_backbone

            net = load_backbone(network)
        self.net = net
        self.block_rows = block_rows

    @torch.no_grad()
    def features(self, rgb01: torch.Tensor) -> torch.Tensor:
        return structure(self.net(rgb01, [LAYER])[LAYER])

    @torch.no_grad()
    def distance(self, result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return self_similarity_kl(result, content, self.block_rows)

    def __call__(self, result: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
        return self.distance(self.features(result), self.features(content))
