"""Style transfer as a Python API: ``transfer(content, style, **options) -> PIL.Image``.

``TransferOptions`` is the one source of truth for defaults: the command line builds its flags from
these fields (their ``metadata`` holds the help text), so the two never drift.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from .color import HISTOGRAM_METHODS, PRESERVE_COLOR, luminance_image, recombine
from .control import level_guides, prepare_colors, presenter, read_guidance, shown, style_blend
from ..errors import UsageError
from ..io.images import as_image, image_to_tensor, load_image, resize_to_long_side, tensor_to_image
from .losses import MODES, Guides, StyleTransferLoss
from .optim import OPTIMIZERS, IterationRecord, OptimizationResult, optimize
from ..models.precision import PRECISIONS, compute_dtype
from .pyramid import level_iterations, level_sizes, upsample
from .tiling import TiledObjective, style_targets_of
from ..models.registry import get_record
from ..models.weights import load_backbone

ImageInput = str | os.PathLike | PIL.Image.Image
MIN_LEVEL_SIZE = 128  # coarser than this, VGG's deep layers see a few feature positions and add nothing

# Weights for the size- and scale-free "nstyle" losses: content and style terms both start near 1.
NSTYLE_WEIGHTS = {"content": 1.0, "style": 100.0, "tv": 1.0}
# Coarse-to-fine lets the style take the layout at 128-256 px: at 512 px the default schedule's judge content
# distance is 1.31 with content weight 1, 0.89 with 10, 0.74 with 20 and 0.67 with 30 (style 0.09, 0.15, 0.19,
# 0.22; docs/BENCHMARKS.md). 20 is the first to keep the content better than the classic baseline.
COARSE_TO_FINE_CONTENT = {"content": 20.0}
PAPER_WEIGHTS = {"content": 1.0, "style": 1e3, "tv": 0.0}  # Gatys et al.'s alpha/beta = 1e-3
KERAS_WEIGHTS = {"content": 0.025, "style": 5.0, "tv": 0.1}  # the seed paper's run
CLASSIC_WEIGHTS = {"content": 5.0, "style": 100.0, "tv": 1e-3}  # neural-style's defaults
# --strength s multiplies the default style weight by 10^(STRENGTH_DECADES * (s - 0.5)): s = 0.5 is the default.
STRENGTH_DECADES = 6.0


def _opt(default, help: str, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TransferOptions:
    """Every knob of a transfer. ``None`` means "the default of the chosen network or loss mode"."""

    model: str = _opt("vgg19", "backbone network (see `nstyle weights list`)")
    size: int = _opt(512, "long side of the output in pixels")
    iterations: int = _opt(20, "optimisation iterations (evaluations of loss and gradient) at the final size; "
                           "each coarser level runs twice as many as the next finer one")
    levels: int = _opt(0, "coarse-to-fine: optimise at up to this many sizes, each twice the previous, none "
                       f"below {MIN_LEVEL_SIZE} px (0: as many as fit, e.g. 128, 256, 512; 1: the final size only)")
    tolerance: float = _opt(1e-4, "stop a level when the loss improved by less than this fraction over 50 "
                            "iterations (0: run every iteration)")
    tile: int = _opt(1024, "sizes whose long side exceeds this many pixels are evaluated in overlapping tiles "
                     "of this size, so memory stays bounded however large the output (0: never tile)")
    optimizer: str = _opt("lbfgs", "optimisation method", choices=OPTIMIZERS)
    lr: float | None = _opt(None, "step size (default: 1 for lbfgs, 0.02 for adam and sgd)")
    init: str = _opt("content", "start image: noise, content, style, or an image file")
    content_weight: float | None = _opt(None, "alpha, weight of the content loss (default per --loss)")
    style_weight: float | None = _opt(None, "beta, weight of the style loss (default per --loss)")
    tv_weight: float | None = _opt(None, "weight of the total-variation loss (default per --loss)")
    content_layers: Sequence[str] | None = _opt(None, "content layers (default: the network's)", nargs="+")
    style_layers: Sequence[str] | None = _opt(None, "style layers (default: the network's)", nargs="+")
    style_layer_weights: Sequence[float] | None = _opt(
        None, "one weight per style layer (default: equal)", nargs="+")
    style_blend: Sequence[float] | None = _opt(
        None, "one weight per style image: their Gram targets are mixed in these proportions (default: equal)",
        nargs="+", type=float, metavar="W")
    style_scale: float = _opt(1.0, "size of the style image relative to the output (long sides): above 1 gives "
                              "larger brush strokes, below 1 finer ones")
    strength: float | None = _opt(
        None, "style strength from 0 (keep the content) to 1 (all style): sets the style weight on a log scale, "
        f"the default weight times 10^({STRENGTH_DECADES:g} * (strength - 0.5)); instead of --style-weight")
    preserve_color: str | None = _opt(
        None, "keep the content's colours: luminance (transfer the luminance only) or histogram (match the style's "
        "colour mean and covariance to the content's first)", choices=PRESERVE_COLOR)
    histogram_method: str = _opt("eig", "how --preserve-color histogram maps colours: eig (symmetric square roots) "
                                 "or cholesky", choices=HISTOGRAM_METHODS)
    mask: str | None = _opt(None, "where to style: a grey mask (white styled, black keeps the content, grey "
                            "between) or a colour mask with --mask-colors", metavar="FILE")
    mask_colors: Sequence[str] | None = _opt(
        None, "the mask colour of each style, in the order of the styles (names or #rrggbb); black keeps the "
        "content", nargs="+", metavar="COLOR")
    content_map: str | None = _opt(None, "semantic transfer: colour-coded label map of the content; each region "
                                   "takes the style of the --style-map region of the same colour", metavar="FILE")
    style_map: Sequence[str] | None = _opt(None, "label map of each style image, in the colours of --content-map",
                                           nargs="+", metavar="FILE")
    smoothing: float = _opt(
        0.0, "activation smoothing (Wang et al. 2021) with this temperature, in units of the layer's "
        "activation spread (try 5 with a 100x --style-weight); 0: off (see docs/PAPER.md)")
    pooling: str = _opt("max", "pooling in the backbone (Gatys et al. prefer avg)", choices=("max", "avg"))
    loss: str = _opt("nstyle", "loss normalisation: nstyle (size-free), paper (Gatys's formulas), "
                     "keras (the seed paper's code), classic (neural-style's)", choices=MODES)
    seed: int = _opt(0, "random seed; the same seed gives the same image")
    device: str = _opt("auto", "cpu, cuda, or auto (cuda when available)")
    precision: str = _opt("auto", "number format of the network: bfloat16 (about twice as fast where the CPU or "
                          "GPU has it in hardware), float32, or auto (bfloat16 where native, else float32)",
                          choices=PRECISIONS)
    weights: str | None = _opt(None, "use this weights file instead of the cached download")

    def level_plan(self) -> list[tuple[int, int]]:
        """(long side, iterations) of each level, coarse to fine."""
        sizes = level_sizes(self.size, self.levels, min_size=MIN_LEVEL_SIZE)
        return list(zip(sizes, level_iterations(self.iterations, len(sizes), sizes), strict=True))

    def planned_iterations(self) -> int:
        """Evaluations over all levels (before any early stop)."""
        return sum(n for _, n in self.level_plan())

    def resolved_weights(self) -> dict[str, float]:
        base = {"nstyle": NSTYLE_WEIGHTS, "paper": PAPER_WEIGHTS, "keras": KERAS_WEIGHTS,
                "classic": CLASSIC_WEIGHTS}[self.loss]
        if self.loss == "nstyle" and len(self.level_plan()) > 1:
            base = base | COARSE_TO_FINE_CONTENT  # the coarse levels hand the layout to the style otherwise
        given = {"content": self.content_weight, "style": self.style_weight, "tv": self.tv_weight}
        weights = {k: base[k] if v is None else float(v) for k, v in given.items()}
        if self.strength is not None:
            if self.style_weight is not None:
                raise UsageError("--strength sets the style weight; give --strength or --style-weight, not both")
            if not 0.0 <= self.strength <= 1.0:
                raise UsageError(f"--strength must be between 0 and 1, not {self.strength:g}")
            weights["style"] = strength_weight(self.strength, base["style"])
        return weights


def strength_weight(strength: float, default: float) -> float:
    """The style weight for a strength 0..1: log-linear around the default (strength 0.5)."""
    return default * 10.0 ** (STRENGTH_DECADES * (strength - 0.5))


def options_from(**overrides) -> TransferOptions:
    known = {f.name for f in fields(TransferOptions)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown option(s): {', '.join(sorted(unknown))}")
    return TransferOptions(**overrides)


@dataclass
class TransferResult:
    image: PIL.Image.Image
    history: list[IterationRecord]
    options: TransferOptions
    best_iteration: int
    stopped: str

    @property
    def seconds(self) -> float:
        return self.history[-1].elapsed if self.history else 0.0


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError:
        raise UsageError(f"unknown device {name!r}; use cpu, cuda or auto") from None


def load_network(opts: TransferOptions, device: torch.device):
    """The chosen backbone with its weights and pooling, on ``device``, computing in ``--precision``."""
    dtype = compute_dtype(opts.precision, device)  # a bad precision fails before the weights load
    backbone = load_backbone(opts.model, opts.weights, pooling=opts.pooling).to(device)
    backbone.compute_dtype = dtype
    return backbone


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def initial_image(init: str, content: torch.Tensor, style: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The start of the optimisation: white noise, the content, the style (resized), or an image file."""
    shape = content.shape
    if init == "noise":
        return torch.rand(shape, generator=generator).to(content.device)
    if init == "content":
        return content.clone()
    if init == "style":
        return torch.nn.functional.interpolate(style, size=shape[-2:], mode="bilinear", align_corners=False)
    if not Path(init).is_file():
        raise UsageError(f"--init must be noise, content, style or an image file; {init!r} is none of these")
    img = load_image(init).resize((shape[-1], shape[-2]), PIL.Image.LANCZOS)
    return image_to_tensor(img, device=content.device)


