"""ResNet50: stage names, shapes, truncated extraction, the converter's parts, and the real ImageNet classifier."""

import json

import numpy as np
import pytest
import torch
from torch import nn

import nstyle.models.resnet as resnet
from nstyle.errors import UsageError
from nstyle.models import registry, weights
from nstyle.models.resnet import ResNet50


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return ResNet50().eval()


def test_stage_names_and_record():
    names = ResNet50().layer_names
    assert names[:5] == ["conv1", "conv1_relu", "pool1", "res2a", "res2b"]
    assert len(names) == 3 + 3 + 4 + 6 + 3 and names[-1] == "res5c" and "res4f" in names
    record = registry.get_record("resnet50")
    assert resnet.resnet50_layer_names() == names and record.build is ResNet50 and record.backbone_class() is ResNet50
    assert record.members[0].path == resnet.MODEL_JSON  # the converter reads the topology by this path
    assert all(m.sha256 and m.size for m in record.members) and len(record.members) == 26
    assert record.download_size == 109_312 + 24 * 4_194_304 + 1_883_552


def test_aliases():
    net = ResNet50()
    assert net.resolve(["layer1", "layer2", "layer3", "layer4"]) == ["res2c", "res3d", "res4f", "res5c"]
    assert net.resolve(["layer3.0", "conv4_block6_out", "relu", "maxpool"]) == ["res4a", "res4f", "conv1_relu", "pool1"]
    assert set(net.resolve(net.default_style_layers + net.default_content_layers)) <= set(net.layer_names)
    with pytest.raises(UsageError, match="res5c"):
        net.resolve(["res6a"])


def test_output_shapes(net):
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        out = net(x, ["conv1", "pool1", "res2c", "res3a", "res4f", "res5c"])
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == {"conv1": (1, 64, 32, 32), "pool1": (1, 64, 16, 16), "res2c": (1, 256, 16, 16),
                      "res3a": (1, 512, 8, 8), "res4f": (1, 1024, 4, 4), "res5c": (1, 2048, 2, 2)}
    assert (out["res3a"] >= 0).all()  # a block's output is after its ReLU
    with torch.no_grad():
        assert net.classify(torch.rand(2, 3, 64, 64)).shape == (2, 1000)


def test_extraction_stops_at_the_deepest_layer_asked_for(net):
    ran = []
    for name, stage in net.stages.items():
        stage.register_forward_hook(lambda *_, name=name: ran.append(name))
    with torch.no_grad():
        out = net(torch.rand(1, 3, 32, 32), ["layer1", "conv1_relu"])
    assert set(out) == {"conv1_relu", "res2c"} and ran[-1] == "res2c" and "res3a" not in ran


def test_pooling_choice():
    torch.manual_seed(0)
    avg = ResNet50(pooling="avg").eval()
    assert isinstance(avg.stages["pool1"], nn.AvgPool2d) and isinstance(ResNet50().stages["pool1"], nn.MaxPool2d)
    mx = ResNet50().eval()
    mx.load_state_dict(avg.state_dict())
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        a, m = avg(x, ["pool1"])["pool1"], mx(x, ["pool1"])["pool1"]
    assert a.shape == m.shape == (1, 64, 8, 8) and (m >= a).all() and not torch.allclose(a, m)
    with pytest.raises(ValueError):
        ResNet50(pooling="median")


def test_fold_batch_norm_matches_conv_then_batch_norm():
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(5, 7, 3, 2, padding=1), nn.BatchNorm2d(7, eps=1e-3).eval()
    with torch.no_grad():
        for t in (bn.weight, bn.bias, bn.running_mean):
            t.copy_(torch.randn(7))
        bn.running_var.copy_(torch.rand(7) + 0.1)
    kernel, bias = resnet.fold_batch_norm(*(t.detach().numpy() for t in (
        conv.weight, conv.bias, bn.weight, bn.bias, bn.running_mean, bn.running_var)), eps=1e-3)
    folded = nn.Conv2d(5, 7, 3, 2, padding=1)
    folded.load_state_dict({"weight": torch.from_numpy(kernel), "bias": torch.from_numpy(bias)})
    x = torch.randn(2, 5, 9, 9)
    with torch.no_grad():
        assert torch.allclose(folded(x), bn(conv(x)), atol=1e-5)


