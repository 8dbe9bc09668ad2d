"""The default style layers: ``gatys`` under nstyle's normalisation matches, at a level below the final size, only
the default style layers where the style's map has at least as many positions as channels (matched on fewer, the
statistics pin the painting's objects where they stand, issue 31); the final level matches them all; the published
normalisations and the other methods keep every layer at every level; ``--style-layers`` is taken as given."""

import pytest
import torch

from nstyle.core.catalog import METHODS
from nstyle.core.engine import loss_layers, sparse_style_layers
from nstyle.core.modes import MODE_NAMES, get_mode
from nstyle.core.options import TransferOptions
from nstyle.models.registry import get_record, model_names

VGG = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
SPARSE_AT_128 = {"relu4_1", "relu5_1"}  # 16 x 16 and 8 x 8 positions for 512 channels


def picture(height: int, width: int | None = None) -> torch.Tensor:
    return torch.zeros(1, 3, height, width or height)


@pytest.fixture(scope="module")
def vgg19():
    return get_record("vgg19").build()  # untrained: the layers and their shapes are what is checked


def test_the_default_leaves_out_the_sparse_layers_whatever_the_style_loss_and_preset():
    for options in (TransferOptions(), TransferOptions(style_loss="gram"), TransferOptions(quality="best"),
                    TransferOptions(style_loss="sliced", levels=1)):
        assert options.settled_style_layers(VGG, sparse=SPARSE_AT_128) == list(VGG[:3])
        assert options.settled_style_layers(VGG) == list(VGG)
        assert options.resolved().coarse_layers_by_positions


@pytest.mark.parametrize("mode", [m for m in MODE_NAMES if get_mode(m).published])
def test_the_published_normalisations_keep_their_papers_layers(mode):
    assert TransferOptions(loss=mode).settled_style_layers(VGG, sparse=SPARSE_AT_128) == list(VGG)


@pytest.mark.parametrize("method", [m for m, r in METHODS.items() if not r.coarse_layers_by_positions])
def test_the_other_methods_keep_every_layer(method):
    assert TransferOptions(method=method).settled_style_layers(VGG, sparse=SPARSE_AT_128) == list(VGG)


def test_weights_given_for_the_default_layers_keep_every_layer_at_every_level():
    options = TransferOptions(style_layer_weights=[1, 1, 1, 1, 2])
    assert options.settled_style_layers(VGG, sparse=SPARSE_AT_128) == list(VGG)


def test_given_layers_are_taken_as_given():
    assert TransferOptions(style_layers=list(VGG)).settled_style_layers(VGG, sparse=SPARSE_AT_128) == list(VGG)
    assert TransferOptions(style_layers=["relu5_1"]).settled_style_layers(VGG, sparse=SPARSE_AT_128) == ["relu5_1"]
    assert TransferOptions().settled_style_layers(["relu4_1"], sparse={"relu4_1"}) == ["relu4_1"]  # never none


def test_the_sparse_layers_are_those_with_fewer_positions_than_channels(vgg19):
    assert sparse_style_layers(vgg19, [picture(128)], VGG) == SPARSE_AT_128
    assert sparse_style_layers(vgg19, [picture(256)], VGG) == {"relu5_1"}  # 16 x 16
    assert sparse_style_layers(vgg19, [picture(384, 512)], VGG) == set()  # 24 x 32
    assert sparse_style_layers(vgg19, [picture(256), picture(128)], VGG) == SPARSE_AT_128  # the smaller style rules
    # a large style is probed smaller and its positions scaled by the area: the same answer, without its cost
    assert sparse_style_layers(vgg19, [picture(1024)], VGG) == set()
    assert sparse_style_layers(vgg19, [picture(48, 2048)], VGG) == {"relu5_1"}  # 3 x 128 positions


@pytest.mark.parametrize("model", model_names())
def test_every_network_matches_its_every_default_style_layer_at_the_final_size_and_fewer_at_128_px(model):
    net = get_record(model).build()
    deepest = net.resolve([net.default_style_layers[-1]])[0]
    _, coarse = loss_layers(TransferOptions(model=model), net, coarse=True, styles=[picture(128)])
    assert deepest not in coarse and 1 <= len(coarse) < len(net.default_style_layers)
    assert sum(coarse.values()) == pytest.approx(1.0)  # the equal weights spread over the layers kept
    _, final = loss_layers(TransferOptions(model=model), net, styles=[picture(128)])
    assert deepest in final and len(final) == len(net.default_style_layers)
    _, every = loss_layers(TransferOptions(model=model, loss="paper"), net, coarse=True, styles=[picture(128)])
    assert deepest in every


@pytest.mark.integration
def test_a_run_builds_its_coarse_levels_without_the_sparse_layers_and_its_last_with_all(images, monkeypatch):
    from nstyle.core import engine

    built = []
    layers = engine.loss_layers

    def spy(options, backbone, coarse=False, styles=()):
        settled = layers(options, backbone, coarse, styles)
        built.append(list(settled[1]))
        return settled

    monkeypatch.setattr(engine, "loss_layers", spy)
    engine.run(images["tubingen"], images["starry_night"], size=256, levels=2, iterations=1)
    assert built == [list(VGG[:3]), list(VGG)]  # at 128 px relu4_1 has 16 x 12 positions, relu5_1 8 x 6 (< 512)


def test_a_tiled_coarse_level_leaves_out_the_same_layer_as_an_untiled_one(package_images, vgg19):
    from nstyle.core.engine import prepare
    from nstyle.core.tiling import TiledObjective

    content, style = package_images["astronaut"], package_images["rocket"]
    tiled = prepare(content, style, backbone=vgg19, size=640, tile=256, levels=2, iterations=1)
    coarse, _, styles = tiled.objective(320)
    untiled = prepare(content, style, backbone=vgg19, size=640, levels=2, iterations=1).objective(320)[0]
    assert isinstance(coarse, TiledObjective) and "relu5_1" not in coarse.layer_weights
    assert sorted(coarse.layer_weights) == sorted(loss_layers(TransferOptions(size=640), vgg19, True, styles)[1])
    assert not isinstance(untiled, TiledObjective)
    final, _, _ = prepare(content, style, backbone=vgg19, size=320, tile=256, levels=1, iterations=1).objective(320)
    assert isinstance(final, TiledObjective) and "relu5_1" in final.layer_weights
