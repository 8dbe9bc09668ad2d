"""The seed paper's run, replayed: the Keras example neural_style_transfer.py (2017-2019) that it used.

VGG19 (caffe preprocessing, max pooling), the image 400 px tall and the style squashed to the same
size, content on block5_conv2, style on block1_conv1..block5_conv1 with equal weights (style_weight / 5),
the "keras" loss normalisation (see ``nstyle.core.losses``), weights content 0.025, style 5, TV 0.1, a noise
start as the paper describes, and ``iterations`` rounds of SciPy's L-BFGS-B with at most 20 function
evaluations each, restarted every round, optimising the preprocessed image in float64 as Keras did.
It prints what the paper's figures show after each round.

On other networks (the paper also ran VGG16, ResNet50 and InceptionV3 this way) the same settings apply;
VGG16 takes the example's layer names, the others their own default layers, and never activation
smoothing, since the paper had none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from ..core.engine import TransferResult, seed_everything, select_device
from ..core.losses import StyleTransferLoss
from ..core.memory import check_fits, image_size
from ..core.modes import get_mode
from ..core.optim import IterationRecord, RunTracker, run_guarded
from ..core.options import MAX_SIZE, TransferOptions
from ..errors import UsageError
from ..io.images import as_image, image_to_tensor, resize_to_height, save_image, tensor_to_image
from ..io.paths import refuse_overwriting_inputs
from ..models.base import CAFFE
from ..models.weights import load_backbone

HEIGHT = 400
CONTENT_LAYERS = ("block5_conv2",)
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")
OUTER_ITERATIONS = 10
MAX_EVALUATIONS = 20  # fmin_l_bfgs_b(..., maxfun=20)
KERAS = get_mode("keras").weights  # content 0.025, style 5, TV 0.1


def paper_options(**overrides) -> TransferOptions:
    """The paper's settings as TransferOptions (for records and comparisons)."""
    base = dict(model="vgg19", size=HEIGHT, iterations=OUTER_ITERATIONS, optimizer="lbfgs", init="noise",
                content_weight=KERAS["content"], style_weight=KERAS["style"],
                tv_weight=KERAS["tv"], content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                pooling="max", loss="keras", smoothing=0.0)
    return TransferOptions(**(base | overrides))


def check_paper_fits(content, style, model: str, height: int, device: str) -> None:
    """The Painter's memory check for this run, which does not go through it: ``height`` as a long side, 20
    evaluations (scipy's L-BFGS keeps 10 float64 pairs, as much as 20 float32 ones)."""
    size = image_size(content)
    if size is not None:
        long_side = min(MAX_SIZE, round(max(size) * height / size[1]))
        check_fits(TransferOptions(model=model, size=long_side, levels=1, iterations=20, device=device), content,
                   style)


def paper_layers(backbone) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The Keras example's layers where the network has them (VGG), else the network's defaults."""
    try:
        backbone.resolve(CONTENT_LAYERS + STYLE_LAYERS)
        return CONTENT_LAYERS, STYLE_LAYERS
    except UsageError:
        return tuple(backbone.default_content_layers), tuple(backbone.default_style_layers)


def run_paper(
    content: str | os.PathLike | PIL.Image.Image,
    style: str | os.PathLike | PIL.Image.Image,
    output: str | os.PathLike | None = None,
    iterations: int = OUTER_ITERATIONS,
    seed: int = 0,
    device: str = "auto",
    weights: str | None = None,
    model: str = "vgg19",
    height: int = HEIGHT,
    log: Callable[[str], None] = print,
    on_evaluation: Callable[[IterationRecord], None] | None = None,
) -> TransferResult:
    """Replay the paper's run; with ``output``, save each round as ``<stem>_at_iteration_<i>.png``."""
    from scipy.optimize import fmin_l_bfgs_b

    prefix = Path(output).with_suffix("") if output is not None else None
    if prefix is not None:
        round_files = [f"{prefix}_at_iteration_{i}.png" for i in range(iterations)]
        refuse_overwriting_inputs({"a round's image of -o": round_files},
                                  {"the content image": content, "the style image": style, "--weights": weights},
                                  advice="give -o another name")
    check_paper_fits(content, style, model, height, device)
    backbone = load_backbone(model, weights, pooling="max")
    content_layers, style_layers = paper_layers(backbone)
    opts = paper_options(iterations=iterations, seed=seed, device=device, weights=weights, model=model,
                         size=height, content_layers=content_layers, style_layers=style_layers)
    dev = select_device(device)
    generator = seed_everything(seed)
    content_img = resize_to_height(as_image(content), height)
    style_img = as_image(style).resize(content_img.size, PIL.Image.LANCZOS)  # squashed, as Keras's load_img
    backbone = backbone.to(dev)
    content_t = image_to_tensor(content_img, device=dev)
    style_t = image_to_tensor(style_img, device=dev)
    layers = {name: 1.0 / len(style_layers) for name in backbone.resolve(style_layers)}
    objective = StyleTransferLoss(backbone, content_t, [style_t], backbone.resolve(content_layers), layers,
                                  {"content": opts.content_weight, "style": opts.style_weight, "tv": opts.tv_weight},
                                  mode="keras")
    shape = content_t.shape
    noise = torch.rand(shape, generator=generator).to(dev)
    tracker = RunTracker(noise)

    def loss_and_grad(flat: np.ndarray) -> tuple[float, np.ndarray]:
        v = torch.from_numpy(flat).to(dev, torch.float32).view(shape).requires_grad_(True)
        image = CAFFE.invert(v)  # the variable is the preprocessed image, as in Keras
        loss, parts = objective(image)
        loss.backward()
        record = tracker.record(loss, parts, image)
        if on_evaluation is not None:
            on_evaluation(record)
        return loss.item(), v.grad.double().cpu().numpy().ravel()

    def rounds() -> None:
        x = CAFFE(noise).double().cpu().numpy().ravel()
        for i in range(iterations):
            log(f"Start of iteration {i}")
            start = time.time()
            x, min_val, _ = fmin_l_bfgs_b(loss_and_grad, x, maxfun=MAX_EVALUATIONS)
            log(f"Current loss value: {min_val}")
            if prefix is not None:
                current = CAFFE.invert(torch.from_numpy(x).float().view(shape))
                fname = save_image(tensor_to_image(current), f"{prefix}_at_iteration_{i}.png")
                log(f"Image saved as {fname.name}")
            log(f"Iteration {i} completed in {int(time.time() - start)}s")

    outcome = run_guarded(tracker, rounds)
    return TransferResult(tensor_to_image(outcome.image), outcome.history, opts, outcome.best_iteration,
                          outcome.stopped)
