"""Every option of a transfer, declared once: type, default, valid range and help.

``TransferOptions`` is the one schema behind the command line's flags, the batch CSV's columns, the web
form and the web API's JSON schema. It is a pydantic dataclass, so each field's constraints (finite,
sign, bounds, choices) are checked when the options are made, before anything heavy runs, by every entry
point alike; a failure is a ``UsageError`` naming the option, the value and what is allowed. This module
imports no torch and no model, so the command line can build its parser and answer ``--help`` at once.
"""

import dataclasses
import functools
import os
import re
import typing
from collections.abc import Collection, Sequence
from typing import Annotated, Any, Literal

import pydantic
from pydantic import AfterValidator, Field, model_validator
from pydantic.dataclasses import dataclass
from pydantic_core import ArgsKwargs

from ..errors import UsageError
from ..models.precision import PRECISIONS
from ..models.registry import model_names
from .catalog import (
    DEFAULT_METHOD,
    DEFAULT_STYLE_LOSS,
    FALLBACK_STYLE_LOSS,
    METHODS,
    ONE_PASS_METHODS,
    STYLE_LOSSES,
    default_style_loss,
    method_help,
    style_loss_help,
)
from .modes import MODE_NAMES, get_mode
from .pyramid import level_iterations, level_sizes

OPTIMIZERS = ("lbfgs", "adam", "sgd")
PARAMETRIZATIONS = ("pixels", "laplacian")
PRESERVE_COLOR = ("luminance", "histogram")
HISTOGRAM_METHODS = ("eig", "cholesky")
POOLINGS = ("max", "avg")
#: ``--init`` words: a start image made from the inputs; a one-pass method's name starts from its result
INIT_KEYWORDS = ("noise", "content", "style", *ONE_PASS_METHODS)
#: ``--quality``: presets of the options a user does not give. ``default`` is the defaults themselves, chosen on the
#: field's numbers and the object leak (docs/QUALITY.md, "The default chosen again"); ``best`` a stronger style,
#: the best ArtFID and KID measured whose object leak is still under the Gram default's (the same section).
QUALITY_PRESETS: dict[str, dict[str, Any]] = {"default": {}, "best": {"style_weight": 300.0, "iterations": 14}}
MIN_SIZE = 16
MAX_SIZE = 32768  # a hard bound on any value; what fits in memory is checked when a run is planned
MIN_LEVEL_SIZE = 128  # coarser than this, VGG's deep layers see a few feature positions and add nothing
MIN_TILE = 256  # smaller tiles leave the deepest features too little context (gradient off by 35 % at 128)
MAX_AUTO_REGIONS = 8  # --auto-maps: more regions than this leave each too few style positions
MAX_SEED = 2**63 - 1  # what torch.manual_seed takes
# --strength s multiplies the default style weight by 10^(STRENGTH_DECADES * (s - 0.5)): s = 0.5 is the default.
STRENGTH_DECADES = 6.0


def option_flag(name: str) -> str:
    """The command-line flag of an option: ``style_weight`` -> ``--style-weight``."""
    return "--" + name.replace("_", "-")


def _opt(default, help: str, **extra):
    return dataclasses.field(default=default, metadata={"help": help, **extra})


def _model(name: str) -> str:
    if name not in model_names():
        raise ValueError(f"choose from {', '.join(model_names())}")
    return name


def _tile(value: int) -> int:
    if value and value < MIN_TILE:
        raise ValueError(f"give 0 (never tile) or at least {MIN_TILE} pixels")
    return value


def _init(value: str) -> str:
    if value not in INIT_KEYWORDS and not value.strip():
        raise ValueError(f"give {', '.join(INIT_KEYWORDS)} or an image file")
    return value


