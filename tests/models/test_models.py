"""Backbones: named layers, preprocessing, truncated extraction (no weights needed)."""

import pytest
import torch

from nstyle.errors import UsageError
from nstyle.models.base import CAFFE, INCEPTION, TORCH
from nstyle.models.vgg import VGG16, VGG19


@pytest.mark.parametrize("prep", [CAFFE, TORCH, INCEPTION], ids=lambda p: p.name)
def test_preprocessing_round_trip(prep):
    x = torch.rand(2, 3, 5, 7)
    assert torch.allclose(prep.invert(prep(x)), x, atol=1e-5)


def test_caffe_preprocessing_is_bgr_0_255_minus_means():
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert CAFFE(red).flatten().tolist() == pytest.approx([-103.939, -116.779, 255 - 123.68])


def test_torch_preprocessing_normalises_rgb():
    grey = torch.full((1, 3, 1, 1), 0.5)
    expected = [(0.5 - m) / s for m, s in zip((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))]
    assert TORCH(grey).flatten().tolist() == pytest.approx(expected)


def test_vgg_layer_names():
    vgg19, vgg16 = VGG19(), VGG16()
    assert len(vgg19.conv_names()) == 16 and len(vgg16.conv_names()) == 13
    assert vgg19.layer_names[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]
    assert "relu5_4" in vgg19.layer_names and "relu5_4" not in vgg16.layer_names
    assert vgg19.resolve(["block5_conv2", "relu1_1"]) == ["relu5_2", "relu1_1"]


def test_unknown_layer_is_a_usage_error_listing_valid_names():
    with pytest.raises(UsageError, match="relu4_2"):
        VGG19().resolve(["relu9_9"])


def test_extraction_stops_at_the_deepest_layer_asked_for():
    net = VGG19()
    ran = []
    for name, stage in net.stages.items():
        stage.register_forward_hook(lambda *_, name=name: ran.append(name))
    out = net(torch.rand(1, 3, 32, 32), ["relu1_1", "relu2_1"])
    assert set(out) == {"relu1_1", "relu2_1"}
    assert ran[-1] == "relu2_1" and "conv2_2" not in ran
    assert out["relu2_1"].shape == (1, 128, 16, 16)


def test_pooling_choice():
    assert isinstance(VGG19(pooling="avg").stages["pool1"], torch.nn.AvgPool2d)
    assert isinstance(VGG19().stages["pool1"], torch.nn.MaxPool2d)
    with pytest.raises(ValueError):
        VGG19(pooling="median")
