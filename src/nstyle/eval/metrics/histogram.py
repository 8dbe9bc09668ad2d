"""Colour distance to the style: HistoGAN's RGB-uv histogram (Afifi et al., CVPR 2021) and the Hellinger distance.

For each channel c and the other two c', c'': u = log(I_c / I_c'), v = log(I_c / I_c''), binned on 64 x 64
bins over [-3, 3] with the inverse-quadratic kernel 1 / (1 + (d / 0.02)^2), each pixel weighted by its
intensity |I|; the three histograms are normalised together to sum 1. The defaults are HistoGAN's
``RGBuvHistBlock``'s, images larger than 150 px first resized to 150 x 150 (bilinear) as it does. The
distance is its histogram loss for one pair: (1 / sqrt 2) |sqrt(H_a) - sqrt(H_b)|, 0 to 1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

BINS = 64
MAX_SIZE = 150
SIGMA = 0.02
BOUNDS = (-3.0, 3.0)
EPS = 1e-6


def _kernel(diff_log: torch.Tensor, centres: torch.Tensor, sigma: float) -> torch.Tensor:
    return 1 / (1 + ((diff_log.unsqueeze(-1) - centres) / sigma) ** 2)


@torch.no_grad()
def rgbuv_histogram(rgb01: torch.Tensor, bins: int = BINS, max_size: int = MAX_SIZE,
                    sigma: float = SIGMA) -> torch.Tensor:
    """[B, 3, H, W] images in 0..1 -> [B, 3, bins, bins] histograms, each summing to 1."""
    x = rgb01.float().clamp(0, 1)
    if x.shape[2] > max_size or x.shape[3] > max_size:
        x = F.interpolate(x, size=(max_size, max_size), mode="bilinear", align_corners=False)
    pixels = x.flatten(2)  # [B, 3, P]
    intensity = (pixels.pow(2).sum(1) + EPS).sqrt()  # [B, P]
    logs = (pixels + EPS).log()
    centres = torch.linspace(*BOUNDS, bins, dtype=torch.float64).float().to(x.device)
    hists = []
    for c in range(3):
        others = [k for k in range(3) if k != c]
        ku = _kernel(logs[:, c] - logs[:, others[0]], centres, sigma)  # [B, P, bins]
        kv = _kernel(logs[:, c] - logs[:, others[1]], centres, sigma)
        hists.append(torch.bmm((intensity.unsqueeze(-1) * ku).transpose(1, 2), kv))
    h = torch.stack(hists, 1)
    return h / (h.sum((1, 2, 3), keepdim=True) + EPS)


def hellinger(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hellinger distance of [B, ...] histograms (b may be a batch of 1) -> [B]."""
    return (a.sqrt() - b.sqrt()).pow(2).flatten(1).sum(1).sqrt() / math.sqrt(2)
