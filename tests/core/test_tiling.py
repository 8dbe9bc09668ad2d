"""Tiled evaluation: the tiles' owned parts partition the image, and the tiled loss and gradient are the
whole image's, so a tiled run paints the same picture as an untiled one, without seams."""

import pytest
import torch

from nstyle.core.catalog import STYLE_LOSSES
from nstyle.core.engine import TransferOptions, build_loss, loss_layers, run
from nstyle.core.tiling import ALIGN, TiledObjective, TiledW2, seam_score, style_moments_of, style_targets_of, tile_grid
from nstyle.errors import UsageError
from nstyle.io.images import image_to_tensor, load_image, resize_to_long_side
from nstyle.models.weights import load_backbone


@pytest.fixture(scope="module")
def vgg19():
    return load_backbone("vgg19")


@pytest.mark.parametrize("height,width,tile,overlap", [
    (288, 384, 256, 64), (1536, 2048, 1024, 128), (3072, 4096, 1024, 128), (1000, 777, 512, 64), (200, 300, 256, 64),
])
def test_tiles_cover_the_image_and_their_owned_parts_partition_it(height, width, tile, overlap):
    tiles = tile_grid(height, width, tile, overlap)
    owned = torch.zeros(height, width, dtype=torch.int32)
    covered = torch.zeros(height, width, dtype=torch.int32)
    for t in tiles:
        assert t.top % ALIGN == 0 and t.left % ALIGN == 0
        assert t.height <= tile + ALIGN and t.width <= tile + ALIGN
        assert t.top <= t.own_rows[0] < t.own_rows[1] <= t.top + t.height
        assert t.left <= t.own_cols[0] < t.own_cols[1] <= t.left + t.width
        covered[t.top:t.top + t.height, t.left:t.left + t.width] += 1
        owned[t.own_rows[0]:t.own_rows[1], t.own_cols[0]:t.own_cols[1]] += 1
    assert bool((owned == 1).all()), "every pixel is owned by exactly one tile"
    assert bool((covered >= 1).all())
    # Each owned part keeps at least half an overlap of context from its tile's edges, except at the image edge.
    for t in tiles:
        if t.own_rows[0] > 0:
            assert t.own_rows[0] - t.top >= overlap // 2 - ALIGN // 2
        if t.own_rows[1] < height:
            assert t.top + t.height - t.own_rows[1] >= overlap // 2 - ALIGN // 2


def test_tile_grid_rejects_an_overlap_as_large_as_the_tile():
    with pytest.raises(ValueError):
        tile_grid(500, 500, 256, 256)


def test_seam_score_is_near_one_on_a_photo_and_flags_a_step(package_images):
    """On the cat photo the tile lines score 1.13 and a 0.2 step at one of them 5.5."""
    x = image_to_tensor(resize_to_long_side(load_image(package_images["chelsea"]), 320))
    tiles = tile_grid(x.shape[-2], x.shape[-1], 256, 64)
    assert seam_score(x, tiles) < 1.6
    stepped = x.clone()
    stepped[..., :, tiles[1].own_cols[0]:] += 0.2
    assert seam_score(stepped.clamp(0, 1), tiles) > 2.5


@pytest.mark.integration
@pytest.mark.parametrize("style_loss", ["gram", "w2"])
def test_tiled_loss_and_gradient_equal_the_whole_image_ones(vgg19, images, style_loss):
    content = image_to_tensor(resize_to_long_side(load_image(images["tubingen"]), 384))
    style = image_to_tensor(resize_to_long_side(load_image(images["starry_night"]), 384))
    options = TransferOptions(style_loss=style_loss)
    whole = build_loss(options, vgg19, content, [style])
    torch.manual_seed(0)
    x = (0.7 * content + 0.3 * torch.rand_like(content)).requires_grad_(True)
    loss, parts = whole(x)
    loss.backward()
    content_layers, style_layers = loss_layers(options, vgg19)
    if style_loss == "w2":
        targets = style_moments_of(vgg19, [style], list(style_layers), 256, 64)
        for name, target in targets.items():  # the style's mean gathered tile by tile
            expected = whole.style_losses[name].gaussian.mean
            assert torch.allclose(target.mean, expected, rtol=1e-3, atol=1e-4 * expected.abs().max())
    else:
        targets = style_targets_of(vgg19, [style], list(style_layers), 256, 64)
        for name, target in targets.items():  # the style image's Grams gathered tile by tile
            assert torch.allclose(target, whole.style_losses[name].target, rtol=1e-3, atol=1e-4 * target.abs().max())
    losses = STYLE_LOSSES[style_loss].tiled_losses(vgg19, [style], list(style_layers), 256, 64, blend=[1.0],
                                                   mode="nstyle", image_pixels=content.shape[-2] * content.shape[-1])
    tiled = TiledObjective(vgg19, content, losses, content_layers, style_layers, options.resolved().weights,
                           "nstyle", tile=256, overlap=64)
    assert len(tiled.tiles) == 4
    y = x.detach().clone().requires_grad_(True)
    tiled_loss, tiled_parts = tiled(y)
    tiled_loss.backward()
    assert tiled_loss.item() == pytest.approx(loss.item(), rel=1e-3)
    for k in ("content", "style", "tv"):
        assert tiled_parts[k].item() == pytest.approx(parts[k].item(), rel=1e-3)
    assert ((y.grad - x.grad).norm() / x.grad.norm()).item() < 0.01