def loss_layers(options: TransferOptions, backbone) -> tuple[list[str], dict[str, float]]:
    """The content layers and the style layers with their weights, by canonical name."""
    content_layers = list(options.content_layers or backbone.default_content_layers)
    style_layers = list(options.style_layers or backbone.default_style_layers)
    layer_weights = list(options.style_layer_weights or [1.0 / len(style_layers)] * len(style_layers))
    if len(layer_weights) != len(style_layers):
        raise UsageError(f"{len(layer_weights)} style layer weights given for {len(style_layers)} style layers")
    return backbone.resolve(content_layers), dict(zip(backbone.resolve(style_layers), layer_weights))


def build_loss(options: TransferOptions, backbone, content: torch.Tensor, styles: Sequence[torch.Tensor],
               guides: Guides | None = None, style_targets: dict[str, torch.Tensor] | None = None
               ) -> StyleTransferLoss:
    content_layers, style_layers = loss_layers(options, backbone)
    weights = options.resolved_weights()
    return StyleTransferLoss(
        backbone, content, styles,
        content_layers=content_layers,
        style_layers=style_layers,
        content_weight=weights["content"], style_weight=weights["style"], tv_weight=weights["tv"],
        mode=options.loss,
        style_blend=style_blend(options, len(styles)),
        smoothing=options.smoothing,
        guidance=guides,
        style_targets=style_targets,
    )


