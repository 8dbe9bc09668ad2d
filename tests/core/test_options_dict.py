"""Options as plain values for a job that crosses a process: ``options_to_dict`` and ``options_from`` undo each
other, carry only what differs from the defaults, and leave a style loss the options settled themselves to be
settled again on the other side."""

import json

import pytest

from nstyle.core.options import options_from, options_to_dict

GIVEN = [{}, {"size": 256, "iterations": 3, "seed": 7}, {"method": "strotss", "tile": 0},
         {"method": "nnst", "tile": 0, "content_weight": 0.5}, {"quality": "best"},
         {"quality": "best", "iterations": 12}, {"mask": "mask.png"},
         {"mask": "mask.png", "style_loss": "w2"}, {"style_loss": "gram"},
         {"strength": 0.3, "preserve_color": "luminance"},
         {"style_layers": ["relu1_1", "relu2_1"], "style_layer_weights": [1, 2]}, {"auto_maps": "auto"}]


@pytest.mark.parametrize("given", GIVEN)
def test_options_come_back_the_same_from_their_plain_values(given):
    options = options_from(**given)
    values = options_to_dict(options)
    assert options_from(**json.loads(json.dumps(values))) == options  # through JSON, as to a Ray node or the web


def test_only_what_differs_from_the_defaults_is_carried():
    assert options_to_dict(options_from()) == {}
    assert options_to_dict(options_from(size=512, iterations=20)) == {"iterations": 20}  # 512 is the default size


def test_a_settled_style_loss_is_left_to_be_settled_again():
    """strotss settles its own style loss: carried back as if given, it would be refused ("brings its own")."""
    assert "style_loss" not in options_to_dict(options_from(method="strotss", tile=0))
    assert options_to_dict(options_from(mask="mask.png", style_loss="w2"))["style_loss"] == "w2"  # masks take gram
