"""The options a web request may set, checked and typed, and their description for the page.

Every option comes from ``TransferOptions`` (the one source of defaults, choices and help); the page builds
its form from :func:`schema`. Options that name files or places on the server (``weights``, ``init`` as a
file, masks and maps, ``device``) cannot be set from a request.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import UsageError
from ..eval.compare_options import COMPARE_FIXED, OWN_SETTINGS
from .uploads import Limits, RequestProblem

if TYPE_CHECKING:
    from ..core.options import TransferOptions

#: Not settable from a request: paths on the server, or the server's own choice of device.
SERVER_ONLY = frozenset({"weights", "device", "mask", "mask_colors", "content_map", "style_map"})
#: Shown on the page before "More options"; the rest follow in TransferOptions' order.
MAIN = ("quality", "method", "model", "size", "iterations", "strength", "preserve_color", "auto_maps", "style_blend",
        "style_scale", "levels", "seed")
INIT_CHOICES = ("content", "noise", "style")


def _fields() -> dict[str, dataclasses.Field]:
    from ..core.options import TransferOptions

    return {f.name: f for f in dataclasses.fields(TransferOptions) if f.name not in SERVER_ONLY}


def _kind(f: dataclasses.Field) -> str:
    """int, float, str, floats or strs, from the options' schema."""
    from ..core.options import field_kinds

    return field_kinds()[f.name][0]


def _choices(name: str, f: dataclasses.Field) -> list[str] | None:
    from ..core.options import field_kinds

    if name == "init":
        return list(INIT_CHOICES)
    if name == "auto_maps":  # a count or auto: offered as a list on the page
        from ..core.options import MAX_AUTO_REGIONS

        return ["auto", *(str(k) for k in range(2, MAX_AUTO_REGIONS + 1))]
    choices = field_kinds()[name][1]
    return list(choices) if choices else None


def compare_defaults() -> dict:
    """The defaults of a comparison's own settings, from ``nstyle.eval.compare.compare`` itself (a copy: the
    caller may change it)."""
    return dict(_compare_defaults())


@functools.cache
def _compare_defaults() -> dict:
    from ..core.options import signature_defaults

    return signature_defaults("nstyle.eval.compare:compare", "models", "size", "iterations", "seed")


def schema() -> dict:
    """Each option's name, kind, default, choices and help, for the page's forms."""
    transfer = []
    for name, f in _fields().items():
        transfer.append({"name": name, "kind": _kind(f), "default": f.default, "choices": _choices(name, f),
                         "help": f.metadata.get("help", ""), "main": name in MAIN,
                         "compare": name not in COMPARE_FIXED or name in OWN_SETTINGS})
    from ..models.registry import records
    from ..models.weights import is_cached

    models = [{"name": r.name, "description": r.description, "cached": is_cached(r)} for r in records().values()]
    defaults = compare_defaults()
    defaults["models"] = list(defaults["models"])
    return {"transfer": transfer, "compare": defaults, "models": models}


def _one(name: str, kind: str, value):
    """``value`` as the option's type, or a RequestProblem naming the option."""
    def bad(what: str):
        return RequestProblem(400, f"option {name}: {what}, not {json.dumps(value)[:60]}")

    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise bad("give a whole number")
        return int(value)
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("give a number")
        try:
            return float(value)
        except OverflowError:  # a whole number too large for a float: JSON allows any
            raise RequestProblem(422, f"option {name}: {str(value)[:12]}... is not a finite number; give an ordinary "
                                      "one") from None
    if kind == "str":
        if not isinstance(value, str):
            raise bad("give a text value")
        return value
    if not isinstance(value, list) or not value:
        raise bad("give a list of values")
    return [_one(name, "float" if kind == "floats" else "str", v) for v in value]


@dataclass(frozen=True)
class RequestOptions:
    """A request's options, parsed once: ``given``, the values as sent and typed (what the job's record shows and its
    JSON carries to the worker), and ``runs``, the checked options of each transfer the job paints (one; one per
    network for a comparison), for every later check of the request."""

    given: dict
    runs: list[TransferOptions]


