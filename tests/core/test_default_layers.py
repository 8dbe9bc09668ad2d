"""The default style layers: ``gatys`` under nstyle's normalisation matches the network's deepest default layer at
the final size only (matched at the coarse levels it paints the painting's objects where they stand, issue 31); the
published normalisations and the other methods keep every layer at every level; ``--style-layers`` is taken as
given."""

import pytest

from nstyle.core.catalog import METHODS
from nstyle.core.engine import loss_layers
from nstyle.core.modes import MODE_NAMES, get_mode
from nstyle.core.options import TransferOptions
from nstyle.models.registry import get_record, model_names

VGG = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def test_the_default_has_the_deepest_layer_at_the_final_size_only_whatever_the_style_loss_and_preset():
    for options in (TransferOptions(), TransferOptions(style_loss="gram"), TransferOptions(quality="best"),
                    TransferOptions(style_loss="sliced", levels=1)):
        assert options.settled_style_layers(VGG, coarse=True) == list(VGG[:-1])
        assert options.settled_style_layers(VGG) == list(VGG)
        assert options.resolved().deepest_style_layer_final_only


@pytest.mark.parametrize("mode", [m for m in MODE_NAMES if get_mode(m).published])
def test_the_published_normalisations_keep_their_papers_layers(mode):
    assert TransferOptions(loss=mode).settled_style_layers(VGG, coarse=True) == list(VGG)


@pytest.mark.parametrize("method", [m for m, r in METHODS.items() if not r.deepest_style_layer_final_only])
def test_the_other_methods_keep_every_layer(method):
    assert TransferOptions(method=method).settled_style_layers(VGG, coarse=True) == list(VGG)


def test_weights_given_for_the_default_layers_keep_every_layer_at_every_level():
    options = TransferOptions(style_layer_weights=[1, 1, 1, 1, 2])
    assert options.settled_style_layers(VGG, coarse=True) == list(VGG)


def test_given_layers_are_taken_as_given():
    assert TransferOptions(style_layers=list(VGG)).settled_style_layers(VGG, coarse=True) == list(VGG)
    assert TransferOptions(style_layers=["relu5_1"]).settled_style_layers(VGG, coarse=True) == ["relu5_1"]
    assert TransferOptions().settled_style_layers(["relu1_1"], coarse=True) == ["relu1_1"]  # never none at all


@pytest.mark.parametrize("model", model_names())
def test_every_network_leaves_out_exactly_its_last_default_style_layer_at_the_coarse_levels(model):
    net = get_record(model).build()
    _, coarse = loss_layers(TransferOptions(model=model), net, coarse=True)
    deepest = net.resolve([net.default_style_layers[-1]])[0]
    assert deepest not in coarse and len(coarse) == len(net.default_style_layers) - 1
    assert sum(coarse.values()) == pytest.approx(1.0)  # the equal weights spread over the layers kept
    _, final = loss_layers(TransferOptions(model=model), net)
    assert deepest in final and len(final) == len(net.default_style_layers)
    _, every = loss_layers(TransferOptions(model=model, loss="paper"), net, coarse=True)
    assert deepest in every


@pytest.mark.integration
def test_a_run_builds_its_coarse_levels_without_the_deepest_layer_and_its_last_with_it(images, monkeypatch):
    from nstyle.core import engine

    built = []
    layers = engine.loss_layers
    monkeypatch.setattr(engine, "loss_layers", lambda o, b, coarse=False: built.append(coarse) or layers(o, b, coarse))
    engine.run(images["tubingen"], images["starry_night"], size=256, levels=2, iterations=1)
    assert built == [True, False]


def test_a_tiled_coarse_level_leaves_out_the_same_layer_as_an_untiled_one(package_images):
    from nstyle.core.engine import prepare
    from nstyle.core.tiling import TiledObjective

    net = get_record("vgg19").build()  # untrained: the layers are what is checked
    deepest = net.resolve([net.default_style_layers[-1]])[0]
    content, style = package_images["astronaut"], package_images["rocket"]
    tiled = prepare(content, style, backbone=net, size=640, tile=256, levels=2, iterations=1)
    coarse, _, _ = tiled.objective(320)
    assert isinstance(coarse, TiledObjective) and deepest not in coarse.layer_weights
    final, _, _ = prepare(content, style, backbone=net, size=320, tile=256, levels=1, iterations=1).objective(320)
    assert isinstance(final, TiledObjective) and deepest in final.layer_weights
