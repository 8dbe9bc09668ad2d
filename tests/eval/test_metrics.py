"""nstyle.eval.metrics without pretrained weights: the formulas against NumPy re-computations, zeros, growth, blocks.

The same checks with the real networks are in test_metrics_real.py (integration).
"""

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F

from nstyle.eval.metrics import CFSD, LPIPS, CrossNetworkStyle, grayscale, hellinger, rgbuv_histogram
from nstyle.eval.metrics.cfsd import self_similarity_kl
from nstyle.eval.metrics.fid import art_fid_proxy, frechet_distance, kernel_inception_distance
from nstyle.models.alexnet import AlexNet
from nstyle.models.inception import InceptionV3
from nstyle.models.lpips import LinearHeads
from nstyle.models.vgg import VGG16

from . import reference


def images(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Smooth random pictures (blobs of colour), not white noise, so that features have structure."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 6, 6, generator=g)
    return F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def random_lpips(seed: int = 0) -> LPIPS:
    torch.manual_seed(seed)
    heads = LinearHeads()
    for lin in heads.lins:  # the real heads are non-negative
        lin.weight.data.abs_()
    return LPIPS(AlexNet().eval(), heads)


# --- FID and KID -------------------------------------------------------------------------------------------


def fid_by_sqrtm(a, b):
    """The textbook formula with scipy's matrix square root (pytorch-fid's and the ArtFID code's)."""
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    diff = a.mean(0) - b.mean(0)
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


@pytest.mark.parametrize("n, d", [(300, 16), (40, 24), (9, 24)])  # more samples than dimensions, fewer, few
def test_fid_equals_the_sqrtm_formula(n, d):
    rng = np.random.default_rng(n)
    a = rng.normal(size=(n, d))
    b = 1.5 * rng.normal(size=(n + 5, d)) @ rng.normal(size=(d, d)) / np.sqrt(d) + 0.3
    assert frechet_distance(a, b) == pytest.approx(fid_by_sqrtm(a, b), rel=1e-6)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise():
    rng = np.random.default_rng(0)
    a = rng.gamma(2.0, 0.2, size=(50, 2048))  # non-negative and skewed, like pool features; n < d: singular
    assert frechet_distance(a, a) == pytest.approx(0, abs=1e-8)
    values = [frechet_distance(a, a + rng.normal(0, s, a.shape)) for s in (0.05, 0.1, 0.2, 0.4)]
    assert values[0] > 1 and values == sorted(values)


def test_fid_and_kid_do_not_depend_on_the_order_of_the_samples():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(30, 8)), rng.normal(0.5, 1, size=(30, 8))
    order = rng.permutation(30)
    assert frechet_distance(a[order], b) == pytest.approx(frechet_distance(a, b), rel=1e-10)
    assert kernel_inception_distance(a[order], b[::-1])[0] == pytest.approx(kernel_inception_distance(a, b)[0],
                                                                            rel=1e-10)


def test_kid_equals_the_plain_sum_and_its_subsets_are_seeded():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(12, 5)), rng.normal(0.3, 1.2, size=(12, 5))
    mean, std = kernel_inception_distance(a, b)  # subsets cover both sets: one exact value
    assert mean == pytest.approx(reference.kid(a, b), rel=1e-10) and std == 0
    first = kernel_inception_distance(a, b, subsets=20, subset_size=6, seed=3)
    assert first == kernel_inception_distance(a, b, subsets=20, subset_size=6, seed=3) and first[1] > 0
    assert kernel_inception_distance(a, b[:9], subsets=5)[1] > 0  # unequal sets: subsets of the smaller size


def test_kid_is_about_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(3)
    a = rng.gamma(2.0, 0.2, size=(300, 64))
    same = kernel_inception_distance(a, rng.gamma(2.0, 0.2, size=(300, 64)), subsets=20, subset_size=100)
    moved = [kernel_inception_distance(a, rng.gamma(2.0, 0.2, size=(300, 64)) + shift, subsets=20,
                                       subset_size=100)[0] for shift in (0.05, 0.1, 0.2)]
    assert abs(same[0]) < 3 * same[1]  # an unbiased estimate of 0
    assert moved == sorted(moved) and moved[0] > 10 * abs(same[0])


def test_art_fid_proxy():
    assert art_fid_proxy(0.5, 19.0) == 30.0
    assert art_fid_proxy(0.0, 0.0) == 1.0  # output = style image would still pay (1 + LPIPS); = content, (1 + FID)


# --- CFSD --------------------------------------------------------------------------------------------------


def direct_cfsd(result_rows: torch.Tensor, content_rows: torch.Tensor) -> torch.Tensor:
    """The bench README's formula as StyleID's code writes it, whole matrices, in float64."""
    r, c = result_rows.double(), content_rows.double()
    return torch.stack([F.kl_div(torch.mm(ri, ri.T).log_softmax(-1)[None], torch.mm(c[0], c[0].T).softmax(-1)[None],
                                 reduction="batchmean") for ri in r])


@pytest.fixture(scope="module")
def cfsd():
    torch.manual_seed(0)
    return CFSD(VGG16().eval())


