"""The loss formulas against values computed by hand."""

import pytest
import torch

from nstyle.core.gram import gram_matrix
from nstyle.core.losses import ContentLoss, StyleLoss, StyleTransferLoss, TotalVariationLoss

# Feature map with N=2 channels and M=3 positions (H=1, W=3).
F = torch.tensor([[1.0, 2.0, 0.0], [0.0, 1.0, 1.0]]).view(1, 2, 1, 3)
S = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]).view(1, 2, 1, 3)
W = {"content": 1.0, "style": 1.0, "tv": 0.0}  # alpha, beta, the TV weight
# G = F F^T = [[5, 2], [2, 2]];  A = S S^T = [[1, 0], [0, 1]];  G - A = [[4, 2], [2, 1]]; sum of squares 25.


def test_gram_matrix_by_hand():
    assert gram_matrix(F).squeeze(0).tolist() == [[5.0, 2.0], [2.0, 2.0]]
    assert torch.allclose(gram_matrix(F, per_position=True), gram_matrix(F) / 3)


def test_gram_matrix_matches_einsum_on_random_features():
    x = torch.randn(2, 5, 4, 6)
    expected = torch.einsum("bchw,bdhw->bcd", x, x)
    assert torch.allclose(gram_matrix(x), expected, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_gram_matrix_gradient_is_exact_in_both_layouts(channels_last):
    """The hand-written backward (one matrix product) against autograd's numerical check, in double."""
    f = torch.randn(2, 5, 4, 3, dtype=torch.float64)
    if channels_last:
        f = f.contiguous(memory_format=torch.channels_last)
    f.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: gram_matrix(x, per_position=True), (f,))
    assert torch.autograd.gradcheck(gram_matrix, (f,))


def test_gram_matrix_gradient_keeps_the_channels_last_layout():
    f = torch.randn(1, 8, 6, 7).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    gram_matrix(f).pow(2).sum().backward()
    assert f.grad.is_contiguous(memory_format=torch.channels_last)
    reference = f.detach().clone().requires_grad_(True)
    flat = reference.reshape(1, 8, 42)
    torch.bmm(flat, flat.transpose(1, 2)).pow(2).sum().backward()
    torch.testing.assert_close(f.grad, reference.grad, rtol=1e-5, atol=1e-4)


def test_content_loss_paper_is_half_sum_of_squares():
    # (F - S) = [[0, 2, 0], [0, 1, 0]] -> sum of squares 5
    assert ContentLoss(S, "paper")(F).item() == pytest.approx(2.5)
    assert ContentLoss(S, "keras")(F).item() == pytest.approx(5.0)
    assert ContentLoss(S, "nstyle")(F).item() == pytest.approx(5.0 / 2.0)  # divided by |S|^2 = 2


def test_style_loss_paper_formula():
    loss = StyleLoss.from_features(S, mode="paper")
    assert loss(F).item() == pytest.approx(25.0 / (4 * 2**2 * 3**2))


def test_style_loss_keras_formula_uses_three_channels_and_image_pixels():
    loss = StyleLoss.from_features(S, mode="keras", image_pixels=6)
    assert loss(F).item() == pytest.approx(25.0 / (4 * 3**2 * 6**2))


def test_style_loss_nstyle_is_relative_gram_error():
    loss = StyleLoss.from_features(S, mode="nstyle")
    # per-position Grams: (G - A)/3, |A/3|^2 = 2/9 -> (25/9) / (2/9)
    assert loss(F).item() == pytest.approx(25.0 / 2.0)


def test_nstyle_losses_do_not_depend_on_size_or_activation_scale():
    torch.manual_seed(0)
    style = torch.rand(1, 8, 6, 6)
    image = torch.rand(1, 8, 6, 6)
    base = StyleLoss.from_features(style)(image).item()
    tiled = StyleLoss.from_features(style.repeat(1, 1, 2, 2))(image.repeat(1, 1, 3, 3)).item()
    scaled = StyleLoss.from_features(style * 10)(image * 10).item()
    assert tiled == pytest.approx(base, rel=1e-5)
    assert scaled == pytest.approx(base, rel=1e-5)
    # the paper's E_l is size-free for Grams but not scale-free
    paper = StyleLoss.from_features(style, mode="paper")(image).item()
    assert StyleLoss.from_features(style * 10, mode="paper")(image * 10).item() == pytest.approx(paper * 1e4, rel=1e-4)


def test_total_variation_by_hand():
    img = torch.tensor([[0.0, 1.0], [0.0, 0.0]]).view(1, 1, 2, 2).expand(1, 3, 2, 2)
    # paper: squared differences: dy: (0-0)^2 + (0-1)^2 = 1, dx: (1-0)^2 + 0 = 1, per channel -> 2 * 3
    assert TotalVariationLoss("paper")(img).item() == pytest.approx(6.0)
    # nstyle: means over the 2 dy and 2 dx differences per channel: 1/2 + 1/2
    assert TotalVariationLoss("nstyle")(img).item() == pytest.approx(1.0)
    # keras: only the top-left pixel has both neighbours: a = (0-0)^2, b = (0-255)^2 -> (255^2)^1.25 * 3
    assert TotalVariationLoss("keras")(img).item() == pytest.approx(3 * (255.0**2) ** 1.25, rel=1e-5)


