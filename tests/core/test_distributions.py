"""The distribution style losses' maths on tiny tensors: zero where the distributions agree, the closed forms."""

import numpy as np
import pytest
import torch

from nstyle.core.distributions import (
    GaussianTarget,
    GuidedMeanCovarianceLoss,
    MeanCovarianceLoss,
    RelaxedEMDLoss,
    SlicedWassersteinLoss,
    feature_moments,
    gaussian_w2,
    mixed_moments,
    positions,
    quantiles,
    relaxed_emd,
    trace_sqrt_product,
)
from nstyle.core.options import TransferOptions
from nstyle.errors import UsageError


def as_features(rows: torch.Tensor, h: int) -> torch.Tensor:
    """[M, C] samples as a [1, C, h, M/h] feature map."""
    m, c = rows.shape
    return rows.t().reshape(1, c, h, m // h).contiguous()


def whitened(m: int, c: int, seed: int = 0) -> torch.Tensor:
    """Samples with exactly zero mean and identity covariance."""
    x = torch.randn(m, c, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x - x.mean(dim=0)
    cov = x.t() @ x / m
    values, vectors = torch.linalg.eigh(cov)
    return (x @ vectors @ torch.diag(values.rsqrt()) @ vectors.t()).float()


def test_w2_of_a_distribution_with_itself_is_zero():
    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(1)) * 3 + 1
    loss = MeanCovarianceLoss([as_features(x, 16)])
    assert abs(loss(as_features(x, 16)).item()) < 1e-4
    assert loss(as_features(x * 1.5, 16)).item() > 0.05


def test_w2_matches_the_closed_form_for_two_gaussians():
    """Whitened samples, then a shift m and per-channel scales s: W2^2 = |m|^2 + sum (1 - s)^2 exactly."""
    x = whitened(512, 6)
    shift, scale = torch.tensor([1.0, -2.0, 0.5, 0, 0, 3.0]), torch.tensor([0.5, 1, 2, 3, 1, 0.25])
    loss = MeanCovarianceLoss([as_features(x, 16)])
    y = x * scale + shift
    expected = shift.pow(2).sum() + (1 - scale).pow(2).sum()
    second_moment = x.pow(2).sum(dim=1).mean()  # the style's E|y|^2 (6: identity covariance, zero mean)
    assert loss(as_features(y, 16)).item() * second_moment.item() == pytest.approx(expected.item(), rel=1e-4)


def test_trace_sqrt_product_agrees_with_an_eigen_decomposition_in_numpy():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) @ rng.normal(size=(5, 5))
    sa, sb = a.T @ a / 40, b.T @ b / 40
    w, v = np.linalg.eigh(sa)
    root = (v * np.sqrt(w)) @ v.T
    expected = np.sqrt(np.linalg.eigvalsh(root @ sb @ root).clip(0)).sum()
    got = trace_sqrt_product(torch.tensor(root, dtype=torch.float32), torch.tensor(sb, dtype=torch.float32))
    assert got.item() == pytest.approx(expected, rel=1e-4)


def test_w2_of_fewer_positions_than_channels_agrees_with_the_covariance_form():
    """The M x M path (deep layers at coarse sizes) gives the value and gradient of the C x C one."""
    style, image = torch.randn(1, 24, 8, 8), torch.randn(1, 24, 4, 5) * 2 + 1
    target = GaussianTarget([positions(style)], [1.0])
    small = image.clone().requires_grad_()
    value = target.w2(small)
    value.backward()
    full = image.clone().requires_grad_()
    mean, cov = feature_moments(full)
    reference = gaussian_w2(mean, cov, target.mean, target.cov_trace, target.root)
    reference.backward()
    # the C x C form floors its C - M zero eigenvalues at 1e-7 of the largest, adding sqrt of that per zero
    assert value.item() == pytest.approx(reference.item(), rel=1e-3)
    assert torch.allclose(small.grad, full.grad, rtol=1e-2, atol=1e-4)


def test_w2_gradient_is_finite_where_the_covariance_is_singular():
    """Fewer positions than channels (relu5_1 at small sizes): the covariance is singular, the slope stays finite."""
    style = torch.randn(1, 16, 2, 4)
    image = torch.randn(1, 16, 2, 4, requires_grad=True)
    MeanCovarianceLoss([style])(image).backward()
    assert torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0


def test_mixed_moments_are_those_of_the_pooled_samples():
    a, b = torch.randn(300, 4) + 2, torch.randn(100, 4) * 3
    mean, cov = mixed_moments([a, b], [3, 1])  # blend in proportion to the counts
    pooled = torch.cat([a, b])
    pooled_mean = pooled.mean(dim=0)
    pooled_cov = (pooled - pooled_mean).t() @ (pooled - pooled_mean) / pooled.shape[0]
    assert torch.allclose(mean, pooled_mean, atol=1e-5) and torch.allclose(cov, pooled_cov, atol=1e-4)


