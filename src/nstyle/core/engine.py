"""Style transfer as a Python API, and the one painter that every command uses.

``Painter`` is a prepared transfer: every option and input checked, the images, styles, colours and regions
made, and nothing heavy done yet. ``Painter.paint`` optimises one level (one size) from a given start, with
an optional extra term (video's temporal loss); ``run`` paints the levels coarse to fine. ``transfer``,
``video``, ``compare``, ``sweep``, batch and the web jobs all go through it, so every option applies to
every frame and every job.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from ..errors import UsageError
from ..io.images import as_image, image_to_tensor, load_image, one_or_many, resize_to_long_side, tensor_to_image
from ..models.precision import compute_dtype
from ..models.registry import get_record, resolve
from ..models.weights import checked_weights_file, load_backbone
from .catalog import METHODS, ONE_PASS_METHODS, STYLE_LOSSES
from .color import luminance_image, recombine
from .control import level_guides, prepare_colors, presenter, read_guidance, shown
from .guidance import Guidance
from .losses import Guides, StyleTransferLoss
from .memory import check_fits
from .optim import Curvature, IterationRecord, optimize
from .options import INIT_KEYWORDS, TransferOptions, options_from
from .pyramid import upsample
from .regions import FoundMaps, find_maps
from .stops import Stop
from .tiling import TiledObjective

ImageInput = str | os.PathLike | PIL.Image.Image
Objective = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class TransferResult:
    image: PIL.Image.Image
    history: list[IterationRecord]
    options: TransferOptions
    best_iteration: int
    stopped: str
    maps: FoundMaps | None = None  # the regions --auto-maps found (``FoundMaps.images`` draws them)
    curvature: Curvature | None = None  # the last level's L-BFGS curvature, to warm-start a similar run

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
    """The start of the optimisation: white noise, the content, the style (resized), or an image file (``check``
    has made sure it is one)."""
    shape = content.shape
    if init == "noise":
        return torch.rand(shape, generator=generator).to(content.device)
    if init == "content":
        return content.clone()
    if init == "style":
        return torch.nn.functional.interpolate(style, size=shape[-2:], mode="bilinear", align_corners=False)
    img = load_image(init).resize((shape[-1], shape[-2]), PIL.Image.LANCZOS)
    return image_to_tensor(img, device=content.device)


#: the largest picture whose maps are probed as they are (``sparse_style_layers``); a larger one is probed smaller,
#: its positions scaled by the area, so that a tiled level never runs the network on its whole style
PROBE_PIXELS = 256 * 256


def sparse_style_layers(backbone, styles: Sequence[torch.Tensor], layers: Sequence[str]) -> set[str]:
    """Those of ``layers`` where a style's map has fewer positions than channels (relu5_1 of VGG19 for a 128 px
    style: 8 x 8 for 512): there its mean and covariance pin the painting's objects where they stand."""
    sparse = set()
    for style in styles:
        height, width = style.shape[-2:]
        scale = min(1.0, (PROBE_PIXELS / (height * width)) ** 0.5)
        probe = (max(1, round(height * scale)), max(1, round(width * scale)))
        area = height * width / (probe[0] * probe[1])
        shapes = backbone.feature_shapes(*probe, layers)
        sparse |= {name for name, (channels, h, w) in shapes.items() if h * w * area < channels}
    return sparse


def loss_layers(options: TransferOptions, backbone, coarse: bool = False,
                styles: Sequence[torch.Tensor] = ()) -> tuple[list[str], dict[str, float]]:
    """The content layers and the style layers with their weights, by canonical name, of a ``coarse`` level (below
    ``--size``; ``styles``: its style images, as the level sees them) or of the final one."""
    content_layers = list(options.content_layers or backbone.default_content_layers)
    network = backbone.resolve(backbone.default_style_layers)
    sparse = sparse_style_layers(backbone, styles, network) \
        if coarse and options.resolved().coarse_layers_by_positions else set()
    style_layers = options.settled_style_layers(network, sparse)
    layer_weights = list(options.style_layer_weights or [1.0 / len(style_layers)] * len(style_layers))
    if len(layer_weights) != len(style_layers):
        raise UsageError(f"{len(layer_weights)} style layer weights given for {len(style_layers)} style layers")
    return backbone.resolve(content_layers), dict(zip(backbone.resolve(style_layers), layer_weights))