class CountingBackbone(torch.nn.Module):
    """Layer ``b`` is twice the image, every other layer the image itself; counts passes."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x, layers):
        self.calls += 1
        return {name: x * (2.0 if name == "b" else 1.0) for name in layers}


def test_total_is_weighted_sum_and_targets_are_computed_once():
    torch.manual_seed(0)
    content, style = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    net = CountingBackbone()
    loss = StyleTransferLoss(net, content, [style], ["a"], {"b": 1.0},
                             {"content": 2.0, "style": 3.0, "tv": 5.0}, mode="paper")
    assert net.calls == 2  # one pass for the content target, one for the style target
    image = torch.rand(1, 3, 8, 8)
    total, parts = loss(image)
    total2, _ = loss(image)
    assert net.calls == 4  # one pass per evaluation, targets reused
    feats = net(image, ["a", "b"])
    expected_content = 2.0 * 0.5 * (feats["a"] - content).pow(2).sum()
    expected_style = 3.0 * StyleLoss.from_features(style * 2, mode="paper")(feats["b"])
    expected_tv = 5.0 * TotalVariationLoss("paper")(image)
    assert parts["content"].item() == pytest.approx(expected_content.item(), rel=1e-5)
    assert parts["style"].item() == pytest.approx(expected_style.item(), rel=1e-5)
    assert parts["tv"].item() == pytest.approx(expected_tv.item(), rel=1e-5)
    assert total.item() == pytest.approx(sum(p.item() for p in parts.values()), rel=1e-6)
    assert total2.item() == total.item()


def test_nstyle_mode_normalises_layer_weights():
    net = CountingBackbone()
    x = torch.rand(1, 3, 4, 4)
    loss = StyleTransferLoss(net, x, [x], ["a"], {"b": 2.0, "c": 6.0}, W, mode="nstyle")
    assert loss.layer_weights == {"b": 0.25, "c": 0.75}


def test_unknown_mode_is_rejected():
    from nstyle.errors import UsageError

    with pytest.raises(UsageError, match="--loss 'fancy': choose from nstyle, paper, keras, classic"):
        ContentLoss(S, "fancy")


def test_activation_smoothing_is_a_softmax_with_mean_one():
    from nstyle.core.losses import ActivationSmoothing

    f = torch.randn(1, 4, 5, 6)
    smooth = ActivationSmoothing(temperature=2.0)
    out = smooth(f)
    expected = torch.softmax(f.reshape(1, -1) / 2.0, dim=1).view_as(f) * f.numel()
    assert torch.allclose(out, expected, rtol=1e-5)
    assert out.mean().item() == pytest.approx(1.0, rel=1e-5)


def test_activation_smoothing_does_not_depend_on_size_or_scale():
    from nstyle.core.losses import ActivationSmoothing

    f = torch.rand(1, 3, 4, 4) * 5
    tiled = f.repeat(1, 1, 2, 2)  # the same statistics on four times the positions
    a = ActivationSmoothing.calibrated(f, 0.5)
    b = ActivationSmoothing.calibrated(tiled, 0.5)
    assert torch.allclose(b(tiled)[..., :4, :4], a(f), rtol=1e-4)
    scaled = ActivationSmoothing.calibrated(f * 10, 0.5)
    assert torch.allclose(scaled(f * 10), a(f), rtol=1e-4)


def test_smoothing_changes_the_loss_and_keeps_it_zero_at_the_target():
    net = CountingBackbone()
    content = torch.rand(1, 3, 8, 8)
    plain = StyleTransferLoss(net, content, [content], ["a"], {"a": 1.0, "b": 1.0}, W)
    smooth = StyleTransferLoss(net, content, [content], ["a"], {"a": 1.0, "b": 1.0}, W, smoothing=1.0)
    assert smooth(content)[0].item() == pytest.approx(0.0, abs=1e-6)
    other = torch.rand(1, 3, 8, 8)
    assert smooth(other)[0].item() != pytest.approx(plain(other)[0].item(), rel=1e-3)


def test_classic_mode_is_neural_style_normalisation():
    f, target = torch.rand(1, 4, 3, 5), torch.rand(1, 4, 3, 5)
    assert ContentLoss(target, "classic")(f).item() == pytest.approx(((f - target) ** 2).mean().item(), rel=1e-5)
    flat, flat_t = f.reshape(4, 15), target.reshape(4, 15)
    g, a = flat @ flat.T / 60, flat_t @ flat_t.T / 60  # Grams over C*H*W = 60 values
    style = StyleLoss.from_features(target, mode="classic")(f)
    assert style.item() == pytest.approx(((g - a) ** 2).mean().item(), rel=1e-4)