def test_cfsd_in_blocks_equals_the_direct_formula(cfsd):
    content, results = images(1, 64), images(3, 64, seed=1)
    rc, rr = cfsd.features(content), cfsd.features(results)
    assert rr.shape == (3, 16 * 16, 256)
    expected = direct_cfsd(rr, rc)
    for block_rows in (None, 7, 100, 256, 1000):
        torch.testing.assert_close(self_similarity_kl(rr, rc, block_rows).double(), expected, rtol=1e-4, atol=1e-9)
    assert (expected > 0).all()


def test_cfsd_of_an_image_with_itself_is_zero(cfsd):
    x = images(2, 64)
    assert cfsd(x, x).abs().max() < 1e-6
    with pytest.raises(ValueError, match="differ in shape"):
        cfsd(images(1, 64), images(1, 96))


# --- histogram ---------------------------------------------------------------------------------------------


def test_histogram_equals_histogans_formula_pixel_by_pixel():
    x = images(1, 12, seed=4)
    ours = rgbuv_histogram(x)[0].double().numpy()
    theirs = reference.rgbuv_histogram(x[0].permute(1, 2, 0).numpy())
    assert ours.shape == (3, 64, 64) and ours.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-7)


def test_histogram_distance_is_zero_for_itself_and_grows_with_a_colour_cast():
    x = images(1, 200, seed=5)  # larger than 150 px: resized as HistoGAN does
    hist = rgbuv_histogram(x)
    assert hellinger(hist, hist).item() == pytest.approx(0, abs=1e-6)
    cast = torch.tensor([1.0, 0.9, 0.8]).view(1, 3, 1, 1)
    distances = [hellinger(rgbuv_histogram((x * cast ** k).clamp(0, 1)), hist).item() for k in (1, 2, 4)]
    assert 0 < distances[0] < distances[1] < distances[2] <= 1


# --- LPIPS -------------------------------------------------------------------------------------------------


def test_lpips_equals_a_numpy_recomputation_on_inputs_in_minus_one_one():
    """Random weights: the torch code (nstyle's torch preprocessing of 0..1) against the original's order of
    operations (LPIPS's shift and scale of [-1, 1]) in NumPy."""
    net = random_lpips()
    x, y = images(2, 72, seed=6)[:, None]
    trunk = {k: v.double().numpy() for k, v in net.trunk.state_dict().items()}
    heads = [lin.weight.detach().double().numpy()[0, :, 0, 0] for lin in net.heads.lins]
    expected = reference.lpips(x[0].permute(1, 2, 0).numpy(), y[0].permute(1, 2, 0).numpy(), trunk, heads)
    assert net(x, y).item() == pytest.approx(expected, rel=1e-4)


def test_lpips_of_an_image_with_itself_is_zero_and_batches_broadcast():
    net = random_lpips()
    x, content = images(3, 64, seed=7), images(1, 64, seed=8)
    assert net(x, x).abs().max() < 1e-7
    batch = net(x, content)
    assert batch.shape == (3,) and (batch > 0).all()
    torch.testing.assert_close(batch[1], net(x[1:2], content)[0])


def test_grayscale_copies_luma_into_three_channels():
    x = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    g = grayscale(x)
    assert g.shape == (1, 3, 2, 2)
    torch.testing.assert_close(g, torch.full((1, 3, 2, 2), 0.299 + 0.5 * 0.587))


# --- cross-network style -----------------------------------------------------------------------------------


def test_cross_network_style_is_zero_for_the_style_itself_and_takes_small_images():
    torch.manual_seed(0)
    style = CrossNetworkStyle(InceptionV3().eval())
    assert style.layers == InceptionV3.default_style_layers
    s, others = images(1, 80, seed=9), images(2, 80, seed=10)
    targets = style.targets(s)
    assert style.distance(s, targets).item() == pytest.approx(0, abs=1e-6)
    d = style.distance(others, [targets, style.targets(others[1:])])
    assert d[0] > 0.01 and d[1] == pytest.approx(0, abs=1e-6)
    assert style.distance(images(1, 40), targets).item() > 0  # enlarged to 75 px, the network's smallest input


# --- the judge, shared by many pairs -----------------------------------------------------------------------


def test_judge_scores_a_batch_of_styles_as_one_judge_a_pair_does():
    from nstyle.eval.judge import Judge
    from nstyle.io.images import tensor_to_image
    from nstyle.models.vgg import VGG19

    torch.manual_seed(0)
    net = VGG19().eval()
    content, style_a, style_b, x, y = (tensor_to_image(t) for t in images(5, 40, seed=11))
    shared = Judge(content, None, size=32, net=net)
    batch = shared.score([x, y], [shared.style_targets(style_a), shared.style_targets(style_b)])
    for image, style, scores in ((x, style_a, batch[0]), (y, style_b, batch[1])):
        alone = Judge(content, style, size=32, net=net)(image)
        assert scores.content == pytest.approx(alone.content, rel=1e-5)
        assert scores.style == pytest.approx(alone.style, rel=1e-5)
    with pytest.raises(ValueError, match="without a style"):
        shared(x)