def parse_options(text: str | None, kind: str, n_styles: int, limits: Limits) -> RequestOptions:
    """The request's ``options`` field (a JSON object) as the checked options of a job of ``kind``.

    Empty values (null, "") mean "the default" and are dropped. Raises RequestProblem (400; 422 for NaN or
    Infinity) with one line."""
    try:
        given = _finite_json(text) if text and text.strip() else {}
    except ValueError as err:
        raise RequestProblem(400, f"options must be a JSON object ({err})") from None
    except RecursionError:  # arrays or objects nested thousands deep: no option takes more than a list
        raise RequestProblem(400, "options must be a JSON object of option values; this one is nested too deeply "
                                  "to read (an option holds at most a list)") from None
    if not isinstance(given, dict):
        raise RequestProblem(400, "options must be a JSON object, e.g. {\"size\": 256}")
    given = {k: v for k, v in given.items() if v is not None and v != ""}
    fields = _fields()
    allowed = set(fields)
    if kind == "compare":
        allowed = (allowed - COMPARE_FIXED) | (allowed & OWN_SETTINGS) | {"models"}  # size, ...: compare's own
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise RequestProblem(400, f"unknown or unsettable option(s): {', '.join(unknown)}; "
                                  f"see GET /api/options")
    options = {}
    for name, value in given.items():
        if name == "models":
            options[name] = _models(value)
            continue
        f = fields[name]
        options[name] = _one(name, _kind(f), value)
        choices = _choices(name, f)
        if choices and options[name] not in choices:
            raise RequestProblem(400, f"option {name}: choose from {', '.join(choices)}, not {options[name]!r}")
    _check_ranges(options, limits)
    return RequestOptions(options, _checked_runs(options, kind, n_styles))


class _NonFinite(str):
    """A NaN, Infinity or out-of-range number as it was written, found after parsing to name its option."""


def _finite_json(text: str):
    """``json.loads``, but NaN, Infinity and numbers beyond a float (1e400) are a 422 naming the option:
    Python's json reads them, no JSON reader can read them back, so a stored job holding one breaks the gallery."""
    def number(s: str):
        value = float(s)
        return value if math.isfinite(value) else _NonFinite(s)

    def find(value, where: str) -> None:
        if isinstance(value, _NonFinite):
            raise RequestProblem(422, f"option {where}: {value[:40]} is not a finite number; give an ordinary one")
        if isinstance(value, dict):
            for key, item in value.items():
                find(item, f"{where}.{key}" if where else key)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                find(item, f"{where}[{i}]")

    given = json.loads(text, parse_constant=_NonFinite, parse_float=number)
    if isinstance(given, dict):  # anything else is refused next as not an object
        find(given, "")
    return given


def _models(value) -> list[str]:
    from ..models.registry import records

    names = _one("models", "strs", value)
    unknown = [n for n in names if n not in records()]
    if unknown:
        raise RequestProblem(400, f"option models: unknown network(s) {', '.join(unknown)}; choose from "
                                  f"{', '.join(records())}")
    if len(set(names)) != len(names):
        raise RequestProblem(400, "option models: each network once")
    return names


def _check_ranges(options: dict, limits: Limits) -> None:
    """The server's limits, so one request cannot occupy the worker for hours."""
    if not 16 <= options.get("size", 16) <= limits.max_size:
        raise RequestProblem(400, f"option size: between 16 and {limits.max_size} pixels on this server, "
                                  f"not {options['size']}")
    if not 1 <= options.get("iterations", 1) <= limits.max_iterations:
        raise RequestProblem(400, f"option iterations: between 1 and {limits.max_iterations} on this server, "
                                  f"not {options['iterations']}")
    if not 0 <= options.get("levels", 0) <= limits.max_levels:
        raise RequestProblem(400, f"option levels: between 0 and {limits.max_levels}, not {options['levels']}")
    if not 0 < options.get("style_scale", 1) <= limits.max_style_scale:  # the style's pixels grow with its square
        raise RequestProblem(400, f"option style_scale: more than 0 and at most {limits.max_style_scale:g} on this "
                                  f"server, not {options['style_scale']:g}")
    if 0 < options.get("tile", 0) < limits.min_tile:  # small tiles multiply the work
        raise RequestProblem(400, f"option tile: 0 (never tile) or at least {limits.min_tile} on this server, "
                                  f"not {options['tile']}")


def _checked_runs(options: dict, kind: str, n_styles: int) -> list[TransferOptions]:
    """The options of each transfer the job paints, with what the engine itself would refuse at the start of the
    run refused now instead. A comparison's networks run its own way (``nstyle.eval.compare``): one size, every
    iteration, its own defaults of size and iterations."""
    from ..core.options import options_from

    runs = [options]
    if kind == "compare":
        if n_styles != 1:
            raise RequestProblem(400, f"a comparison takes one style image, not {n_styles}")
        defaults = compare_defaults()
        common = {"levels": 1, "tolerance": 0.0} | {k: v for k, v in options.items() if k != "models"}
        common |= {k: options.get(k, defaults[k]) for k in ("size", "iterations")}
        runs = [common | {"model": m} for m in options.get("models", defaults["models"])]
    try:
        checked = [options_from(**run) for run in runs]
        for opts in checked:
            opts.resolved()
            opts.style_blend_for(n_styles)
            opts.level_plan()
    except UsageError as err:
        raise RequestProblem(400, option_names(str(err))) from None
    return checked


def option_names(message: str) -> str:
    """The engine's messages name command-line flags (``--style-blend``); the API's options are ``style_blend``."""
    return re.sub(r"--([a-z][a-z-]*)", lambda m: m.group(1).replace("-", "_"), message)