def test_tiled_w2_equals_the_whole_image_w2_on_the_tiny_network():
    """The same identity as above, on a network with no weights to fetch, for every part of the W2 objective."""
    from tests.tiny_backbone import TinyBackbone

    net = TinyBackbone()
    generator = torch.Generator().manual_seed(3)
    content, style = torch.rand(1, 3, 320, 288, generator=generator), torch.rand(1, 3, 300, 260, generator=generator)
    options = TransferOptions(style_loss="w2", content_layers=["conv3"], style_layers=["conv1", "conv2", "conv4"])
    content_layers, style_layers = loss_layers(options, net)
    whole = build_loss(options, net, content, [style])
    x = (0.6 * content + 0.4 * torch.rand(content.shape, generator=generator)).requires_grad_(True)
    loss, parts = whole(x)
    loss.backward()
    targets = style_moments_of(net, [style], list(style_layers), 256, 64)
    losses = STYLE_LOSSES["w2"].tiled_losses(net, [style], list(style_layers), 256, 64, blend=[1.0], mode="nstyle",
                                             image_pixels=content.shape[-2] * content.shape[-1])
    assert all(torch.equal(losses[n].gaussian.mean, TiledW2(t).gaussian.mean) for n, t in targets.items())
    tiled = TiledObjective(net, content, losses, content_layers, style_layers, options.resolved().weights,
                           "nstyle", tile=256, overlap=64)
    assert len(tiled.tiles) == 4
    y = x.detach().clone().requires_grad_(True)
    tiled_loss, tiled_parts = tiled(y)
    tiled_loss.backward()
    for k in ("content", "style", "tv"):
        assert tiled_parts[k].item() == pytest.approx(parts[k].item(), rel=1e-3)
    assert ((y.grad - x.grad).norm() / x.grad.norm()).item() < 0.01


@pytest.mark.integration
@pytest.mark.parametrize(("style_loss", "precision", "closer"), [("gram", "auto", 0.1), ("w2", "float32", 0.1)])
def test_a_tiled_run_paints_the_untiled_picture_without_seams(images, style_loss, precision, closer):
    """W2 in float32: the square root of its covariance passes the tiles' bfloat16 rounding on, and 8 L-BFGS steps
    amplify it (measured 0.25 of the distance moved in bfloat16 at weight 170, 0.10 at 200; 0.04 in float32), so
    the tiling's own exactness is checked without it."""
    kwargs = dict(size=320, iterations=8, levels=1, model="vgg19", style_loss=style_loss, precision=precision)
    tiled = run(images["tubingen"], images["starry_night"], tile=256, **kwargs)
    whole = run(images["tubingen"], images["starry_night"], tile=0, **kwargs)
    a, b = image_to_tensor(tiled.image), image_to_tensor(whole.image)
    content = image_to_tensor(resize_to_long_side(load_image(images["tubingen"]), 320))
    assert (a - b).abs().mean().item() < closer * (b - content).abs().mean().item()  # the same picture
    assert tiled.history[-1].total == pytest.approx(whole.history[-1].total, rel=0.05)
    tiles = tile_grid(a.shape[-2], a.shape[-1], 256, 64)
    assert seam_score(a, tiles) < 1.6
    assert seam_score(a, tiles) < seam_score(b, tiles) * 1.15  # the tile lines stand out no more than untiled


@pytest.mark.integration
def test_tile_options_are_checked(images):
    with pytest.raises(UsageError, match="--tile"):
        run(images["tubingen"], images["starry_night"], size=64, tile=100, iterations=1)
    with pytest.raises(UsageError, match="--smoothing"):
        run(images["tubingen"], images["starry_night"], size=320, tile=256, smoothing=5.0, iterations=1,
            model="squeezenet1_1")
