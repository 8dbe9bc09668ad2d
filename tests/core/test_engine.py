"""The engine's plumbing with a tiny random network (tests/tiny_backbone.py), in seconds and without weights:
coarse-to-fine levels, tiling, masks, --preserve-color luminance, stops, seeds, option checks and resume."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from nstyle import StopOptimization
from nstyle.core import engine
from nstyle.core.color import RGB_TO_YIQ, rgb_to_yiq
from nstyle.core.engine import prepare, run
from nstyle.core.options import options_from
from nstyle.core.tiling import TiledObjective
from nstyle.errors import UsageError
from nstyle.io.images import load_image, resize_to_long_side
from nstyle.jobs.runner import run_transfer_job
from tests.tiny_backbone import ExplodingBackbone, TinyBackbone

# tolerance 0: every level runs all its iterations, so the counts below are exact.
FAST = {"device": "cpu", "tolerance": 0.0}
# 8-bit rounding moves each RGB channel by at most 0.5/255, and I and Q by at most that times their row's coefficients.
IQ_ROUNDING = 0.5 / 255 * np.abs(RGB_TO_YIQ[1:]).sum(axis=1)
# The tiled loss, its parts and gradient against the untiled ones, relative: measured at most 1.2e-6 for the case
# below (the astronaut at 320 px, 4 tiles, every loss mode), and at most 8e-5 over 32 cases (4 modes, 4 image pairs,
# 320 and 512 px, 2-9 tiles): float32 summation order alone, as the tiny network sees 7 px around a pixel and each
# tile's owned part keeps 32 px of context. A tile left out or counted twice is off by tens of percent.
TILED_RTOL = 1e-4


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """At these sizes a second thread only adds synchronisation: on a busy two-core machine two threads made an
    evaluation 50 times slower (5 ms at 128 px with one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def net():
    return TinyBackbone()


@pytest.fixture(scope="module")
def pair(package_images):
    """A landscape content (the cat, 451x300) and a portrait style (the rocket)."""
    return load_image(package_images["chelsea"]), load_image(package_images["rocket"])


def pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.float64) / 255


def hw(image, size: int) -> tuple[int, int]:
    """(height, width) of ``image`` at long side ``size``, as the engine resizes it."""
    width, height = resize_to_long_side(image, size).size
    return height, width


def test_levels_run_coarse_to_fine_and_number_on(net, pair):
    content, style = pair
    seen = []
    result = run(content, style, callback=lambda record, image: seen.append((record, tuple(image.shape[-2:]))),
                 backbone=net, size=256, levels=2, iterations=5, **FAST)
    # 128 px runs the default schedule's 80 iterations (more than twice 5), then 256 px runs 5.
    assert prepare(content, style, backbone=net, size=256, levels=2, iterations=5, **FAST).plan == [
        (128, 80), (256, 5)]
    assert [r.iteration for r, _ in seen] == list(range(1, 86))
    assert {shape for r, shape in seen if r.iteration <= 80} == {hw(content, 128)}
    assert {shape for r, shape in seen if r.iteration > 80} == {hw(content, 256)}
    assert [r.iteration for r in result.history] == list(range(1, 86))
    assert [(r.total, r.elapsed) for r in result.history] == [(r.total, r.elapsed) for r, _ in seen]
    elapsed = [r.elapsed for r in result.history]
    assert all(b > a for a, b in zip(elapsed, elapsed[1:]))  # the time runs on too
    assert result.image.size == resize_to_long_side(content, 256).size
    assert 80 < result.best_iteration <= 85  # counted over both levels, found in the last
    # The fine level starts from the coarse level's picture, not afresh from the content.
    fresh = run(content, style, backbone=net, size=256, levels=1, iterations=1, **FAST).history[0]
    assert result.history[80].style < 0.5 * fresh.style


