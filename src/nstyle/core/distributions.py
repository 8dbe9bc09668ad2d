"""Style losses that match more of the style's feature distribution than its Gram matrix (``--style-loss``).

Each is a per-layer module like ``StyleLoss``: made from the style images' features (several styles mixed by
their blend weights), called on the image's features, returning a relative error that starts near 1 for an
unrelated image and is 0 when the distributions agree, so ``--style-weight`` means the same on every layer,
size and network. Features are [1, C, H, W]; positions are the samples of a C-dimensional distribution.

- ``w2``: the Wasserstein-2 distance between Gaussians fitted to the features (mean and covariance), as in
  crowsonkb's style-transfer-pytorch: |mu - mu_s|^2 + tr(S + S_s - 2 (S_s^1/2 S S_s^1/2)^1/2).
- ``sliced``: sliced Wasserstein (Heitz et al., CVPR 2021): projections on random unit directions, sorted,
  compared quantile by quantile: the exact 1-D optimal transport of every slice, the whole distribution.
- ``remd``: relaxed earth mover's distance on cosine distances (Kolkin et al., STROTSS, CVPR 2019) between
  sampled image and style positions, plus its mean-and-covariance term.

The relative errors divide by the style's mean squared feature (E|y|^2), a constant of the target.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .gram import position_moments
from .guidance import region_rows

#: positions a style is kept as (a sample of the rest) where a loss stores positions, and those of the image REMD
#: compares per evaluation: STROTSS's 5,000 and 1,000, a little more as powers of two.
STYLE_SAMPLES = 8192
IMAGE_SAMPLES = 1024
EIGEN_FLOOR = 1e-7  # relative to the largest eigenvalue: where sqrt's gradient would be infinite


def positions(features: torch.Tensor) -> torch.Tensor:
    """[1, C, H, W] -> [H*W, C] float32: one row a position (a view for channels-last features)."""
    return features[0].flatten(1).t().float()


def some_rows(count: int, total: int, device: torch.device) -> torch.Tensor | slice:
    """An index of at most ``count`` of ``total`` rows, drawn afresh at every call (a new sample every
    evaluation is what lets a sampled loss see every position over the optimisation); all rows when they fit."""
    return torch.randperm(total, device=device)[:count] if total > count else slice(None)


def feature_moments(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean [C] and covariance [C, C] over the positions of features [1, C, H, W]: E[yy^T] - mu mu^T, both from one
    pass whose backward is one matrix product (``gram.position_moments``)."""
    second, mean = position_moments(features.float())
    return mean[0], second[0] - torch.outer(mean[0], mean[0])