def coarse_style_layers(options: TransferOptions, backbone) -> dict[int, list[str]]:
    """The style layers of each level below ``--size`` for a square picture and its style at that size: what
    ``nstyle models --details`` says and what a quality record is tied to."""
    return {size: list(loss_layers(options, backbone, coarse=True, styles=[torch.zeros(1, 3, size, size)])[1])
            for size, _ in options.level_plan() if size < options.size}


def build_loss(options: TransferOptions, backbone, content: torch.Tensor, styles: Sequence[torch.Tensor],
               guides: Guides | None = None, content_factor: float = 1.0, coarse: bool = False):
    """The objective of one level, as ``--method`` builds it; ``content_factor`` multiplies the content weight;
    ``coarse``: a level below ``--size`` (``loss_layers``)."""
    layers = loss_layers(options, backbone, coarse, styles)
    return METHODS[options.method].build_objective(options, backbone, content, styles, layers, guides, content_factor)


def tile_overlap(tile: int) -> int:
    """Pixels shared by neighbouring tiles: an eighth of the tile, at least 64 (at 256 px tiles the gradient
    is then within 0.03 % of the untiled one)."""
    return max(64, tile // 8)


def tiled_objective(options: TransferOptions, backbone, content: torch.Tensor,
                    styles: Sequence[torch.Tensor], coarse: bool = False) -> TiledObjective:
    """The loss of a level too large for one pass, evaluated exactly, tile by tile (``nstyle.core.tiling``)."""
    overlap = tile_overlap(options.tile)
    content_layers, style_layers = loss_layers(options, backbone, coarse, styles)
    resolved = options.resolved()
    losses = STYLE_LOSSES[resolved.style_loss].tiled_losses(
        backbone, styles, list(style_layers), options.tile, overlap, blend=options.style_blend_for(len(styles)),
        mode=options.loss, image_pixels=content.shape[-2] * content.shape[-1])
    return TiledObjective(backbone, content, losses, content_layers, style_layers, resolved.weights, options.loss,
                          options.tile, overlap)


@dataclass
class Checked:
    """What ``check`` read and settled of a transfer's inputs: the device, the content at ``--size``, the style
    images, their blend, the regions of given masks or maps, and the levels (size, iterations) that fit the image."""

    device: torch.device
    content: PIL.Image.Image
    styles: list[PIL.Image.Image]
    blend: list[float]
    guidance: Guidance | None
    plan: list[tuple[int, int]]


def check(options: TransferOptions, content: ImageInput, style: ImageInput | Sequence[ImageInput],
          backbone=None) -> Checked:
    """Every check of a transfer that needs its inputs, before anything heavy (no weights load, nothing is
    optimised): memory, sizes, layer names on the untrained network, ``--init`` and ``--weights`` files, masks and
    maps. A ``UsageError`` names what is wrong. ``backbone``: the network the run will use, if already loaded."""
    opts = options
    device = select_device(opts.device)
    check_fits(opts, content, style, device, loaded=backbone is not None)  # before any image is resized
    smallest = min_input_size(opts.model) if backbone is None else backbone.min_input_size
    network = opts.model if backbone is None else getattr(backbone, "name", "") or "this network"
    content = resize_to_long_side(as_image(content), opts.size)
    if min(content.size) < smallest:
        raise UsageError(f"{network} needs images of at least {smallest} px on the short side, and this one "
                         f"is {content.width}x{content.height} at --size {opts.size}; give a larger --size")
    styles = one_or_many(style)
    if not styles:
        raise UsageError("give at least one style image")
    blend = opts.style_blend_for(len(styles))
    if round(min(content.size) * opts.style_scale) < smallest:
        raise UsageError(f"--style-scale {opts.style_scale:g} makes the style image too small for "
                         f"{network}; give a larger --style-scale or --size")
    if opts.content_layers or opts.style_layers:  # names checked on the untrained network: no weights load
        loss_layers(opts, backbone if backbone is not None else get_record(opts.model).build(pooling=opts.pooling))
    if opts.init not in INIT_KEYWORDS and not Path(opts.init).is_file():
        raise UsageError(f"--init must be {', '.join(INIT_KEYWORDS)} or an image file; {opts.init!r} is none of "
                         "these")
    if opts.weights is not None and backbone is None:
        checked_weights_file(opts.weights)
    style_images = [as_image(s) for s in styles]
    guidance = read_guidance(opts, content, style_images, blend)
    aspect = min(content.size) / max(content.size)
    plan = [(s, n) for s, n in opts.resolved().plan if s * aspect >= smallest or s == opts.size]
    guided = guidance is not None or opts.auto_maps is not None
    if opts.tile and plan[-1][0] > opts.tile and (opts.smoothing or guided):
        needs = "--smoothing needs" if opts.smoothing else "masks and maps need"
        raise UsageError(f"{needs} the whole image at once; give --tile larger than --size ({opts.size}) "
                         "or --tile 0")
    return Checked(device, content, style_images, blend, guidance, plan)


class Painter:
    """A prepared transfer: what ``run`` paints, level by level, and video frame by frame.

    Making one checks every option and input and prepares the images (colours, regions, the level plan);
    the network loads on the first ``paint``, unless one is given (video shares one between its frames).
    ``shared``: a dict kept by a caller that paints many contents in the same styles and options (video frames);
    the painters given it reuse each other's style targets, by size, where they do not depend on the content.
    """

    def __init__(self, content: ImageInput, style: ImageInput | Sequence[ImageInput],
                 options: TransferOptions, backbone=None, shared: dict | None = None):
        self.options = opts = options
        self.shared = shared
        checked = check(opts, content, style, backbone)
        self.device, self.content, self.style_images = checked.device, checked.content, checked.styles
        self.blend, self._guidance, self.plan = checked.blend, checked.guidance, checked.plan
        self._found: FoundMaps | None = None
        self.work_content, self.styles = prepare_colors(opts, self.content, self.style_images)
        self.method = METHODS[opts.method]
        self.backbone = backbone
        self._drafts: dict[str, PIL.Image.Image] = {}

    def found_maps(self) -> FoundMaps | None:
        """The regions ``--auto-maps`` finds (with the network, once), or None without it."""
        if self.options.auto_maps is None:
            return None
        if self._found is None:
            self._found = find_maps(self.network(), self.content, self.style_images, self.options.auto_maps,
                                    self.options.seed, self.blend)
        return self._found

    @property
    def guidance(self) -> Guidance | None:
        """The regions of a mask, of the given maps or of the found ones, or None."""
        found = self.found_maps()
        return found.guidance if found is not None else self._guidance

    def tiled(self, size: int) -> bool:
        return bool(self.options.tile) and size > self.options.tile

    def network(self):
        if self.backbone is None:
            self.backbone = load_network(self.options, self.device)
        return self.backbone

    def objective(self, size: int):
        """The loss of the level at ``size`` (tiled above ``--tile``), with that level's content and styles."""
        opts, backbone = self.options, self.network()
        content = image_to_tensor(resize_to_long_side(self.work_content, size), device=self.device)
        style_size = max(1, round(size * opts.style_scale))
        styles = [image_to_tensor(resize_to_long_side(s, style_size), device=self.device) for s in self.styles]
        coarse = size < opts.size
        try:
            if self.tiled(size):
                return tiled_objective(opts, backbone, content, styles, coarse), content, styles
            earlier = self.shared.get(size) if self.shared is not None and self.guidance is None else None
            if earlier is not None:
                return earlier.for_content(content), content, styles
            guides = level_guides(self.guidance, content, styles)
            factor = opts.size / size if self.method.content_grows_coarser else 1.0
            loss = build_loss(opts, backbone, content, styles, guides, content_factor=factor, coarse=coarse)
            if self.shared is not None and isinstance(loss, StyleTransferLoss) and loss.shares_styles:
                self.shared[size] = loss
            return loss, content, styles
        except RuntimeError as err:  # a layer deeper than the image allows (the network's own check)
            if "too small" not in str(err):
                raise
            raise UsageError(f"at {size} px the image is too small for the layers asked of {opts.model} (its pooling "
                             "leaves nothing); give a larger --size or shallower --content-layers/--style-layers") \
                from None

    def start(self, content: torch.Tensor, style: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The first level's start image (``--init``), in the space that is optimised."""
        if self.options.init in ONE_PASS_METHODS:
            return self.draft(self.options.init, content.shape)
        init = initial_image(self.options.init, content, style, generator)
        if self.options.preserve_color == "luminance" and self.options.init not in INIT_KEYWORDS:
            init = image_to_tensor(luminance_image(tensor_to_image(init)), device=self.device)
        return init

    def draft(self, method: str, shape: Sequence[int]) -> torch.Tensor:
        """This transfer painted in one pass by ``method`` (one of ``ONE_PASS_METHODS``: ``--init NAME``, and the
        start of what enters a video frame), resized to ``shape``, in the space that is optimised. Painted once,
        at ``--size``, with this transfer's styles, blend, strength, colour and mask."""
        if self._drafts.get(method) is None:
            self._drafts[method] = resolve(METHODS[method].painter)(self, None)
        picture = self._drafts[method]
        if picture.size != (shape[-1], shape[-2]):
            picture = picture.resize((shape[-1], shape[-2]), PIL.Image.Resampling.LANCZOS)
        return self.working(image_to_tensor(picture, device=self.device))

    def working(self, picture: torch.Tensor) -> torch.Tensor:
        """A picture as it was shown (e.g. the previous video frame) in the space that is optimised: its luminance
        under ``--preserve-color luminance``, else itself."""
        if self.options.preserve_color != "luminance":
            return picture
        return image_to_tensor(luminance_image(tensor_to_image(picture)), device=picture.device)

    def paint(self, size: int, iterations: int, init: torch.Tensor | None = None,
              callback: Callable[[IterationRecord, torch.Tensor], None] | None = None,
              extra: Callable[[Objective, Callable], Objective] | None = None,
              generator: torch.Generator | None = None, warm: Curvature | None = None):
        """Optimise the level at ``size`` from ``init`` (``--init`` when None; resized when it is another size);
        ``extra(objective, compose)`` may add a term to the objective; ``warm``: L-BFGS curvature of a similar
        run (``optimize``). Returns the optimiser's outcome and the picture it stands for (masks composed), in
        the optimised space."""
        objective, content, styles = self.objective(size)
        first = init is None
        if first:
            init = self.start(content, styles[0], generator or torch.Generator().manual_seed(self.options.seed))
        elif tuple(init.shape[-2:]) != tuple(content.shape[-2:]):
            init = upsample(init, content.shape)
        if self.method.retargets and not (first and self.options.init == "content"):
            objective.retarget(init)  # a first level started from the content has its targets made already
        loss = extra(objective, objective.compose) if extra is not None else objective
        present = presenter(objective, self.options.preserve_color, self.content, size)
        opts = self.options
        outcome = optimize(loss, init, iterations, opts.optimizer, opts.lr, shown(callback, present), opts.tolerance,
                           parametrization=opts.parametrization, average=opts.average, warm=warm)
        return outcome, objective.compose(outcome.image)

    def picture(self, image: torch.Tensor) -> PIL.Image.Image:
        """The result as the user sees it: under ``--preserve-color luminance`` recoloured with the content; with
        a method's own colouring (and no colour preservation: nnst's, the styles' OkLab mean and covariance)."""
        if self.options.preserve_color == "luminance":
            return recombine(image, self.content)
        if self.method.colouring is not None and self.options.preserve_color is None:
            return self.method.colour(tensor_to_image(image), self.styles, self.blend)
        return tensor_to_image(image)


def min_input_size(model: str) -> int:
    """The smallest image side ``model`` takes (an unknown name fails here, before any work)."""
    return get_record(model).backbone_class().min_input_size


def prepare(content: ImageInput, style: ImageInput | Sequence[ImageInput], backbone=None,
            options: TransferOptions | None = None, **keywords) -> Painter:
    """Check everything and prepare a transfer without running it (no network is loaded). The options are
    ``options``, already made (what the interfaces parse once), or the keywords, not both."""
    if options is not None and keywords:
        raise UsageError(f"give the options as a TransferOptions or as keywords ({', '.join(keywords)}), not both")
    return Painter(content, style, options if options is not None else options_from(**keywords), backbone)


def auto_maps(content: ImageInput, style: ImageInput | Sequence[ImageInput], regions: int | str = "auto",
              backbone=None, **options) -> FoundMaps:
    """The regions ``--auto-maps regions`` finds for this transfer, without painting it: ``.images()`` draws them
    as maps for ``--content-map``/``--style-map``, ``.guidance`` is what the guided losses would take."""
    return prepare(content, style, backbone=backbone, auto_maps=regions, **options).found_maps()


def run(
    content: ImageInput,
    style: ImageInput | Sequence[ImageInput],
    callback: Callable[[IterationRecord, torch.Tensor], None] | None = None,
    backbone=None,
    options: TransferOptions | None = None,
    **keywords,
) -> TransferResult:
    """Paint ``content`` in the style of ``style``; returns the image and the loss history.

    ``callback(record, image)`` is called after every iteration with the losses and the current
    image ([1, 3, H, W], RGB 0..1); raise ``nstyle.StopOptimization`` in it to stop early.
    ``backbone``: a network to use instead of loading ``model``'s (a small one in tests, or one shared).
    The options: a ``TransferOptions`` as ``options``, or its fields as keywords.
    """
    painter = prepare(content, style, backbone=backbone, options=options, **keywords)
    generator = seed_everything(painter.options.seed)
    if painter.method.painter is not None:  # a method that paints in one pass: no levels, no optimisation
        picture = resolve(painter.method.painter)(painter, generator)
        return TransferResult(picture, [], painter.options, 0, Stop.COMPLETED, painter.found_maps())
    history: list[IterationRecord] = []
    image, outcome = None, None
    best, stopped = 0, Stop.COMPLETED
    for size, iterations in painter.plan:
        try:
            outcome, image = painter.paint(size, iterations, image, _numbered(callback, history), generator=generator)
        except KeyboardInterrupt:  # while a level's loss is built: a finished level is kept, as in the optimiser
            if image is None:  # before the first iteration (the network loading): nothing to keep
                raise
            stopped = Stop.INTERRUPTED
            break
        best = len(history) + outcome.best_iteration
        history += _renumbered(outcome.history, history)
        stopped = outcome.stopped
        if stopped not in (Stop.COMPLETED, Stop.CONVERGED):
            break
    return TransferResult(painter.picture(image), history, painter.options, best, stopped, painter.found_maps(),
                          outcome.curvature if outcome is not None else None)


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


__all__ = ["TransferOptions", "TransferResult", "Painter", "check", "prepare", "run", "transfer", "options_from",
           "replace"]
