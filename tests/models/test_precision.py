"""bfloat16 networks (``--precision``): chosen where the hardware has it, features back in float32, and the
same picture as float32 within a few per cent by the judge."""

import numpy as np
import pytest
import torch
from PIL import Image

from nstyle.core.engine import run
from nstyle.errors import UsageError
from nstyle.eval.judge import Judge
from nstyle.io.images import image_to_tensor, load_image, resize_to_long_side
from nstyle.models.precision import compute_dtype, native_bfloat16
from nstyle.models.weights import load_backbone

CPU = torch.device("cpu")


def test_explicit_precisions_are_taken_as_asked():
    assert compute_dtype("float32", CPU) is None
    assert compute_dtype("bfloat16", CPU) is torch.bfloat16


def test_auto_follows_the_hardware(monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert not native_bfloat16(CPU)
    assert compute_dtype("auto", CPU) is None
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    assert compute_dtype("auto", CPU) is torch.bfloat16


def test_an_unknown_precision_is_a_usage_error():
    with pytest.raises(UsageError, match="float16.*auto, float32, bfloat16"):
        compute_dtype("float16", CPU)
    with pytest.raises(UsageError, match="--precision .half.: choose from auto, float32 or bfloat16"):
        run(Image.new("RGB", (32, 32)), Image.new("RGB", (32, 32)), size=32, precision="half")


@pytest.mark.integration
def test_bfloat16_features_come_back_float32_and_close(images):
    net = load_backbone("vgg19")
    x = image_to_tensor(resize_to_long_side(load_image(images["tubingen"]), 96)).requires_grad_(True)
    layers = ["relu1_1", "relu3_1", "relu5_1"]
    exact = net(x, layers)
    net.compute_dtype = torch.bfloat16
    rounded = net(x, layers)
    for name in layers:
        assert rounded[name].dtype == torch.float32
        error = (rounded[name] - exact[name]).norm() / exact[name].norm()
        assert 0 < error < 0.03, f"{name}: relative error {error:.4f}"  # rounded, and only by bfloat16's 8 bits
    sum(f.square().mean() for f in rounded.values()).backward()
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.integration
def test_bfloat16_paints_the_picture_float32_paints(images):
    content, style = load_image(images["tubingen"]), load_image(images["starry_night"])
    judge = Judge(content, style, size=128)
    runs = {p: run(content, style, size=128, iterations=40, precision=p) for p in ("float32", "bfloat16")}
    exact, rounded = judge(runs["float32"].image), judge(runs["bfloat16"].image)
    assert abs(rounded.content - exact.content) < 0.05 * exact.content
    assert abs(rounded.style - exact.style) < 0.05 * exact.style
    a, b = (np.asarray(r.image, dtype=np.float32) for r in runs.values())
    assert not np.array_equal(a, b)  # the precision was really used
    # The strokes land elsewhere (the optimisation amplifies any rounding), the picture at 16 px must not.
    small_a, small_b = (np.asarray(r.image.resize((16, 12), Image.BOX), dtype=np.float32) for r in runs.values())
    assert np.abs(small_a - small_b).mean() < 6, "the two pictures should differ only in their strokes"
