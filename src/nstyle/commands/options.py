"""What the commands share: the parser class, the transfer flags and the content/style arguments.

Transfer flags are generated from ``TransferOptions`` and other defaults read from the API's signatures, so the
command line has no defaults of its own to drift."""

from __future__ import annotations

import argparse
import dataclasses
import functools

from ..core.options import option_flag
from ..errors import UsageError
from ..exitcodes import USAGE


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (exit 2) instead of the usage block."""

    def error(self, message: str):
        self.exit(USAGE, f"{self.prog}: error: {message} (see --help)\n")


def add_transfer_options(parser: argparse.ArgumentParser, exclude: frozenset[str] = frozenset()) -> None:
    """One flag per option of the schema (``nstyle.core.options``), typed by it; the default shown is the schema's,
    ``None`` when not given, so that only what the user typed reaches the options."""
    from ..core.options import TransferOptions, field_kinds

    types = {"int": int, "float": float, "floats": float}
    kinds = field_kinds()
    for f in dataclasses.fields(TransferOptions):
        if f.name in exclude:
            continue
        kind, choices = kinds[f.name]
        meta = dict(f.metadata)
        kwargs: dict = {"default": None, "help": meta["help"], "type": types.get(kind, str)}
        if kind in ("floats", "strs", "files"):
            kwargs["nargs"] = "+"
        if choices:
            kwargs["choices"] = list(choices)
        else:
            kwargs["metavar"] = meta.get("metavar", "FILE" if kind == "file" else f.name.upper().split("_")[-1])
        if f.default is not None:
            kwargs["help"] += f" (default: {f.default})"
        parser.add_argument(option_flag(f.name), dest=f.name, **kwargs)


def given_options(args: argparse.Namespace) -> dict:
    from ..core.options import TransferOptions

    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TransferOptions)
            if getattr(args, f.name, None) is not None}


def _option_default(name: str):
    from ..core.options import TransferOptions

    return TransferOptions.__dataclass_fields__[name].default


@functools.cache
def defaults_of(func, *names: str) -> dict:
    """Defaults of ``func``'s parameters (a function, or ``"module:function"`` read without importing it), by
    ``nstyle.core.options.signature_defaults``; asked once per command for all its names, as each read of a source
    parses the module (a dozen parses were a third of `nstyle --help`'s time)."""
    from ..core.options import signature_defaults

    return signature_defaults(func, *names)


def add_content_and_styles(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content", help="content image (a photo)")
    parser.add_argument("style", nargs="*", metavar="STYLE", help="style image(s) (a painting)")
    parser.add_argument("--style", dest="styles", nargs="+", metavar="STYLE",
                        help="style image(s), instead of the positional STYLE; mix several with --style-blend")


def styles_of(args: argparse.Namespace) -> list[str]:
    """The style images, positional or from --style (one of the two)."""
    if args.style and args.styles:
        raise UsageError("give the style images either after CONTENT or with --style, not both")
    styles = args.style or args.styles
    if not styles:
        raise UsageError("give a style image: nstyle transfer CONTENT STYLE -o OUTPUT")
    return list(styles)
