"""The style losses (``--style-loss``) and methods (``--method``) nstyle knows: one record each, looked up by name.

A record says everything the rest of nstyle asks of a name: its help text, its default weights, the memory it adds
per pixel, what it supports or refuses, and where the code that builds it lives, as ``"module:attribute"``
strings resolved only when used (as ``nstyle.models.registry`` names networks). So this module imports no torch:
the options, their help and the memory estimate read it without loading a network, and adding a style loss or a
method is one module under ``style_losses/`` or ``methods/`` and one record here. The names are written here and in
their own modules only (tests/core/test_catalog.py checks it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..models.registry import resolve

_LOSSES = "nstyle.core.style_losses"
_METHODS = "nstyle.core.methods"


@dataclass(frozen=True)
class StyleLossRecord:
    """A statistic of the style's features that the image is made to match (``--style-loss``).

    ``plain``, ``guided`` and ``tiled`` are ``"module:attribute"`` factories: ``plain(sources)`` and
    ``guided(sources)`` build one layer's loss from ``losses.StyleSources`` (a whole image; regions of masks or
    maps), ``tiled(backbone, styles, layers, tile, overlap, blend, mode, image_pixels)`` the per-layer losses that
    ``tiling.TiledObjective`` evaluates tile by tile. None: no such version (the options refuse it).
    """

    name: str
    help: str
    plain: str
    guided: str | None = None
    tiled: str | None = None
    #: beta when the user gives none; None: the loss normalisation's (``modes``)
    weight: float | None = None
    #: the loss normalisations (``--loss``) it is defined in; None: all of them
    modes: tuple[str, ...] | None = None
    #: what one evaluation adds over the Gram loss's memory per input pixel (``nstyle.core.memory``): projections,
    #: sorts and indices kept for the backward. Measured on VGG19 at its default layers (peak of a 512x384 run
    #: against the same run with Gram matrices: w2 +78 MB, sliced +439 MB, remd +132 MB), scaled to other networks
    #: by their evaluation's bytes per pixel.
    bytes_per_pixel: int = 0

    @property
    def masks(self) -> bool:
        """Whether it has a version for masks and maps (region by region)."""
        return self.guided is not None

    @property
    def tiles(self) -> bool:
        """Whether it can be evaluated tile by tile (``--tile``)."""
        return self.tiled is not None

    def defined_in(self, mode: str) -> bool:
        return self.modes is None or mode in self.modes

    def layer_loss(self, sources) -> Any:
        """One layer's loss (an ``nn.Module`` of the image's features), guided when ``sources`` has guidance."""
        factory = self.plain if sources.guidance is None else self.guided
        if factory is None:
            raise ValueError(f"the {self.name} style loss has no guided version")
        return resolve(factory)(sources)

    def tiled_losses(self, *args, **kwargs) -> dict[str, Any]:
        if self.tiled is None:
            raise ValueError(f"the {self.name} style loss takes whole images, not tiles")
        return resolve(self.tiled)(*args, **kwargs)


@dataclass(frozen=True)
class MethodRecord:
    """A recipe around the style statistic (``--method``).

    ``objective(options, backbone, content, styles, layers, guides, content_factor)`` (``"module:attribute"``)
    builds one level's loss (``layers``: the content layers and the weighted style layers), which the engine
    optimises. A method that paints without optimising names a ``painter`` instead, ``painter(painter, generator)
    -> PIL image`` (``painter`` an ``engine.Painter``: the checked inputs; it returns the finished picture), which
    the engine calls in place of its levels of optimisation.
    ``refuses`` maps an option (a ``TransferOptions`` field; ``mask`` stands for masks and maps, ``maps`` for maps
    alone; any other field counts as given when it is not its default) to the message its
    use gets, with ``{flag}`` (``--method NAME``), ``{value}`` (the option's value) and ``{size}`` (``--size``).
    """

    name: str
    help: str
    objective: str | None = None
    painter: str | None = None
    #: alpha, beta and the TV weight when the user gives none; None: the normalisation's and the style loss's
    weights: Mapping[str, float] | None = None
    #: the statistic it matches, a ``STYLE_LOSSES`` name; None: ``--style-loss``'s, or its own where it refuses it
    style_loss: str | None = None
    #: the content weight times the final size over the level's (doubled at every coarser level), not constant
    content_grows_coarser: bool = False
    #: each level's targets are made anew from the level's start image (the objective's ``retarget``)
    retargets: bool = False
    #: ``"module:attribute"``, ``colour(picture, styles, blend) -> picture``: the result's colours, after the last level
    colouring: str | None = None
    refuses: Mapping[str, str] = field(default_factory=dict)
    #: the largest --content-weight it takes, and why (nnst: a share, 0..1); None: any
    content_weight_limit: tuple[float, str] | None = None
    #: the loss normalisations it is defined in; None: all of them
    modes: tuple[str, ...] | None = None
    #: memory per pixel where it is not its style loss's (see ``StyleLossRecord.bytes_per_pixel``)
    bytes_per_pixel: int | None = None
    #: at a level below the final size, it matches a default style layer only where the style's map there has at
    #: least as many positions as the layer has channels, under a normalisation of nstyle's own (the published ones
    #: keep their papers' layers at every level): matching the statistics of fewer positions than channels pins the
    #: painting's objects where they stand (docs/QUALITY.md, "Object leak")
    coarse_layers_by_positions: bool = False

    def defined_in(self, mode: str) -> bool:
        return self.modes is None or mode in self.modes

    @property
    def takes_style_loss(self) -> bool:
        """Whether ``--style-loss`` chooses its statistic."""
        return self.style_loss is None and "style_loss" not in self.refuses

    def build_objective(self, *args, **kwargs) -> Any:
        return resolve(self.objective)(*args, **kwargs)

    def colour(self, picture, styles, blend) -> Any:
        return resolve(self.colouring)(picture, styles, blend) if self.colouring else picture


#: the distribution losses are relative errors of their own scale, defined in the nstyle normalisation only
STYLE_LOSSES: dict[str, StyleLossRecord] = {r.name: r for r in (
    StyleLossRecord(
        "gram", "Gatys's Gram matrices",
        plain=f"{_LOSSES}.gram:plain", guided=f"{_LOSSES}.gram:guided", tiled=f"{_LOSSES}.gram:tiled"),
    # w2's 220 is the frontier's choice (docs/QUALITY.md, "The default chosen again"): of 170, 220 and 300, the best
    # field numbers whose object leak stays clearly under the Gram default's, with LPIPS within 10 % of its.
    StyleLossRecord(
        "w2", "mean and covariance, Wasserstein-2",
        plain=f"{_LOSSES}.w2:plain", guided=f"{_LOSSES}.w2:guided", tiled=f"{_LOSSES}.w2:tiled",
        weight=220.0, modes=("nstyle",), bytes_per_pixel=420),
    # sliced's 300: at 100 it barely stylised (the weakest ArtFID of the losses); at 300 it takes the painting's
    # palette and strokes and still keeps the content best.
    StyleLossRecord(
        "sliced", "sliced Wasserstein: the whole distribution",
        plain=f"{_LOSSES}.sliced:plain", weight=300.0, modes=("nstyle",), bytes_per_pixel=2350),
    StyleLossRecord(
        "remd", "STROTSS's relaxed earth mover's distance",
        plain=f"{_LOSSES}.remd:plain", weight=100.0, modes=("nstyle",), bytes_per_pixel=710),
)}

#: --style-loss when none is given, in the nstyle normalisation (the quality/time frontier: docs/QUALITY.md)
DEFAULT_STYLE_LOSS = "w2"
#: where the default is not defined (the other normalisations) or not wanted: with masks and maps, whose guided W2
#: leaves a seam at a soft mask's edge (tests/core/test_control.py)
FALLBACK_STYLE_LOSS = "gram"


def default_style_loss(mode: str, guided: bool) -> str:
    """The style loss of a run that names none, in loss normalisation ``mode``, with or without regions."""
    return DEFAULT_STYLE_LOSS if not guided and STYLE_LOSSES[DEFAULT_STYLE_LOSS].defined_in(mode) \
        else FALLBACK_STYLE_LOSS


#: what the methods other than the plain recipe refuse: they compare the whole image at once, without regions
_WHOLE_IMAGE_ONLY = {
    "style_loss": "{flag} brings its own style loss; leave out --style-loss {value}",
    "mask": "{flag} has no masked or per-region version; give --method gatys with --mask or maps",
    "smoothing": "{flag} compares cosine distances, which --smoothing does not help; leave it out",
    "tile": "{flag} compares the whole image at once; give --tile 0 or larger than --size ({size})",
}

METHODS: dict[str, MethodRecord] = {r.name: r for r in (
    MethodRecord(
        "gatys", "a content-feature loss and --style-loss", objective=f"{_METHODS}.gatys:objective",
        coarse_layers_by_positions=True),
    # strotss's content weight 100 is tuned for nstyle's schedule (docs/QUALITY.md): the published balance (200
    # here) left the photograph under a film of texture, 50 lost the content's figures.
    MethodRecord(
        "strotss", "Kolkin et al. 2019: self-similarity content, relaxed EMD style, palette",
        objective=f"{_METHODS}.strotss:objective", weights={"content": 100.0, "style": 100.0, "tv": 1.0},
        style_loss="remd", content_grows_coarser=True, refuses=_WHOLE_IMAGE_ONLY, modes=("nstyle",)),
    # nnst: the content's hypercolumns replaced by their nearest style hypercolumns, the image optimised towards them
    # (re-targeted from each level's start), the style's colours at the end (``nstyle.core.neighbours``). Its
    # memory: the candidates (8,192 hypercolumns) and a search chunk's distances are fixed (about 110 MB at VGG19's
    # layers), its grid a sixteenth of the pixels: set at remd's share.
    MethodRecord(
        "nnst", "Kolkin et al. 2022: neural neighbours, then the style's colours; --content-weight is then the "
        "content's share, 0..1",
        objective=f"{_METHODS}.nnst:objective", weights={"content": 0.75, "style": 100.0, "tv": 1.0},
        retargets=True, colouring=f"{_METHODS}.nnst:colour",
        refuses=_WHOLE_IMAGE_ONLY | {
            "strength": "--strength sets a style weight, and {flag}'s style comes from its neighbours; give "
                        "--content-weight (0 to 1) instead"},
        content_weight_limit=(1.0, "it is the content's share of the image searched for neighbours; give 0 to 1"),
        modes=("nstyle",), bytes_per_pixel=710),
    # fast: one pass of a feed-forward network (Ghiasi et al. 2017): no network of --model, no loss, no optimiser,
    # so what only shapes a loss or an optimisation is refused rather than silently ignored
    MethodRecord(
        "fast", "Ghiasi et al. 2017: one pass of a feed-forward arbitrary-style network, under a second; "
        "--strength, --preserve-color, several styles and masks apply",
        painter=f"{_METHODS}.fast:painter", refuses={
            "style_loss": "{flag} brings its own network; leave out --style-loss {value}",
            "maps": "{flag} has no per-region version; give --mask, or --method gatys with maps",
            "smoothing": "{flag} has no loss to smooth; leave out --smoothing",
            **{option: "{flag} paints in one pass of its own network, without " + what + "; leave out --"
               + option.replace("_", "-") for option, what in (
                   ("content_weight", "a content loss"), ("style_weight", "a style loss (use --strength)"),
                   ("tv_weight", "a loss"), ("content_layers", "a backbone"), ("style_layers", "a backbone"),
                   ("style_layer_weights", "a backbone"), ("weights", "a backbone (its own: `nstyle weights fetch "
                   "arbitrary_style`)"), ("style_scale", "a style scale"), ("init", "a start image"))}}),
)}

#: the method of a run that names none
DEFAULT_METHOD = "gatys"
#: the methods that paint in one pass (a painter, no optimisation): also a start image (``--init NAME``) and the
#: video's fill for what enters a frame, in catalog order
ONE_PASS_METHODS = tuple(name for name, record in METHODS.items() if record.painter is not None)


def style_loss_help() -> str:
    return ", ".join(f"{name} ({r.help})" for name, r in STYLE_LOSSES.items())


def method_help() -> str:
    return ", ".join(f"{name} ({r.help})" for name, r in METHODS.items())


def bytes_per_pixel(method: str, style_loss: str | None) -> int:
    """What a run's style term adds to an evaluation's memory, per output pixel (see ``StyleLossRecord``)."""
    record = METHODS[method]
    if record.bytes_per_pixel is not None:
        return record.bytes_per_pixel
    return STYLE_LOSSES[style_loss].bytes_per_pixel if style_loss is not None else 0
