"""STROTSS's content and palette terms on tiny tensors."""

import pytest
import torch

from nstyle.core.distributions import relaxed_emd
from nstyle.core.strotss import PaletteLoss, SelfSimilarityLoss, relaxed_emd_euclidean, self_similarity_error


def test_self_similarity_is_zero_for_the_content_and_blind_to_a_rescaling():
    content = torch.rand(40, 8) + 0.1
    assert self_similarity_error(content, content).item() == pytest.approx(0.0, abs=1e-6)
    assert self_similarity_error(3.0 * content, content).item() == pytest.approx(0.0, abs=1e-5)  # cosine: no scale
    assert self_similarity_error(torch.rand(40, 8), content).item() > 0.05


def test_self_similarity_loss_samples_the_same_positions_of_image_and_content():
    target = torch.rand(1, 4, 40, 40)  # 1,600 positions: more than the 1,024 sampled
    loss = SelfSimilarityLoss(target)
    assert loss(target).item() == pytest.approx(0.0, abs=1e-6)
    image = target.clone().requires_grad_()
    value = loss(image + 0.3 * torch.rand_like(image))
    value.backward()
    assert value.item() > 0 and image.grad.abs().sum() > 0


def test_relaxed_emd_with_gathered_pairs_equals_the_full_matrix_form():
    a = torch.nn.functional.normalize(torch.randn(30, 5), dim=1)
    b = torch.nn.functional.normalize(torch.randn(70, 5), dim=1)
    cost = 1 - a @ b.t()
    full = torch.maximum(cost.min(dim=1).values.mean(), cost.min(dim=0).values.mean())
    assert relaxed_emd(a, b).item() == pytest.approx(full.item(), rel=1e-6)
    x, y = torch.randn(30, 3), torch.randn(70, 3)
    euclid = torch.cdist(x, y)
    full = torch.maximum(euclid.min(dim=1).values.mean(), euclid.min(dim=0).values.mean())
    assert relaxed_emd_euclidean(x, y).item() == pytest.approx(full.item(), rel=1e-5)
    assert relaxed_emd_euclidean(x, y).item() == pytest.approx(relaxed_emd_euclidean(y, x).item(), rel=1e-6)


def test_palette_is_zero_for_the_styles_colours_and_grows_away_from_them():
    style = torch.rand(1, 3, 16, 16)
    loss = PaletteLoss([style], [1.0])
    assert loss(style).item() == pytest.approx(0.0, abs=1e-6)
    assert loss(style * 0.5).item() > 0.05


@pytest.mark.parametrize("distance", [relaxed_emd, relaxed_emd_euclidean])
def test_relaxed_emd_gradients_are_the_same_every_time(distance):
    """Many style rows share one nearest image row (the image's rows clustered, the style's spread), so that row's
    gradient is a sum of many: it must be summed in the same order every call, or a seeded run is not repeatable."""
    generator = torch.Generator().manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(1024, 256, generator=generator) + 3.0, dim=1)
    b = torch.nn.functional.normalize(torch.randn(8192, 256, generator=generator), dim=1)
    a.requires_grad_()
    gradients = []
    for _ in range(8):
        a.grad = None
        distance(a, b).backward()
        gradients.append(a.grad.clone())
    assert gradients[0].abs().sum() > 0
    assert all(torch.equal(g, gradients[0]) for g in gradients[1:])