def _device(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
        raise ValueError("give cpu, cuda, cuda:N or auto")
    return value


def _some_weight(values: Sequence[float]) -> Sequence[float]:
    if sum(values) <= 0:
        raise ValueError("give weights of 0 or more, not all 0")
    return values


def _image_ref(value: Any) -> Any:
    """A file name, a path, or (from Python) an image object: anything with PIL's ``convert``."""
    if isinstance(value, (str, os.PathLike)) or hasattr(value, "convert"):
        return value
    raise ValueError("give an image file")


def _image_refs(value: Any) -> Any:
    values = [value] if isinstance(value, (str, os.PathLike)) or hasattr(value, "convert") else list(value)
    if not values:
        raise ValueError("give at least one image file")
    return [_image_ref(v) for v in values]


def _region_count(value: Any) -> int | str:
    """``--auto-maps``: a whole number of regions 2..MAX_AUTO_REGIONS, or ``auto``."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        count = int(value)
        wrong = count != value if isinstance(value, float) else isinstance(value, bool)
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
        wrong = True
    if wrong or not 2 <= count <= MAX_AUTO_REGIONS:
        raise ValueError(f"give a number of regions, 2 to {MAX_AUTO_REGIONS}, or auto")
    return count


Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Layers = Annotated[list[str], Field(min_length=1)]
Weights = Annotated[list[Weight], Field(min_length=1), AfterValidator(_some_weight)]
Image = Annotated[Any, AfterValidator(_image_ref)]
Images = Annotated[Any, AfterValidator(_image_refs)]


@dataclass(config=pydantic.ConfigDict(arbitrary_types_allowed=True))
class TransferOptions:
    """Every knob of a transfer. ``None`` means "the default of the chosen network or loss mode"."""

    model: Annotated[str, AfterValidator(_model)] = _opt("vgg19", "backbone network (see `nstyle models`)")
    size: Annotated[int, Field(ge=MIN_SIZE, le=MAX_SIZE)] = _opt(512, "long side of the output in pixels")
    iterations: Annotated[int, Field(ge=1, le=1_000_000)] = _opt(
        12, "optimisation iterations (evaluations of loss and gradient) at the final size; each coarser level runs "
        "twice as many as the next finer one")
    levels: Annotated[int, Field(ge=0, le=12)] = _opt(
        0, "coarse-to-fine: optimise at up to this many sizes, each twice the previous, none below "
        f"{MIN_LEVEL_SIZE} px (0: as many as fit, e.g. 128, 256, 512; 1: the final size only)")
    tolerance: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = _opt(
        1e-4, "stop a level when the loss improved by less than this fraction over 50 iterations (0: run every "
        "iteration)")
    tile: Annotated[int, Field(ge=0, le=MAX_SIZE), AfterValidator(_tile)] = _opt(
        1024, "sizes whose long side exceeds this many pixels are evaluated in overlapping tiles of this size, so "
        "memory stays bounded however large the output (0: never tile)")
    optimizer: Literal[OPTIMIZERS] = _opt("lbfgs", "optimisation method")
    parametrization: Literal[PARAMETRIZATIONS] = _opt(
        "pixels", "what the optimiser moves: the pixels, or the bands of a Laplacian pyramid of the image (STROTSS, "
        "NNST: coarse bands move large areas in one step)")
    average: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = _opt(
        0.0, "the result is the moving average of the iterates with this decay (e.g. 0.9, with --optimizer adam), "
        "not the best iterate; 0: off")
    lr: Annotated[float, Field(gt=0, le=1e6, allow_inf_nan=False)] | None = _opt(
        None, "step size (default: 1 for lbfgs, 0.02 for adam and sgd)")
    init: Annotated[str, AfterValidator(_init)] = _opt(
        "content", f"start image: noise, content, style, {', '.join(ONE_PASS_METHODS)} (that method's result), "
        "or an image file")
    content_weight: Weight | None = _opt(None, "alpha, weight of the content loss (default per --loss)")
    style_weight: Weight | None = _opt(None, "beta, weight of the style loss (default per --loss)")
    tv_weight: Weight | None = _opt(None, "weight of the total-variation loss (default per --loss)")
    content_layers: Layers | None = _opt(None, "content layers (default: the network's)", nargs="+")
    style_layers: Layers | None = _opt(None, "style layers (default: the network's)", nargs="+")
    style_layer_weights: Weights | None = _opt(None, "one weight per style layer (default: equal)", nargs="+")
    style_blend: Weights | None = _opt(
        None, "one weight per style image: their Gram targets are mixed in these proportions (default: equal)",
        nargs="+", metavar="W")
    style_scale: Annotated[float, Field(gt=0, le=16, allow_inf_nan=False)] = _opt(
        1.0, "size of the style image relative to the output (long sides): above 1 gives larger brush strokes, "
        "below 1 finer ones")
    strength: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = _opt(
        None, "style strength from 0 (keep the content) to 1 (all style): sets the style weight on a log scale, "
        f"the default weight times 10^({STRENGTH_DECADES:g} * (strength - 0.5)); instead of --style-weight")
    preserve_color: Literal[PRESERVE_COLOR] | None = _opt(
        None, "keep the content's colours: luminance (transfer the luminance only) or histogram (match the style's "
        "colour mean and covariance to the content's first)")
    histogram_method: Literal[HISTOGRAM_METHODS] = _opt(
        "eig", "how --preserve-color histogram maps colours: eig (symmetric square roots) or cholesky")
    mask: Image | None = _opt(None, "where to style: a grey mask (white styled, black keeps the content, grey "
                              "between) or a colour mask with --mask-colors", metavar="FILE")
    mask_colors: Layers | None = _opt(
        None, "the mask colour of each style, in the order of the styles (names or #rrggbb); black keeps the "
        "content", nargs="+", metavar="COLOR")
    content_map: Image | None = _opt(None, "semantic transfer: colour-coded label map of the content; each region "
                                     "takes the style of the --style-map region of the same colour", metavar="FILE")
    style_map: Images | None = _opt(None, "label map of each style image, in the colours of --content-map",
                                    nargs="+", metavar="FILE")
    auto_maps: Annotated[Any, AfterValidator(_region_count)] | None = _opt(
        None, "automatic semantic transfer: find this many regions (2 to "
        f"{MAX_AUTO_REGIONS}, or auto) in the content and in each style from the network's features, colour and "
        "position, match them, and style each content region from its match (instead of --content-map and "
        "--style-map; docs/CONTROL.md)", metavar="K")
    smoothing: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = _opt(
        0.0, "activation smoothing (Wang et al. 2021) with this temperature, in units of the layer's activation "
        "spread (try 5 with a 100x --style-weight); 0: off (see docs/PAPER.md)")
    pooling: Literal[POOLINGS] = _opt("max", "pooling in the backbone (Gatys et al. prefer avg)")
    loss: Literal[MODE_NAMES] = _opt("nstyle", "loss normalisation: nstyle (size-free), paper (Gatys's formulas), "
                                     "keras (the seed paper's code), classic (neural-style's)")
    style_loss: Literal[tuple(STYLE_LOSSES)] | None = _opt(
        None, f"what of the style's features is matched: {style_loss_help()}; default {DEFAULT_STYLE_LOSS} with "
        f"--loss nstyle and no masks or maps, {FALLBACK_STYLE_LOSS} otherwise")
    method: Literal[tuple(METHODS)] = _opt(DEFAULT_METHOD, f"the recipe: {method_help()}")
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = _opt(0, "random seed; the same seed gives the same image")
    device: Annotated[str, AfterValidator(_device)] = _opt("auto", "cpu, cuda, or auto (cuda when available)")
    precision: Literal[PRECISIONS] = _opt(
        "auto", "number format of the network: bfloat16 (about twice as fast where the CPU or GPU has it in "
        "hardware), float32, or auto (bfloat16 where native, else float32)")
    weights: Image | None = _opt(None, "use this weights file instead of the cached download", metavar="FILE")
    quality: Literal[tuple(QUALITY_PRESETS)] = _opt(
        "default", "a preset for the options not given: default (the best ArtFID at about 31 s a 512 px image on 2 "
        "CPU cores with less of the painting's objects than the Gram default), best (a stronger style, closer to "
        "the paintings by ArtFID and KID, about as many of them: " + ", ".join(
            f"{option_flag(k)} {v}" for k, v in QUALITY_PRESETS["best"].items()) + "; docs/QUALITY.md)")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        """``--quality``'s values for the options the caller left out (what is given always wins)."""
        preset = data.kwargs.get("quality") if isinstance(data, ArgsKwargs) and data.kwargs else None
        if isinstance(preset, str) and preset in QUALITY_PRESETS:
            values = dict(QUALITY_PRESETS[preset])
            if data.kwargs.get("strength") is not None:  # --strength scales the preset's weight (``resolved``)
                values.pop("style_weight", None)
            return ArgsKwargs(data.args or (), values | data.kwargs)
        return data

    def __post_init__(self):
        """The checks that involve more than one option."""
        if self.strength is not None and self.style_weight is not None:
            raise UsageError("--strength sets the style weight; give --strength or --style-weight, not both")
        maps = self.content_map is not None or self.style_map is not None
        if self.mask_colors and self.mask is None:
            raise UsageError("--mask-colors needs a --mask")
        if self.mask is not None and maps:
            raise UsageError("give --mask or --content-map with --style-map, not both")
        if self.mask_colors and self.style_blend is not None:
            raise UsageError("--style-blend does not apply with --mask-colors: each style has its own region")
        if maps and (self.content_map is None or self.style_map is None):
            raise UsageError("semantic transfer needs both --content-map and --style-map")
        if self.auto_maps is not None and (maps or self.mask is not None):
            given = "--mask" if self.mask is not None else "--content-map and --style-map"
            raise UsageError(f"--auto-maps finds the maps itself; give it or {given}, not both")
        maps = maps or self.auto_maps is not None
        if self.style_layer_weights is not None and self.style_layers is not None \
                and len(self.style_layer_weights) != len(self.style_layers):
            raise UsageError(f"--style-layer-weights has {len(self.style_layer_weights)} weight(s) for "
                             f"{len(self.style_layers)} --style-layers; give one weight per layer")

        self._check_method(maps)
        self._check_style_loss(maps)

    def _guided(self) -> bool:
        return self.mask is not None or self.content_map is not None or self.style_map is not None \
            or self.auto_maps is not None

    def _tiled(self) -> bool:
        return bool(self.tile) and self.size > self.tile

    def _check_method(self, maps: bool) -> None:
        """What ``--method`` refuses (its record's ``refuses``), in the order a user meets them."""
        record = METHODS[self.method]
        flag = f"--method {self.method}"
        # "mask" stands for masks and maps, "maps" for maps alone; any other option counts as given when it is not
        # its default
        given = {"style_loss": self.style_loss is not None, "mask": self.mask is not None or maps, "maps": maps,
                 "smoothing": bool(self.smoothing), "tile": self._tiled(), "strength": self.strength is not None}
        defaults = {f.name: f.default for f in dataclasses.fields(self)}

        def refuse(option: str) -> None:
            used = given[option] if option in given else getattr(self, option) != defaults[option]
            if used and option in record.refuses:
                value = getattr(self, option) if option != "maps" else ""
                raise UsageError(record.refuses[option].format(flag=flag, value=value, size=self.size))

        refuse("style_loss")
        if not record.defined_in(self.loss):
            raise UsageError(f"{flag} is defined in the {' and '.join(record.modes)} normalisation only; give "
                             f"--loss {record.modes[0]}")
        for option in ("mask", "maps", "smoothing", "tile"):
            refuse(option)
        for option in record.refuses:
            if option not in given:
                refuse(option)
        if record.content_weight_limit is not None and self.content_weight is not None \
                and self.content_weight > record.content_weight_limit[0]:
            raise UsageError(f"--content-weight {self.content_weight:g}: with {flag} "
                             f"{record.content_weight_limit[1]}")
        refuse("strength")

    def _check_style_loss(self, maps: bool) -> None:
        """What the style loss (given, or the default) has no version of."""
        name = self._style_loss()
        if name is None or not METHODS[self.method].takes_style_loss:
            return
        record, flag = STYLE_LOSSES[name], f"--style-loss {name}"

        def others(supported) -> str:
            return " or ".join(n for n, r in STYLE_LOSSES.items() if supported(r))

        if not record.defined_in(self.loss):
            raise UsageError(f"{flag} is defined in the {' and '.join(record.modes)} normalisation only; give --loss "
                             f"{record.modes[0]} or --style-loss {others(lambda r: r.modes is None)}")
        if (self.mask is not None or maps) and not record.masks:
            raise UsageError(f"{flag} has no masked or per-region version; give --style-loss "
                             f"{others(lambda r: r.masks)} with --mask or maps")
        if self._tiled() and not record.tiles:
            raise UsageError(f"{flag} compares the whole image's distribution at once; give --tile 0 or larger than "
                             f"--size ({self.size}), or --style-loss {others(lambda r: r.tiles)}")

    def _style_loss(self) -> str | None:
        """The statistic matched: the method's own, else the one given, else the default (None: a method that
        brings its own objective, such as nnst's neighbours)."""
        method = METHODS[self.method]
        if method.style_loss is not None or not method.takes_style_loss:
            return method.style_loss
        return self.style_loss if self.style_loss is not None else default_style_loss(self.loss, self._guided())

    def resolved(self) -> "Resolved":
        """What these options settle where the user left them open (the fields keep what was given)."""
        plan = tuple(self.level_plan())
        style_loss = self._style_loss()
        base = get_mode(self.loss).default_weights(len(plan))
        if style_loss is not None and STYLE_LOSSES[style_loss].weight is not None:
            base["style"] = STYLE_LOSSES[style_loss].weight
        if METHODS[self.method].weights is not None:
            base = dict(METHODS[self.method].weights)
        given = {"content": self.content_weight, "style": self.style_weight, "tv": self.tv_weight}
        weights = {k: base[k] if v is None else float(v) for k, v in given.items()}
        if self.strength is not None:
            preset = QUALITY_PRESETS[self.quality].get("style_weight")
            weights["style"] = strength_weight(self.strength, base["style"] if preset is None else preset)
        return Resolved(self.method, style_loss, weights, plan, self._coarse_layers_by_positions())

    def _coarse_layers_by_positions(self) -> bool:
        # weights given for the default layers address every one of them: then every level matches them all
        return (self.style_layers is None and self.style_layer_weights is None
                and METHODS[self.method].coarse_layers_by_positions and not get_mode(self.loss).published)

    def settled_style_layers(self, network_layers: Sequence[str], sparse: Collection[str] = ()) -> list[str]:
        """The style layers of a level: ``--style-layers``, else the network's default ones (``network_layers``),
        less the ``sparse`` ones where ``resolved()`` says the coarse levels go by positions; ``sparse``: at a level
        below ``--size``, the default layers whose style map there has fewer positions than channels
        (``engine.sparse_style_layers``). The shallowest layer always stays."""
        if self.style_layers:
            return list(self.style_layers)
        layers = list(network_layers)
        if not (sparse and self._coarse_layers_by_positions()):
            return layers
        return [name for name in layers if name not in sparse] or layers[:1]

    def level_plan(self) -> list[tuple[int, int]]:
        """(long side, iterations) of each level, coarse to fine."""
        sizes = level_sizes(self.size, self.levels, min_size=MIN_LEVEL_SIZE)
        return list(zip(sizes, level_iterations(self.iterations, len(sizes), sizes), strict=True))

    def planned_iterations(self) -> int:
        """Evaluations over all levels (before any early stop)."""
        return sum(n for _, n in self.level_plan())

    def style_blend_for(self, count: int) -> list[float]:
        """The weights that mix ``count`` style images (equal by default), checked against the count."""
        if self.style_blend is None:
            return [1.0] * count
        if len(self.style_blend) != count:
            raise UsageError(f"--style-blend has {len(self.style_blend)} weight(s) for {count} style image(s); "
                             "give one weight per style")
        return [float(b) for b in self.style_blend]


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The settled view of a run's options (``TransferOptions.resolved``): the method, the style statistic it
    matches (None where the method brings its own, as nnst does), alpha, beta and the TV weight, and the level plan,
    (long side, iterations) coarse to fine; whether a level below the final size matches a default style layer only
    where the style's map there has as many positions as channels (the method's and the normalisation's choice,
    when no ``--style-layers`` are given: ``settled_style_layers``)."""

    method: str
    style_loss: str | None
    weights: dict[str, float]
    plan: tuple[tuple[int, int], ...]
    coarse_layers_by_positions: bool = False


def strength_weight(strength: float, default: float) -> float:
    """The style weight for a strength 0..1: log-linear around the default (strength 0.5)."""
    return default * 10.0 ** (STRENGTH_DECADES * (strength - 0.5))


def _number(value) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


_ALLOWED = {
    "greater_than_equal": lambda c: f"must be at least {_number(c['ge'])}",
    "greater_than": lambda c: f"must be more than {_number(c['gt'])}",
    "less_than_equal": lambda c: f"must be at most {_number(c['le'])}",
    "less_than": lambda c: f"must be less than {_number(c['lt'])}",
    "finite_number": lambda c: "must be a finite number",
    "literal_error": lambda c: f"choose from {c['expected'].replace(chr(39), '')}",
    "int_parsing": lambda c: "must be a whole number",
    "int_from_float": lambda c: "must be a whole number",
    "float_parsing": lambda c: "must be a number",
    "float_type": lambda c: "must be a number",
    "int_type": lambda c: "must be a whole number",
    "string_type": lambda c: "must be text",
    "list_type": lambda c: "must be a list",
    "too_short": lambda c: "must have at least one value",
}


def _message(error: dict) -> str:
    """One line: the option as a flag, the value given, and what is allowed."""
    loc = [str(part) for part in error["loc"]]
    name = option_flag(loc[0]) if loc else "options"
    value = error.get("input")
    shown = repr(value) if not isinstance(value, float) else f"{value:g}"
    ctx = error.get("ctx") or {}
    if error["type"] in ("value_error", "assertion_error"):
        allowed = str(ctx.get("error", error["msg"]))
    elif error["type"] in _ALLOWED:
        allowed = _ALLOWED[error["type"]](ctx)
    else:
        allowed = error["msg"][0].lower() + error["msg"][1:]
    where = f" (value {int(loc[1]) + 1})" if len(loc) > 1 and loc[1].isdigit() else ""
    return f"{name} {shown}{where}: {allowed}"


def _raise_usage_errors(cls):
    """Options made with wrong values raise ``UsageError`` (the project's one way to refuse input), not pydantic's
    ValidationError; an unknown keyword names the options there are."""
    init = cls.__init__

    def __init__(self, *args, **kwargs):
        unknown = sorted(set(kwargs) - set(cls.__dataclass_fields__))
        if unknown:
            raise UsageError(f"unknown option(s) {', '.join(unknown)}; see nstyle.TransferOptions "
                             "(`nstyle transfer --help`)")
        try:
            init(self, *args, **kwargs)
        except pydantic.ValidationError as err:
            raise UsageError(_message(err.errors(include_url=False)[0])) from None

    cls.__init__ = __init__
    return cls


TransferOptions = _raise_usage_errors(TransferOptions)


def options_from(**overrides) -> TransferOptions:
    """The options of a run from keyword arguments (a ``UsageError`` for unknown or wrong ones)."""
    return TransferOptions(**overrides)


@functools.cache
def field_kinds() -> dict[str, tuple[str, tuple | None]]:
    """Each option's kind (int, float, str, floats, strs, file, files) and its choices, for the parsers that the
    command line, the batch CSV and the web form build from this schema. Computed once and shared: read it only."""
    hints = typing.get_type_hints(TransferOptions, include_extras=True)
    out = {}
    for f in dataclasses.fields(TransferOptions):
        kind, choices = _kind(hints[f.name])
        if f.name == "model":
            choices = tuple(model_names())
        if f.name in ("weights", "mask", "content_map"):
            kind = "file"
        elif f.name == "style_map":
            kind = "files"
        out[f.name] = (kind, choices)
    return out


def input_files(options: dict) -> dict[str, object]:
    """The files the options name (masks, maps, an ``--init`` image, ``--weights``) by flag: what a run reads,
    so that no output is written over them (``nstyle.io.paths``)."""
    kinds = field_kinds()
    return {option_flag(name): value for name, value in options.items()
            if value is not None and name in kinds and (kinds[name][0] in ("file", "files")
                                                        or (name == "init" and value not in INIT_KEYWORDS))}


def _kind(hint) -> tuple[str, tuple | None]:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is getattr(__import__("types"), "UnionType", None):
        return _kind(args[0])
    if origin is Annotated:
        return _kind(args[0])
    if origin is Literal:
        return "str", tuple(typing.get_args(hint))
    if origin is list:
        inner, _ = _kind(args[0])
        return ("floats" if inner == "float" else "strs"), None
    if hint in (int, float, str):
        return hint.__name__, None
    return "str", None


def from_text(name: str, text: str, separator: str = ";"):
    """An option's value from text (a batch CSV cell; lists separated by ``separator``), typed by the schema; the
    range is checked when the options are made."""
    kinds = field_kinds()
    if name not in kinds:
        raise UsageError(f"unknown option {name!r}; the options are: {', '.join(kinds)}")
    kind, _ = kinds[name]
    text = text.strip()
    if kind in ("floats", "strs", "files"):
        values = [v.strip() for v in text.split(separator) if v.strip()]
        return [_typed(name, "float" if kind == "floats" else "str", v) for v in values]
    return _typed(name, kind, text)


def _typed(name: str, kind: str, text: str):
    try:
        return int(text) if kind == "int" else float(text) if kind == "float" else text
    except ValueError:
        what = "a whole number" if kind == "int" else "a number"
        raise UsageError(f"{option_flag(name)} {text!r}: must be {what}") from None


def signature_defaults(func, *names: str) -> dict:
    """The defaults of a function's parameters: the one source of the defaults of options that are not transfer
    options (a comparison's models and size, say), so the interfaces never restate them. ``func`` may be given as
    ``"module:function"``: then its source is read rather than imported, so that a command's ``--help`` does not
    load torch to show a default (the defaults must then be literals)."""
    if not isinstance(func, str):
        import inspect

        params = inspect.signature(func).parameters
        return {name: params[name].default for name in names}
    import ast
    import importlib.util

    module, _, qualname = func.partition(":")
    spec = importlib.util.find_spec(module)
    tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == qualname)
    args = node.args.args + node.args.kwonlyargs
    defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults + node.args.kw_defaults
    found = {a.arg: d for a, d in zip(args, defaults, strict=True) if d is not None}
    constants = {t.id: n.value for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
                 if isinstance(t, ast.Name)}  # a default may name a module constant

    def value(node):
        return ast.literal_eval(constants[node.id] if isinstance(node, ast.Name) else node)

    return {name: value(found[name]) for name in names}


__all__ = ["TransferOptions", "Resolved", "options_from", "option_flag", "field_kinds", "input_files", "from_text",
           "strength_weight", "signature_defaults"]


# -- Options as plain values, for a job that crosses a process or the network (``options_from`` makes them again) --


def options_to_dict(options: TransferOptions) -> dict[str, Any]:
    """The options that differ from the defaults (``--quality``'s preset included), by name, as they are held (file
    options as the paths given): what a job carries to another process or machine; ``options_from(**options_to_dict(
    o)) == o``. The fields hold what the user gave, never what it resolved to (``resolved()``), so what travels is
    settled the same way there."""
    defaults = {f.name: f.default for f in dataclasses.fields(TransferOptions)} | QUALITY_PRESETS[options.quality]
    return {name: getattr(options, name) for name, default in defaults.items() if getattr(options, name) != default}


__all__ += ["options_to_dict"]