def test_sliced_wasserstein_is_zero_for_a_permutation_of_the_same_samples():
    torch.manual_seed(0)
    x = torch.randn(256, 8)
    loss = SlicedWassersteinLoss([as_features(x, 16)])
    shuffled = x[torch.randperm(256)]
    assert loss(as_features(shuffled, 16)).item() < 1e-10
    assert loss(as_features(x + 0.5, 16)).item() > 0.1


def test_sliced_wasserstein_of_a_shift_is_the_shift_squared_on_average():
    """A shift d moves every projection on the unit direction u by u.d: E(u.d)^2 = |d|^2 / C, times C: |d|^2."""
    torch.manual_seed(0)
    x = whitened(512, 16)
    d = torch.full((16,), 0.5)
    loss = SlicedWassersteinLoss([as_features(x, 16)])
    values = [loss(as_features(x + d, 16)).item() for _ in range(200)]
    assert np.mean(values) * x.pow(2).sum(dim=1).mean().item() == pytest.approx(d.pow(2).sum().item(), rel=0.05)


def test_quantiles_keep_the_values_at_the_same_count_and_interpolate_otherwise():
    values = torch.arange(10, dtype=torch.float32).unsqueeze(1)
    assert torch.equal(quantiles(values, 10), values)
    halves = quantiles(values, 5)
    assert torch.allclose(halves.squeeze(), torch.tensor([0.5, 2.5, 4.5, 6.5, 8.5]))


def test_relaxed_emd_is_zero_for_identical_sets_and_symmetric():
    torch.manual_seed(0)
    x, y = torch.randn(50, 6), torch.randn(70, 6) + 1
    unit = torch.nn.functional.normalize
    assert relaxed_emd(unit(x, dim=1), unit(x, dim=1)).item() == pytest.approx(0, abs=1e-6)
    assert relaxed_emd(unit(x, dim=1), unit(y, dim=1)).item() == pytest.approx(
        relaxed_emd(unit(y, dim=1), unit(x, dim=1)).item(), rel=1e-6)
    assert relaxed_emd(unit(x, dim=1), unit(y, dim=1)).item() > 0.05


def test_remd_loss_is_zero_on_the_style_itself():
    x = torch.randn(256, 8) + 1
    loss = RelaxedEMDLoss([as_features(x, 16)])
    assert abs(loss(as_features(x, 16)).item()) < 1e-4
    assert loss(as_features(torch.randn(256, 8), 16)).item() > 0.1


def test_guided_w2_with_one_region_everywhere_is_the_plain_w2():
    style, image = torch.randn(1, 6, 8, 8) + 1, torch.randn(1, 6, 8, 8)
    everywhere = torch.ones(1, 1, 8, 8)
    guided = GuidedMeanCovarianceLoss([style], [everywhere], torch.ones(1, 1), everywhere, torch.ones(1))
    assert guided(image).item() == pytest.approx(MeanCovarianceLoss([style])(image).item(), rel=1e-5)


def test_guided_w2_matches_each_region_to_its_own_style():
    """Left half of the image against style A, right half against style B: zero when each half is its style."""
    a, b = torch.randn(1, 4, 8, 4) + 2, torch.randn(1, 4, 8, 4) * 3
    left = torch.zeros(1, 2, 8, 8)
    left[0, 0, :, :4], left[0, 1, :, 4:] = 1, 1
    full = torch.ones(1, 2, 8, 4)
    mix = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # style A paints region 0, style B region 1
    loss = GuidedMeanCovarianceLoss([a, b], [full, full], mix, left, torch.tensor([0.5, 0.5]))
    assert abs(loss(torch.cat([a, b], dim=3)).item()) < 1e-4
    assert loss(torch.cat([b, a], dim=3)).item() > 0.1


def test_style_loss_refuses_what_its_maths_does_not_have():
    with pytest.raises(UsageError, match="--style-loss w2 .*--loss nstyle"):
        TransferOptions(style_loss="w2", loss="classic")
    with pytest.raises(UsageError, match="--style-loss sliced .*--tile"):
        TransferOptions(style_loss="sliced", size=1024, tile=512)
    with pytest.raises(UsageError, match="--style-loss"):
        TransferOptions(style_loss="wasserstein")
    assert TransferOptions(style_loss="sliced", size=512, tile=1024).resolved().style_loss == "sliced"
    with pytest.raises(UsageError, match="--style-loss remd has no masked"):
        TransferOptions(style_loss="remd", mask="mask.png")
    assert TransferOptions(style_loss="w2", mask="mask.png").resolved().style_loss == "w2"


def test_position_moments_and_their_gradient():
    from nstyle.core.gram import position_moments

    x = torch.randn(2, 5, 3, 4, dtype=torch.float64).to(memory_format=torch.channels_last).requires_grad_(True)
    gram, mean = position_moments(x)
    assert torch.allclose(mean, x.mean(dim=(2, 3)))
    assert torch.allclose(gram, torch.einsum("bchw,bdhw->bcd", x, x) / 12)
    assert torch.autograd.gradcheck(position_moments, (x,))