@pytest.mark.parametrize("mode", ["nstyle", "paper", "keras", "classic"])
def test_above_the_tile_size_the_loss_goes_tile_by_tile_and_equals_the_whole_images(mode, net, package_images):
    """Without TV: it is the whole image's in both, and in keras and classic modes it would hide the rest."""
    content, style = load_image(package_images["astronaut"]), load_image(package_images["rocket"])
    kwargs = dict(backbone=net, size=320, levels=1, loss=mode, tv_weight=0.0, **FAST)
    tiled, whole = prepare(content, style, tile=256, **kwargs), prepare(content, style, tile=0, **kwargs)
    tiled_objective, c, _ = tiled.objective(320)
    whole_objective, _, _ = whole.objective(320)
    assert isinstance(tiled_objective, TiledObjective) and len(tiled_objective.tiles) == 4
    assert not isinstance(whole_objective, TiledObjective)
    x = 0.7 * c + 0.3 * torch.rand(c.shape, generator=torch.Generator().manual_seed(0))
    a, b = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    (tiled_loss, tiled_parts), (loss, parts) = tiled_objective(a), whole_objective(b)
    tiled_loss.backward()
    loss.backward()
    assert tiled_loss.item() == pytest.approx(loss.item(), rel=TILED_RTOL)
    for k in ("content", "style"):
        assert tiled_parts[k].item() == pytest.approx(parts[k].item(), rel=TILED_RTOL)
    assert parts["content"].item() > 0 and parts["style"].item() > 0  # nothing compared is trivially zero
    assert ((a.grad - b.grad).norm() / b.grad.norm()).item() < TILED_RTOL


def test_a_run_tiles_only_the_levels_above_the_tile_size(net, pair, monkeypatch):
    content, style = pair
    made = []

    class Spy(TiledObjective):
        def __init__(self, backbone, content, *args, **kwargs):
            made.append(tuple(content.shape[-2:]))
            super().__init__(backbone, content, *args, **kwargs)

    monkeypatch.setattr(engine, "TiledObjective", Spy)
    tiled = run(content, style, backbone=net, size=320, tile=256, levels=2, iterations=4, **FAST)
    assert made == [hw(content, 320)]  # the 160 px level fits in one tile
    monkeypatch.undo()
    whole = run(content, style, backbone=net, size=320, tile=0, levels=2, iterations=4, **FAST)
    assert len(tiled.history) == len(whole.history) == 64 + 4  # 160 px: the default schedule's 64 (20 * 512 / 160)
    coarse = 64  # the 160 px level (untiled in both) and the final level's first evaluation, from the same point
    for t, w in zip(tiled.history[:coarse + 1], whole.history[:coarse + 1]):
        assert t.total == pytest.approx(w.total, rel=1e-4)
    # then L-BFGS amplifies the objectives' 1e-6 along its path: measured at most 1.6e-3 with W2 at 220 (4e-4 at 170)
    for t, w in zip(tiled.history[coarse + 1:], whole.history[coarse + 1:]):
        assert t.total == pytest.approx(w.total, rel=5e-3)
    # The same picture: measured 0.17 grey levels apart on average and at most 4 on a few values (0.04 % more than
    # 2), while the run moved the picture 53 levels from the content on average. The objectives agree to 1e-6
    # (above); L-BFGS amplifies that into these few levels, by an amount that depends on the path (0.05 on average
    # while every level matched every style layer, 0.008 for the same images read without JPEG).
    a, b = (np.asarray(r.image, dtype=int) for r in (tiled, whole))
    moved = np.abs(b - np.asarray(resize_to_long_side(content, 320), dtype=int)).mean()
    assert np.abs(a - b).max() <= 6 and (np.abs(a - b) > 2).mean() < 1e-3 and np.abs(a - b).mean() < 5e-3 * moved