def mixed_moments(samples: Sequence[torch.Tensor], blend: Sequence[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and covariance of the mixture of several styles' distributions, each with its blend weight."""
    blend = [b / sum(blend) for b in blend]
    mean = sum(b * s.mean(dim=0) for s, b in zip(samples, blend, strict=True))
    second = sum(b * (s.t() @ s) / s.shape[0] for s, b in zip(samples, blend, strict=True))
    return mean, second - torch.outer(mean, mean)


def mixed_sample(samples: Sequence[torch.Tensor], blend: Sequence[float], count: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """At most ``count`` rows drawn from the mixture: each style contributes its blend share of the rows."""
    blend = [b / sum(blend) for b in blend]
    total = min(count, sum(s.shape[0] for s in samples))
    out = []
    for s, b in zip(samples, blend, strict=True):
        k = max(1, min(s.shape[0], round(total * b)))
        out.append(s if k == s.shape[0] else s[torch.randperm(s.shape[0], generator=generator)[:k].to(s.device)])
    return torch.cat(out)


def trace_sqrt_product(root: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """tr (R S R)^1/2 for the style's covariance root R and the image's covariance S.

    Only the eigenvalues are needed, and their gradient (V diag(g) V^T) has none of the 1/(l_i - l_j) terms
    that make a differentiable matrix square root unstable where eigenvalues repeat (Newton-Schulz, the
    usual alternative, only approximates). The gradient floors eigenvalues at a tiny fraction of the largest,
    where sqrt's slope would be infinite (dead channels, and covariances of fewer positions than channels, are
    singular); the value does not: a floored eigenvalue adds sqrt(floor) to the sum, which, over the many zero
    eigenvalues of a deep layer, made the W2 of a perfect match below zero (docs/QUALITY.md, "W2 at a match").
    """
    product = root @ cov @ root
    return _sqrt_eigenvalue_sum(0.5 * (product + product.t()))


def _sqrt_eigenvalue_sum(symmetric: torch.Tensor) -> torch.Tensor:
    """sum_i sqrt(max(l_i, 0)) over the eigenvalues of a symmetric matrix, with the gradient of the floored sum."""
    values = torch.linalg.eigvalsh(symmetric)  # float32: a quarter of float64's time
    floor = values.detach().abs().max().clamp_min(1e-30) * EIGEN_FLOOR
    steep = values.clamp_min(floor).sqrt()  # what the gradient follows: finite everywhere
    exact = values.detach().clamp_min(0).sqrt()  # what the value is: the floor adds nothing
    return (steep + (exact - steep.detach())).sum()


def _covariance_distance(trace: torch.Tensor, target_trace: torch.Tensor, cross: torch.Tensor) -> torch.Tensor:
    """tr S + tr S_s - 2 tr (S_s^1/2 S S_s^1/2)^1/2, which is never negative: what float32 rounding leaves below 0
    (a few 1e-7 of E|y|^2 at a match) is cut, so that a match is the optimum and scores exactly 0."""
    return (trace + target_trace - 2 * cross).clamp_min(0)


def trace_sqrt_product_of_positions(root: torch.Tensor, centred: torch.Tensor) -> torch.Tensor:
    """tr (R S R)^1/2 with S = X^T X / M from M centred positions X [M, C], for M < C: R S R = A^T A with
    A = X R / sqrt M, whose non-zero eigenvalues are those of the M x M matrix A A^T (the deep layers of the
    coarse levels have fewer positions than channels)."""
    a = centred @ root / centred.shape[0] ** 0.5
    return _sqrt_eigenvalue_sum(a @ a.t())


def gaussian_w2(mean: torch.Tensor, cov: torch.Tensor, target_mean: torch.Tensor, target_cov_trace: torch.Tensor,
                target_root: torch.Tensor) -> torch.Tensor:
    """W2^2 = |mu - mu_s|^2 + tr(S + S_s - 2 (S_s^1/2 S S_s^1/2)^1/2); the target by its mean, tr S_s, S_s^1/2."""
    return (mean - target_mean).pow(2).sum() + _covariance_distance(torch.trace(cov), target_cov_trace,
                                                                     trace_sqrt_product(target_root, cov))


def symmetric_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix.double())
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.t()


class GaussianTarget(nn.Module):
    """The style's mean, covariance trace and covariance root: what the W2 distance to it needs."""

    def __init__(self, samples: Sequence[torch.Tensor] | None = None, blend: Sequence[float] | None = None,
                 moments: tuple[torch.Tensor, torch.Tensor] | None = None):
        """From the styles' positions mixed by ``blend``, or from their ``moments`` (mean [C], covariance [C, C])
        where they were summed tile by tile."""
        super().__init__()
        mean, cov = moments if moments is not None else mixed_moments(samples, blend)
        self.register_buffer("mean", mean)
        self.register_buffer("cov_trace", torch.trace(cov))
        self.register_buffer("root", symmetric_sqrt(cov).float())

    def w2(self, features: torch.Tensor) -> torch.Tensor:
        """|mu - mu_s|^2 + tr(S + S_s - 2 (S_s^1/2 S S_s^1/2)^1/2) of the image's features [1, C, H, W]."""
        if features.shape[-2] * features.shape[-1] < features.shape[1]:
            x = positions(features)
            mean = x.mean(dim=0)
            centred = x - mean
            return (mean - self.mean).pow(2).sum() + _covariance_distance(
                centred.pow(2).sum() / x.shape[0], self.cov_trace, trace_sqrt_product_of_positions(self.root, centred))
        mean, cov = feature_moments(features)
        return gaussian_w2(mean, cov, self.mean, self.cov_trace, self.root)


class DistributionLoss(nn.Module):
    """The template: ``prepare`` keeps what the style distribution needs, ``distance`` compares the image's
    positions [M, C] with it; ``forward`` takes the layer's features and divides by the style's E|y|^2."""

    def __init__(self, styles: Sequence[torch.Tensor], blend: Sequence[float] | None = None):
        super().__init__()
        samples = [positions(s) for s in styles]
        blend = [b / sum(blend) for b in blend] if blend is not None else [1.0 / len(samples)] * len(samples)
        second_moment = sum(b * s.pow(2).sum(dim=1).mean().item() for s, b in zip(samples, blend, strict=True))
        self.scale = 1.0 / max(second_moment, 1e-12)
        self.prepare(samples, blend)

    def prepare(self, samples: list[torch.Tensor], blend: list[float]) -> None:
        raise NotImplementedError

    def distance(self, features: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.distance(features) * self.scale


class MeanCovarianceLoss(DistributionLoss):
    """Wasserstein-2 between the Gaussians of the image's and the style's features (``--style-loss w2``)."""

    def prepare(self, samples, blend):
        self.gaussian = GaussianTarget(samples, blend)

    def distance(self, features):
        return self.gaussian.w2(features)


class SlicedWassersteinLoss(DistributionLoss):
    """Sliced Wasserstein-2 (``--style-loss sliced``): the mean squared difference of the sorted projections on
    as many random unit directions as there are channels, new directions at every evaluation. The style's
    sorted projections are read at the image's quantiles when the two have different position counts."""

    def prepare(self, samples, blend):
        self.register_buffer("style", mixed_sample(samples, blend, STYLE_SAMPLES))

    def distance(self, features):
        c = features.shape[1]
        directions = torch.randn(c, c, device=features.device)
        directions = directions / directions.norm(dim=1, keepdim=True)  # [K, C], one unit direction a row
        # [K, M]: each slice's values contiguous, where sorting is fastest
        image = torch.sort(directions @ features[0].flatten(1).float(), dim=1).values
        style = torch.sort(directions @ self.style.t(), dim=1).values  # [K, Ms]
        if style.shape[1] != image.shape[1]:
            style = quantiles(style.t(), image.shape[1]).t()
        return (image - style).pow(2).mean() * c  # per direction E(.)^2 ~ E|y|^2 / C: times C is relative


def quantiles(sorted_values: torch.Tensor, count: int) -> torch.Tensor:
    """``count`` evenly spaced quantiles (mid-points) of each column of sorted values, linearly interpolated."""
    n = sorted_values.shape[0]
    at = (torch.arange(count, device=sorted_values.device, dtype=torch.float32) + 0.5) * (n / count) - 0.5
    at = at.clamp(0, n - 1)
    low = at.floor().long()
    high = (low + 1).clamp_max(n - 1)
    frac = (at - low).unsqueeze(1)
    return sorted_values[low] * (1 - frac) + sorted_values[high] * frac


class RelaxedEMDLoss(DistributionLoss):
    """STROTSS's style term (``--style-loss remd``): the relaxed earth mover's distance on cosine distances,
    max(mean_i min_j C_ij, mean_j min_i C_ij), between ``IMAGE_SAMPLES`` image positions drawn anew at every
    evaluation and the style's sample, plus the mean-and-covariance term STROTSS adds (here the W2 one, already
    relative). The cosine part is scale-free, so it is not divided by E|y|^2."""

    def prepare(self, samples, blend):
        style = mixed_sample(samples, blend, STYLE_SAMPLES)
        self.register_buffer("style_unit", nn.functional.normalize(style, dim=1))
        self.gaussian = GaussianTarget(samples, blend)

    def forward(self, features):
        x = positions(features)
        sample = x[some_rows(IMAGE_SAMPLES, x.shape[0], x.device)]
        remd = relaxed_emd(nn.functional.normalize(sample, dim=1), self.style_unit)
        return remd + self.gaussian.w2(features) * self.scale


def relaxed_emd(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """max(mean_i min_j C_ij, mean_j min_i C_ij) for the cosine distances C = 1 - a b^T of unit rows a, b.

    The nearest pairs are found without autograd, then only their distances are recomputed with it: the same value
    and gradient (a minimum's gradient flows through its argument alone) without keeping, or back-propagating
    through, the whole [len(a), len(b)] matrix. The pairs are gathered with ``index_select``, whose backward sums
    a row picked many times in a fixed order (``a[to_a]``'s does not on CPU: a run with a seed would differ)."""
    with torch.no_grad():
        similarity = a @ b.t()
        to_b, to_a = similarity.argmax(dim=1), similarity.argmax(dim=0)
    forward = 1.0 - (a * b.index_select(0, to_b)).sum(dim=1).mean()
    backward = 1.0 - (a.index_select(0, to_a) * b).sum(dim=1).mean()
    return torch.maximum(forward, backward)


def region_moments(features: torch.Tensor, guide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per region r of guidance [1, R, h, w] (resized here): the mean [R, C], the second moment E[yy^T] [R, C, C]
    and E|y|^2 [R] of features [1, C, H, W], each position weighted by its squared guide value, as the guided Gram
    weighs them (``losses.guided_gram``)."""
    means, seconds = [], []
    for rows, weight in region_rows(features.float(), guide):
        p = weight.pow(2)
        p = p / p.sum().clamp_min(1e-8)
        means.append(p @ rows)
        seconds.append((rows * p[:, None]).T @ rows)
    second = torch.stack(seconds)
    return torch.stack(means), second, torch.einsum("rcc->r", second)


class GuidedMeanCovarianceLoss(nn.Module):
    """W2 region by region (``--style-loss w2`` with ``--mask`` or maps): sum_r share_r W2_r / E_r|y|^2, each region's
    Gaussian fitted to the positions under its guide, the style's a mixture over the style images in ``mix`` [K, R]
    (as the guided Gram mixes their Grams)."""

    def __init__(self, styles: Sequence[torch.Tensor], style_guides: Sequence[torch.Tensor], mix: torch.Tensor,
                 guide: torch.Tensor, shares: torch.Tensor):
        super().__init__()
        moments_k = [region_moments(f, g) for f, g in zip(styles, style_guides, strict=True)]
        mix = mix / mix.sum(dim=0, keepdim=True).clamp_min(1e-12)  # [K, R], each region's shares summing to 1
        mean = sum(mix[k][:, None] * m for k, (m, _, _) in enumerate(moments_k))
        second = sum(mix[k][:, None, None] * sec for k, (_, sec, _) in enumerate(moments_k))
        energy = sum(mix[k] * e for k, (_, _, e) in enumerate(moments_k))
        cov = second - mean[:, :, None] * mean[:, None, :]
        self.register_buffer("mean", mean)
        self.register_buffer("cov_trace", torch.einsum("rcc->r", cov))
        self.register_buffer("root", torch.stack([symmetric_sqrt(x).float() for x in cov]))
        self.register_buffer("scale", 1.0 / energy.clamp_min(1e-12))
        self.register_buffer("guide", guide.detach())
        self.register_buffer("shares", shares.detach())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        mean, second, _ = region_moments(features, self.guide)
        cov = second - mean[:, :, None] * mean[:, None, :]
        total = features.new_zeros((), dtype=torch.float32)
        for r in range(mean.shape[0]):
            w2 = gaussian_w2(mean[r], cov[r], self.mean[r], self.cov_trace[r], self.root[r])
            total = total + self.shares[r] * self.scale[r] * w2
        return total

