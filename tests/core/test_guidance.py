"""Masks, label maps and guided Gram matrices without networks."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from nstyle.core.guidance import convex_weights, read_maps, read_mask, resize_guide
from nstyle.core.losses import (
    GuidedStyleLoss,
    Guides,
    StyleLoss,
    StyleTransferLoss,
    gram_matrix,
    guided_gram,
    region_shares,
)
from nstyle.errors import UsageError

SIZE = (40, 30)  # width, height of the "content"


def flat(color, size=SIZE):
    return Image.new("RGB", size, color)


def halves(left, right, size=SIZE):
    image = flat(left, size)
    image.paste(flat(right, (size[0] // 2, size[1])), (size[0] // 2, 0))
    return image


# -- masks ---------------------------------------------------------------------------------------------------

def test_grey_mask_white_styled_black_kept_grey_between():
    ramp = np.tile(np.linspace(0, 255, SIZE[0]).astype(np.uint8), (SIZE[1], 1))
    g = read_mask(Image.fromarray(ramp), SIZE, blend=[1.0])
    assert g.content.shape == (1, SIZE[1], SIZE[0])
    assert g.content[0, 0, 0] == 0 and g.content[0, 0, -1] == 1
    assert np.allclose(g.keep, 1 - g.content[0])
    assert g.mix.tolist() == [[1.0]]


def test_grey_mask_with_several_styles_mixes_them_by_blend():
    g = read_mask(halves("black", "white"), SIZE, blend=[3.0, 1.0])
    assert g.mix[:, 0].tolist() == [0.75, 0.25]


def test_colour_mask_gives_each_style_its_region_and_black_keeps():
    mask = halves("red", "blue")
    mask.paste(flat("black", (SIZE[0], 10)), (0, 0))
    g = read_mask(mask, SIZE, blend=[1, 1], mask_colors=["red", "#0000ff"])
    assert g.content.shape == (2, SIZE[1], SIZE[0]) and g.mix.tolist() == [[1, 0], [0, 1]]
    assert g.content[0, 20, 5] == pytest.approx(1) and g.content[1, 20, 35] == pytest.approx(1)
    assert g.keep[5, 5] == pytest.approx(1) and g.keep[20, 5] == pytest.approx(0)


def test_soft_colour_edges_split_between_neighbours():
    pixels = np.array([[[1.0, 0, 0], [0.5, 0, 0.5], [0.3, 0, 0], [0, 0, 1]]])
    palette = np.array([[0, 0, 0], [1.0, 0, 0], [0, 0, 1.0]])
    w, err = convex_weights(pixels, palette)
    assert np.allclose(w[0, 1], [0, 0.5, 0.5], atol=0.01)  # half red, half blue
    assert np.allclose(w[0, 2], [0.7, 0.3, 0], atol=0.01)  # 30 % red over black
    assert err.max() < 0.01


@pytest.mark.parametrize("mask, colors, message", [
    (halves("red", "blue"), None, "give --mask-colors"),
    (halves("red", "blue"), ["red"], "1 colour(s) for 2 style(s)"),
    (halves("red", "green"), ["red", "blue"], "has no style"),
    (halves("red", "black"), ["red", "blue"], "is not in the mask"),
    (flat("black"), None, "black everywhere"),
    (flat("white", (100, 20)), None, "proportions"),
    (halves("red", "blue"), ["red", "reddish"], "not a colour"),
])
def test_mask_mistakes_are_one_line_usage_errors(mask, colors, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_mask(mask, SIZE, blend=[1.0, 1.0] if colors is None or len(colors) != 1 else [1.0, 1.0],
                  mask_colors=colors)


# -- semantic maps -------------------------------------------------------------------------------------------

def jpeg(image, quality=70):
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_maps_match_regions_by_colour_even_through_jpeg():
    content_map = jpeg(halves("#3050c0", "#e08020"))
    style_map = flat("#e08020", (60, 40))
    style_map.paste(flat("#3050c0", (60, 15)), (0, 0))  # the blue region is on top in the style
    g = read_maps(content_map, SIZE, [style_map], [(60, 40)])
    assert len(g.names) == 2 and g.keep is None
    blue = [i for i, n in enumerate(g.names) if int(n[5:7], 16) > 150][0]
    assert g.content[blue, 10, 5] == 1 and g.content[blue, 10, 35] == 0
    assert g.styles[0][blue, 5, 30] == 1 and g.styles[0][blue, 30, 30] == 0
    assert np.allclose(g.content.sum(axis=0), 1) and np.allclose(g.styles[0].sum(axis=0), 1)


def test_map_missing_a_region_is_a_usage_error():
    with pytest.raises(UsageError, match="has no region of colour"):
        read_maps(halves("blue", "orange"), SIZE, [flat("blue", (60, 40))], [(60, 40)])


def test_extra_style_regions_are_left_out():
    style_map = halves("blue", "green", (60, 40))
    g = read_maps(flat("blue"), SIZE, [style_map], [(60, 40)])
    assert len(g.names) == 1 and g.styles[0][0, :, :30].all() and not g.styles[0][0, :, 31:].any()


# -- guided Grams ----------------------------------------------------------------------------------------------

def test_guided_gram_of_a_full_region_is_the_plain_gram_and_of_a_half_the_halfs():
    x = torch.randn(1, 4, 6, 8)
    ones = torch.ones(1, 1, 6, 8)
    assert torch.allclose(guided_gram(x, ones)[0], gram_matrix(x, per_position=True)[0], atol=1e-5)
    left = torch.zeros(1, 2, 6, 8)
    left[:, 0, :, :4] = 1
    left[:, 1, :, 4:] = 1
    grams = guided_gram(x, left)
    assert torch.allclose(grams[0], gram_matrix(x[..., :4], per_position=True)[0], atol=1e-5)
    assert torch.allclose(grams[1], gram_matrix(x[..., 4:], per_position=True)[0], atol=1e-5)


@pytest.mark.parametrize("mode", ["nstyle", "paper", "classic", "keras"])
def test_guided_loss_with_one_full_region_is_the_style_loss(mode):
    x, s = torch.randn(1, 4, 6, 8), torch.randn(1, 4, 5, 7)
    target = gram_matrix(s, per_position=True)
    plain = StyleLoss(target, mode, image_pixels=48)(x)
    guided = GuidedStyleLoss(target, torch.ones(1, 1, 6, 8), torch.ones(1), mode, image_pixels=48)(x)
    assert guided.item() == pytest.approx(plain.item(), rel=1e-5)


def test_region_shares_and_resize():
    guide = torch.zeros(1, 2, 8, 8)
    guide[:, 0, :, :2] = 1
    guide[:, 1, :, 2:] = 1
    assert region_shares(guide).tolist() == pytest.approx([0.25, 0.75])
    small = resize_guide(guide, (4, 4))
    assert small.shape == (1, 2, 4, 4) and torch.allclose(small.sum(dim=1), torch.ones(1, 4, 4))


class Identity(torch.nn.Module):
    """A 'backbone' whose one layer is the image itself."""

    def forward(self, image, layers):
        return {name: image for name in layers}


def test_blend_mixes_gram_targets_by_weight():
    content, a, b = torch.rand(1, 3, 6, 8), torch.rand(1, 3, 6, 8), torch.rand(1, 3, 6, 8)
    loss = StyleTransferLoss(Identity(), content, [a, b], ["x"], {"x": 1.0}, {"content": 1.0, "style": 1.0, "tv": 0.0},
                             style_blend=[0.7, 0.3])
    expected = 0.7 * gram_matrix(a, per_position=True) + 0.3 * gram_matrix(b, per_position=True)
    assert torch.allclose(loss.style_losses["x"].target, expected, atol=1e-6)


def test_keep_weights_hold_pixels_at_the_content_and_get_no_gradient():
    content, style = torch.rand(1, 3, 6, 8), torch.rand(1, 3, 6, 8)
    keep = torch.zeros(1, 1, 6, 8)
    keep[..., :4] = 1
    guides = Guides(content=1 - keep, styles=[torch.ones(1, 1, 6, 8)], mix=torch.ones(1, 1), keep=keep)
    weights = {"content": 1.0, "style": 100.0, "tv": 1.0}
    loss = StyleTransferLoss(Identity(), content, [style], ["x"], {"x": 1.0}, weights, guidance=guides)
    x = torch.rand(1, 3, 6, 8, requires_grad=True)
    total, _ = loss(x)
    total.backward()
    assert x.grad[..., :4].abs().max() == 0 and x.grad[..., 4:].abs().max() > 0
    assert torch.equal(loss.compose(x)[..., :4], content[..., :4])
