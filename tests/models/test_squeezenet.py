"""SqueezeNet 1.1: layers, shapes, the Keras HDF5 converter, and ImageNet classification with the real weights."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import nstyle.models.squeezenet as squeezenet
from nstyle.models import registry, weights
from nstyle.models.base import CAFFE
from nstyle.models.squeezenet import LAYERS, SqueezeNet11


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return SqueezeNet11().eval()


def test_layer_names_and_aliases(net):
    assert net.layer_names == ["conv1", "relu_conv1", "pool1", "fire2", "fire3", "pool3", "fire4", "fire5",
                               "pool5", "fire6", "fire7", "fire8", "fire9"]
    assert net.resolve(["fire9/concat", "features.5", "features.12"]) == ["fire9", "pool3", "fire9"]
    assert set(net.default_style_layers + net.default_content_layers) <= set(net.layer_names)
    assert "conv10" not in net.layer_names  # the head is not a stage


def test_parameter_count_is_squeezenet_1_1s(net):
    assert sum(p.numel() for p in net.parameters()) == 1_235_496  # torchvision's squeezenet1_1 has as many


def test_shapes_at_227(net):
    with torch.no_grad():
        out = net(torch.rand(2, 3, 227, 227), LAYERS)
        logits = net.classify(torch.rand(2, 3, 227, 227))
    shapes = {name: tuple(t.shape[1:]) for name, t in out.items()}
    assert shapes["relu_conv1"] == (64, 113, 113) and shapes["pool1"] == (64, 56, 56)
    assert shapes["fire3"] == (128, 56, 56) and shapes["pool3"] == (128, 27, 27)
    assert shapes["fire5"] == (256, 27, 27) and shapes["pool5"] == (256, 13, 13)
    assert shapes["fire7"] == (384, 13, 13) and shapes["fire9"] == (512, 13, 13)
    assert logits.shape == (2, 1000)


def test_fire_output_is_expand1x1_then_expand3x3():
    fire = squeezenet.Fire(8, 4, 5)
    with torch.no_grad():
        for conv, bias in ((fire.expand1x1, 1.0), (fire.expand3x3, -1.0)):
            conv.weight.zero_()
            conv.bias.fill_(bias)
        y = fire(torch.rand(1, 8, 6, 6))
    assert y.shape == (1, 10, 6, 6)
    assert (y[:, :5] == 1).all() and (y[:, 5:] == 0).all()  # the 3x3 half went through its ReLU


def test_extraction_stops_at_the_deepest_layer_asked_for(net):
    ran = []
    hooks = [stage.register_forward_hook(lambda *_, name=name: ran.append(name)) for name, stage in net.stages.items()]
    try:
        out = net(torch.rand(1, 3, 64, 64), ["relu_conv1", "fire4"])
    finally:
        for h in hooks:
            h.remove()
    assert set(out) == {"relu_conv1", "fire4"} and ran[-1] == "fire4" and "fire5" not in ran


def test_pooling_choice():
    pools = [SqueezeNet11(pooling=p).stages[n] for p in ("max", "avg") for n in ("pool1", "pool3", "pool5")]
    assert all(isinstance(p, torch.nn.MaxPool2d) for p in pools[:3])
    assert all(isinstance(p, torch.nn.AvgPool2d) and p.kernel_size == 3 and p.stride == 2 for p in pools[3:])
    with pytest.raises(ValueError):
        SqueezeNet11(pooling="median")


def test_record():
    record = registry.get_record("squeezenet1_1")
    assert record.backbone_class() is SqueezeNet11 and isinstance(record.build(), SqueezeNet11)
    assert tuple(record.build().layer_names) == LAYERS and SqueezeNet11.preprocessing is CAFFE
    assert record.download_size == 5_059_384


def test_converter_reads_keras_layout(tmp_path, net):
    """A synthetic file in the Keras layout: each kernel must land in its layer, HWIO -> OIHW."""
    h5py = pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    path = tmp_path / "squeezenet.h5"
    expected = {}
    with h5py.File(path, "w") as f:
        for module, layer in net.named_modules():
            if isinstance(layer, torch.nn.Conv2d):
                keras = module.removeprefix("stages.").replace(".", "/")
                kernel = rng.standard_normal(tuple(layer.weight.shape[2:]) + tuple(layer.weight.shape[1::-1]))
                bias = rng.standard_normal(layer.out_channels)
                group = f.create_group(keras)
                group[f"{keras}_W:0"] = kernel.astype(np.float32)
                group[f"{keras}_b:0"] = bias.astype(np.float32)
                group.attrs["weight_names"] = [f"{keras}_W:0".encode(), f"{keras}_b:0".encode()]
                expected[module] = kernel, bias
    state = squeezenet.convert_keras_squeezenet({"m": path})
    SqueezeNet11().load_state_dict(state, strict=True)
    kernel, bias = expected["stages.fire4.expand3x3"]
    w = state["stages.fire4.expand3x3.weight"]
    assert w[5, 7, 0, 2].item() == pytest.approx(kernel[0, 2, 7, 5])  # OIHW [o, i, h, w] = HWIO [h, w, i, o]
    assert w[5, 7, 2, 0].item() == pytest.approx(kernel[2, 0, 7, 5])
    np.testing.assert_allclose(state["conv10.bias"].numpy(), expected["conv10"][1].astype(np.float32))


@pytest.mark.integration
def test_classifies_chelsea_and_coffee():
    """The issue's check: Egyptian cat (285) and espresso (967) top-1 at 227x227."""
    skimage_data = pytest.importorskip("skimage.data")
    net = weights.load_backbone("squeezenet1_1")
    images = [torch.from_numpy(getattr(skimage_data, n)()).permute(2, 0, 1)[None].float() / 255
              for n in ("chelsea", "coffee")]
    x = torch.cat([F.interpolate(im, size=(227, 227), mode="bilinear", antialias=True) for im in images])
    with torch.no_grad():
        probs = net.classify(x).softmax(dim=1)
    top = probs.argmax(dim=1).tolist()
    print(json.dumps({"top1": top, "p_egyptian_cat": probs[0, 285].item(), "p_espresso": probs[1, 967].item()}))
    assert top == [285, 967]