def test_read_tfjs_weights_slices_across_shards(tmp_path):
    a, b = np.arange(6, dtype="<f4").reshape(2, 3), np.array([7.0, 8.0, 9.0], "<f4")
    data = a.tobytes() + b.tobytes()
    (tmp_path / "s1").write_bytes(data[:10])  # a shard boundary in the middle of a float
    (tmp_path / "s2").write_bytes(data[10:])
    model = {"weightsManifest": [{"paths": ["s1", "s2"], "weights": [
        {"name": "a", "shape": [2, 3], "dtype": "float32"}, {"name": "b", "shape": [3], "dtype": "float32"}]}]}
    files = {"pkg/s1": tmp_path / "s1", "pkg/s2": tmp_path / "s2"}
    arrays = resnet.read_tfjs_weights(model, files, "pkg")
    assert np.array_equal(arrays["a"], a) and np.array_equal(arrays["b"], b)
    model["weightsManifest"][0]["weights"].pop()
    with pytest.raises(ValueError, match="bytes"):
        resnet.read_tfjs_weights(model, files, "pkg")


def _keras_layers(net: ResNet50) -> dict:
    layers = {name: {"class_name": "Conv2D", "config": {"kernel_size": list(c.kernel_size), "strides": list(c.stride)}}
              for name, c in net.keras_convs().items()}
    layers["conv1_pad"] = {"class_name": "ZeroPadding2D", "config": {"padding": [[3, 3], [3, 3]]}}
    layers["pool1_pad"] = {"class_name": "ZeroPadding2D", "config": {"padding": [[1, 1], [1, 1]]}}
    return layers


def test_topology_check():
    net = ResNet50()
    convs = net.keras_convs()
    assert len(convs) == 53 and convs["res3a_branch2a"].stride == (2, 2) and convs["res3a_branch2b"].stride == (1, 1)
    layers = _keras_layers(net)
    resnet._check_topology(layers, convs)
    layers["res4a_branch2b"]["config"]["strides"] = [2, 2]  # ResNet v1.5 puts the stride here
    with pytest.raises(ValueError, match="res4a_branch2b"):
        resnet._check_topology(layers, convs)
    layers = _keras_layers(net)
    del layers["res2a_branch1"]
    with pytest.raises(ValueError, match="res2a_branch1"):
        resnet._check_topology(layers, convs)


def keras_input(image: np.ndarray) -> torch.Tensor:
    """RGB 0..1 at 224x224, resized as Keras's ``load_img(target_size=...)`` does (nearest neighbour)."""
    from PIL import Image

    resized = Image.fromarray(image).resize((224, 224), Image.NEAREST)
    return torch.from_numpy(np.asarray(resized, np.float32) / 255).permute(2, 0, 1)


@pytest.mark.integration
def test_resnet50_classifies_chelsea_and_coffee():
    skimage_data = pytest.importorskip("skimage.data")
    net = weights.load_backbone("resnet50")
    x = torch.stack([keras_input(skimage_data.chelsea()), keras_input(skimage_data.coffee())])
    with torch.no_grad():
        probs = net.classify(x).softmax(dim=1)
    top = probs.argmax(dim=1).tolist()
    print(json.dumps({"top1": top, "p_egyptian_cat": probs[0, 285].item(), "p_espresso": probs[1, 967].item()}))
    assert top == [285, 967]  # Egyptian cat, espresso
    assert probs[0, 285] > 0.5 and probs[1, 967] > 0.5