@pytest.mark.parametrize(("init", "style_loss"), [("content", "gram"), ("noise", "gram"), ("content", "w2")])
def test_a_grey_mask_keeps_the_black_part_exactly_and_styles_the_white(init, style_loss, net, pair):
    """From the content the white part must move; from noise the black part must still come out as the content."""
    content, style = pair
    size = 256
    h, w = hw(content, size)
    mask = np.zeros((h, w, 3), dtype=np.uint8)
    mask[:, : w // 2] = 255  # left half styled, right half kept
    result = run(content, style, mask=Image.fromarray(mask), init=init, backbone=net, size=size, levels=1,
                 iterations=20, style_loss=style_loss, **FAST)
    out, original = pixels(result.image), pixels(resize_to_long_side(content, size))
    assert out.shape == original.shape
    assert np.array_equal(out[:, w // 2:], original[:, w // 2:])
    assert np.abs(out[:, : w // 2] - original[:, : w // 2]).mean() > 5 / 255  # 35/255 here, as unmasked


def iq(image) -> np.ndarray:
    return rgb_to_yiq(pixels(image))[..., 1:]


def test_preserve_color_luminance_keeps_the_contents_chroma(net, pair):
    content, style = pair
    size = 256
    shown = []
    result = run(content, style, callback=lambda record, image: shown.append(image), preserve_color="luminance",
                 backbone=net, size=size, levels=1, iterations=20, **FAST)
    original = resize_to_long_side(content, size)
    assert np.all(np.abs(iq(result.image) - iq(original)).max(axis=(0, 1)) <= IQ_ROUNDING + 1e-9)
    # The progress images are recoloured too (they come as 0..1 tensors of 8-bit values).
    last = rgb_to_yiq(shown[-1][0].permute(1, 2, 0).double().numpy())[..., 1:]
    assert np.all(np.abs(last - iq(original)).max(axis=(0, 1)) <= IQ_ROUNDING + 1e-6)
    # and the luminance was styled (by 4.7 grey levels on average; 8-bit rounding alone moves it by under 0.5)
    y_out, y_in = rgb_to_yiq(pixels(result.image))[..., 0], rgb_to_yiq(pixels(original))[..., 0]
    assert np.abs(y_out - y_in).mean() > 2 / 255


def cancel_at(iteration: int):
    """A callback that cancels the run after ``iteration``, as the web jobs' cancel button does."""
    def callback(record, image):
        if record.iteration == iteration:
            raise StopOptimization("cancelled")
    return callback


def test_a_callback_stop_ends_the_run_with_its_reason_and_the_best_image(net, pair):
    content, style = pair
    kwargs = dict(backbone=net, size=128, levels=1, **FAST)
    stopped = run(content, style, callback=cancel_at(6), iterations=50, **kwargs)
    assert stopped.stopped == "cancelled" and len(stopped.history) == 6
    totals = [r.total for r in stopped.history]
    assert stopped.best_iteration == 1 + int(np.argmin(totals))
    six = run(content, style, iterations=6, **kwargs)  # the same six iterations, run to the end
    assert six.stopped == "completed"
    assert np.array_equal(np.asarray(stopped.image), np.asarray(six.image))
    assert not np.array_equal(np.asarray(stopped.image), np.asarray(resize_to_long_side(content, 128)))


def test_a_stop_in_a_coarse_level_ends_the_run_there(net, pair):
    content, style = pair
    stopped = run(content, style, callback=cancel_at(3), backbone=net, size=256, levels=2, iterations=5, **FAST)
    assert stopped.stopped == "cancelled" and len(stopped.history) == 3
    assert stopped.image.size == resize_to_long_side(content, 128).size  # no finer level was painted


def test_the_same_seed_gives_the_same_image_and_another_seed_another(net, pair):
    content, style = pair
    kwargs = dict(backbone=net, size=128, levels=1, iterations=10, init="noise", **FAST)
    a, b = run(content, style, seed=3, **kwargs).image, run(content, style, seed=3, **kwargs).image
    c = run(content, style, seed=4, **kwargs).image
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert np.abs(pixels(a) - pixels(c)).mean() > 1 / 255


@pytest.mark.parametrize("options, message", [
    ({"optimizer": "bogus"}, "--optimizer"),
    ({"style_weight": float("nan")}, "--style-weight"),
    ({"tile": 100}, "--tile"),
    ({"size": 16}, "at least 16 px"),  # the cat is 16x11 at --size 16
    ({"style_scale": 0.01}, "--style-scale"),
    ({"init": "no-such-file.png"}, "--init"),
    ({"style_layers": ["conv9"]}, "no layer 'conv9'"),
    ({"size": 320, "tile": 256, "smoothing": 5.0}, "--smoothing"),
    ({"unknown_option": 1}, "unknown option"),
])
def test_bad_options_are_refused_before_the_network_runs(options, message, pair):
    content, style = pair
    with pytest.raises(UsageError, match=message):
        run(content, style, backbone=ExplodingBackbone(), **(dict(size=64, iterations=2, **FAST) | options))


@pytest.mark.parametrize("options, message", [
    ({"size": 16}, "at least 16 px"),
    ({"style_scale": 0.01}, "--style-scale"),
    ({"init": "no-such-file.png"}, "--init"),
    ({"style_layers": ["conv9"]}, "no layer 'conv9'"),
    ({"size": 320, "tile": 256, "smoothing": 5.0}, "--smoothing"),
    ({"mask": "no-such-mask.png"}, "no-such-mask.png"),
])
def test_check_refuses_what_the_painter_refuses_without_running_the_network(options, message, pair):
    """``engine.check`` (what video can call instead of making a throwaway painter) on options that are each valid
    alone but not for these inputs."""
    content, style = pair
    opts = engine.options_from(**(dict(size=64, iterations=2, **FAST) | options))
    with pytest.raises(UsageError, match=message):
        engine.check(opts, content, style, backbone=ExplodingBackbone())


def test_check_settles_the_inputs_the_painter_uses(net, pair):
    content, style = pair
    opts = engine.options_from(size=256, levels=2, iterations=4, **FAST)
    checked = engine.check(opts, content, [style, style], backbone=net)
    assert checked.content.size == resize_to_long_side(content, 256).size and len(checked.styles) == 2
    assert checked.blend == [1.0, 1.0] and checked.guidance is None
    assert [s for s, _ in checked.plan] == [128, 256] and checked.plan == list(opts.resolved().plan)
    assert engine.Painter(content, [style, style], opts, backbone=net).plan == checked.plan


def test_the_exploding_backbone_explodes(pair):
    """What makes the test above prove something: with good options the network does run."""
    with pytest.raises(AssertionError, match="the backbone was run"):
        run(*pair, backbone=ExplodingBackbone(), size=64, iterations=2, **FAST)


class InterruptingBackbone(TinyBackbone):
    """The tiny network (the same weights) that turns its ``after``-th evaluation into a Ctrl-C."""

    def __init__(self, after: int):
        super().__init__()
        self.calls, self.after = 0, after

    def forward(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.after:
            raise KeyboardInterrupt
        return super().forward(*args, **kwargs)


def test_an_interrupted_job_resumes_from_its_checkpoint(net, package_images, tmp_path, monkeypatch, capsys):
    """run_transfer_job takes no backbone: the engine's loader is replaced, so the job never reads weights."""
    content, style = package_images["chelsea"], package_images["rocket"]
    out = tmp_path / "out.png"
    options = options_from(model="vgg19", size=128, levels=1, iterations=20, **FAST)
    # Two passes build the loss (content and style features); the 10th call is the 8th evaluation.
    monkeypatch.setattr(engine, "load_network", lambda opts, device: InterruptingBackbone(after=10))
    assert run_transfer_job(content, style, out, options, quiet=True) == 130
    assert "interrupted after 7 iterations" in capsys.readouterr().err
    assert out.is_file() and (tmp_path / "out.resume.json").is_file() and (tmp_path / "out.resume.png").is_file()
    before = [float(r["total"]) for r in csv.DictReader(open(tmp_path / "out.losses.csv"))]
    assert len(before) == 7

    monkeypatch.setattr(engine, "load_network", lambda opts, device: net)
    assert run_transfer_job(content, style, out, options, resume=True, quiet=True) == 0
    rows = list(csv.DictReader(open(tmp_path / "out.losses.csv")))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 21))  # 13 more: 20 in all
    assert [float(r["total"]) for r in rows[:7]] == before
    # it went on from the checkpoint's picture (the best so far; 8 bits moved its loss by 1e-4), not from the content
    assert float(rows[7]["total"]) == pytest.approx(min(before), rel=0.01)
    assert float(rows[7]["total"]) < 0.5 * before[0]
    assert not (tmp_path / "out.resume.json").exists() and not (tmp_path / "out.resume.png").exists()


def test_layers_deeper_than_the_image_allows_are_a_usage_error():
    """Found by the property test (SqueezeNet at 16 px): a network's own 'output size is too small' is the user's
    choice of size and layers, and says so in one line."""
    from torch import nn

    net = TinyBackbone()
    net.stages["deep"] = nn.Sequential(*[nn.MaxPool2d(3, 2) for _ in range(4)])  # valid poolings: 16 px -> nothing
    with pytest.raises(UsageError, match="at 16 px the image is too small for the layers"):
        run(Image.new("RGB", (16, 16), "red"), Image.new("RGB", (16, 16), "blue"), backbone=net, size=16,
            iterations=1, levels=1, style_layers=["deep"])


@pytest.mark.parametrize("extra", [{}, {"style_loss": "gram"}, {"method": "strotss"}])
def test_painters_given_one_shared_dict_reuse_the_style_targets_and_lose_nothing(net, pair, extra):
    """Video frames share one dict: the second painter's objective reuses the first's style targets (no pass of the
    style image through the network) and is the very loss a fresh painter builds for its content."""
    from nstyle.core.options import options_from

    content, style = pair
    other = content.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    opts = options_from(size=64, levels=1, device="cpu", **extra)
    shared, seen = {}, []
    counting = TinyBackbone()  # the same weights as ``net``
    counting.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    torch.manual_seed(0)  # STROTSS samples the style's pixels as it builds, and positions as it evaluates
    engine.Painter(content, style, opts, backbone=counting, shared=shared).objective(64)
    assert list(shared) == [64]
    seen.clear()
    reused, content_tensor, _ = engine.Painter(other, style, opts, backbone=counting, shared=shared).objective(64)
    assert seen == [content_tensor.shape], "only the new content went through the network"
    torch.manual_seed(0)
    fresh, _, _ = engine.Painter(other, style, opts, backbone=net).objective(64)
    x = torch.rand_like(content_tensor)
    torch.manual_seed(1)
    a, parts_a = reused(x)
    torch.manual_seed(1)
    b, parts_b = fresh(x)
    assert torch.allclose(a, b, rtol=1e-5) and all(torch.allclose(parts_a[k], parts_b[k], rtol=1e-5) for k in parts_a)


def test_a_mask_or_smoothing_keeps_the_style_targets_to_each_painter(net, pair, tmp_path):
    """Guided targets depend on the content's regions, smoothing is calibrated on the content: nothing is shared."""
    from nstyle.core.options import options_from

    content, style = pair
    Image.new("L", content.size, 255).save(tmp_path / "mask.png")
    for extra in ({"mask": str(tmp_path / "mask.png")}, {"smoothing": 2.0}):
        shared = {}
        engine.Painter(content, style, options_from(size=64, levels=1, device="cpu", **extra), backbone=net,
                       shared=shared).objective(64)
        assert shared == {}, extra
