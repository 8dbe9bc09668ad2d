"""The default style layers: ``gatys`` under nstyle's normalisation leaves out the network's deepest default layer
(matched at the coarse levels it paints the painting's objects where they stand, issue 31); the published
normalisations and the other methods keep their layers; ``--style-layers`` is taken as given."""

import pytest

from nstyle.core.catalog import METHODS
from nstyle.core.engine import loss_layers
from nstyle.core.modes import MODE_NAMES, get_mode
from nstyle.core.options import TransferOptions
from nstyle.models.registry import get_record, model_names

VGG = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


def test_the_default_leaves_out_the_deepest_layer_whatever_the_style_loss_and_preset():
    for options in (TransferOptions(), TransferOptions(style_loss="gram"), TransferOptions(quality="best"),
                    TransferOptions(style_loss="sliced", levels=1)):
        assert options.settled_style_layers(VGG) == list(VGG[:-1])
        assert options.resolved().drops_deepest_style_layer


@pytest.mark.parametrize("mode", [m for m in MODE_NAMES if get_mode(m).published])
def test_the_published_normalisations_keep_their_papers_layers(mode):
    assert TransferOptions(loss=mode).settled_style_layers(VGG) == list(VGG)


@pytest.mark.parametrize("method", [m for m, r in METHODS.items() if not r.drops_deepest_style_layer])
def test_the_other_methods_keep_every_layer(method):
    assert TransferOptions(method=method).settled_style_layers(VGG) == list(VGG)


def test_given_layers_are_taken_as_given():
    assert TransferOptions(style_layers=list(VGG)).settled_style_layers(VGG) == list(VGG)
    assert TransferOptions(style_layers=["relu5_1"]).settled_style_layers(VGG) == ["relu5_1"]
    assert TransferOptions().settled_style_layers(["relu1_1"]) == ["relu1_1"]  # never none at all


@pytest.mark.parametrize("model", model_names())
def test_every_network_loses_exactly_its_last_default_style_layer(model):
    net = get_record(model).build()
    _, layers = loss_layers(TransferOptions(model=model), net)
    deepest = net.resolve([net.default_style_layers[-1]])[0]
    assert deepest not in layers and len(layers) == len(net.default_style_layers) - 1
    assert sum(layers.values()) == pytest.approx(1.0)  # the equal weights spread over the layers kept
    _, every = loss_layers(TransferOptions(model=model, loss="paper"), net)
    assert deepest in every