MIN_TILE = 256  # smaller tiles leave the deepest features too little context (gradient off by 35 % at 128)


def tile_overlap(tile: int) -> int:
    """Pixels shared by neighbouring tiles: an eighth of the tile, at least 64 (at 256 px tiles the gradient
    is then within 0.03 % of the untiled one)."""
    return max(64, tile // 8)


def tiled_objective(options: TransferOptions, backbone, content: torch.Tensor,
                    styles: Sequence[torch.Tensor]) -> TiledObjective:
    """The loss of a level too large for one pass, evaluated exactly, tile by tile (``nstyle.core.tiling``)."""
    overlap = tile_overlap(options.tile)
    content_layers, style_layers = loss_layers(options, backbone)
    targets = style_targets_of(backbone, styles, list(style_layers), options.tile, overlap,
                               blend=style_blend(options, len(styles)))
    return TiledObjective(backbone, content, targets, content_layers, style_layers, options.resolved_weights(),
                          options.loss, options.tile, overlap)


def run(
    content: ImageInput,
    style: ImageInput | Sequence[ImageInput],
    callback: Callable[[IterationRecord, torch.Tensor], None] | None = None,
    **options,
) -> TransferResult:
    """Paint ``content`` in the style of ``style``; returns the image and the loss history.

    ``callback(record, image)`` is called after every iteration with the losses and the current
    image ([1, 3, H, W], RGB 0..1); raise ``nstyle.core.optim.StopOptimization`` in it to stop early.
    """
    opts = options_from(**options)
    if opts.size < 16:
        raise UsageError(f"--size must be at least 16 pixels, not {opts.size}")
    if opts.iterations < 1:
        raise UsageError(f"--iterations must be at least 1, not {opts.iterations}")
    if opts.tile and opts.tile < MIN_TILE:
        raise UsageError(f"--tile must be 0 (off) or at least {MIN_TILE} pixels, not {opts.tile}")
    if opts.levels < 0:
        raise UsageError(f"--levels must be 0 (as many as fit) or a positive number, not {opts.levels}")
    device = select_device(opts.device)
    generator = seed_everything(opts.seed)
    record = get_record(opts.model)  # unknown names fail before any work
    content_img = resize_to_long_side(as_image(content), opts.size)
    smallest = getattr(record.build, "min_input_size", 16)
    if min(content_img.size) < smallest:
        raise UsageError(f"{opts.model} needs images of at least {smallest} px on the short side, and this one is "
                         f"{content_img.width}x{content_img.height} at --size {opts.size}; give a larger --size")
    styles = [style] if isinstance(style, (str, os.PathLike, PIL.Image.Image)) else list(style)
    if not styles:
        raise UsageError("give at least one style image")
    blend = style_blend(opts, len(styles))
    opts.resolved_weights()  # --strength is checked before any work
    if opts.style_scale <= 0 or round(min(content_img.size) * opts.style_scale) < smallest:
        raise UsageError(f"--style-scale {opts.style_scale:g} makes the style image too small for {opts.model}; "
                         "give a larger --style-scale or --size")
    style_imgs = [as_image(s) for s in styles]
    guidance = read_guidance(opts, content_img, style_imgs, blend)
    work_content, style_imgs = prepare_colors(opts, content_img, style_imgs)

    aspect = min(content_img.size) / max(content_img.size)
    plan = [(s, n) for s, n in opts.level_plan() if s * aspect >= smallest or s == opts.size]
    tiled = opts.tile and plan[-1][0] > opts.tile
    if tiled and (opts.smoothing or guidance is not None):  # before any level runs, not when the tiles come
        needs = "--smoothing needs" if opts.smoothing else "masks and maps need"
        raise UsageError(f"{needs} the whole image at once; give --tile larger than --size ({opts.size}) "
                         "or --tile 0")

    backbone = load_network(opts, device)
    history: list[IterationRecord] = []
    image = None
    for size, iterations in plan:
        level_content = resize_to_long_side(work_content, size)
        content_t = image_to_tensor(level_content, device=device)
        style_size = max(1, round(size * opts.style_scale))
        style_ts = [image_to_tensor(resize_to_long_side(s, style_size), device=device) for s in style_imgs]
        if opts.tile and size > opts.tile:
            objective = tiled_objective(opts, backbone, content_t, style_ts)
        else:
            objective = build_loss(opts, backbone, content_t, style_ts, level_guides(guidance, content_t, style_ts))
        if image is None:
            init = initial_image(opts.init, content_t, style_ts[0], generator)
            if opts.preserve_color == "luminance" and opts.init not in ("noise", "content", "style"):
                init = image_to_tensor(luminance_image(tensor_to_image(init)), device=device)
        else:
            init = upsample(image, content_t.shape)
        present = presenter(objective, opts.preserve_color, content_img, size)
        outcome: OptimizationResult = optimize(objective, init, iterations, opts.optimizer, opts.lr,
                                               shown(_numbered(callback, history), present), opts.tolerance)
        history += _renumbered(outcome.history, history)
        image = objective.compose(outcome.image)
        if outcome.stopped not in ("completed", "converged"):
            break
    best = len(history) - len(outcome.history) + outcome.best_iteration
    final = recombine(image, content_img) if opts.preserve_color == "luminance" else tensor_to_image(image)
    return TransferResult(final, history, opts, best, outcome.stopped)


def _renumbered(records: list[IterationRecord], before: list[IterationRecord]) -> list[IterationRecord]:
    """A level's records continued from the previous levels' count and elapsed time."""
    if not before:
        return list(records)
    offset, elapsed = before[-1].iteration, before[-1].elapsed
    return [replace(r, iteration=r.iteration + offset, elapsed=r.elapsed + elapsed) for r in records]


def _numbered(callback, before: list[IterationRecord]):
    """The user's callback, seeing iteration numbers and times that run on across levels."""
    if callback is None or not before:
        return callback
    return lambda record, image: callback(_renumbered([record], before)[0], image)


def transfer(content: ImageInput, style: ImageInput | Sequence[ImageInput], **options) -> PIL.Image.Image:
    """The stylised image alone; see ``run`` for the history and a progress callback."""
    return run(content, style, **options).image


__all__ = ["TransferOptions", "TransferResult", "run", "transfer", "options_from", "replace"]
