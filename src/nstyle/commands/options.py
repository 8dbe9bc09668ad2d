"""What the commands share: the parser class, the transfer flags and the content/style arguments.

Transfer flags are generated from ``TransferOptions`` and other defaults read from the API's signatures, so the
command line has no defaults of its own to drift."""

from __future__ import annotations

import argparse
import dataclasses

from ..errors import UsageError


class Parser(argparse.ArgumentParser):
    """argparse with a one-line error (exit 2) instead of the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def option_flag(name: str) -> str:
    """The command-line flag of a TransferOptions field: ``style_weight`` -> ``--style-weight``."""
    return "--" + name.replace("_", "-")


def add_transfer_options(parser: argparse.ArgumentParser, exclude: frozenset[str] = frozenset()) -> None:
    """One flag per TransferOptions field; the default shown is the dataclass's, ``None`` when not given."""
    from ..core.engine import TransferOptions
    from ..models.registry import model_names

    hints = {"int": int, "float": float, "float | None": float, "str | None": str, "str": str}
    for f in dataclasses.fields(TransferOptions):
        if f.name in exclude:
            continue
        meta = dict(f.metadata)
        kwargs: dict = {"default": None, "help": meta.pop("help")}
        if "nargs" in meta:
            kwargs["nargs"] = meta.pop("nargs")
            kwargs["type"] = meta.pop("type", float if "weights" in f.name else str)
        else:
            kwargs["type"] = meta.pop("type", hints.get(str(f.type), str))
        if "choices" in meta:
            kwargs["choices"] = meta.pop("choices")
        if f.name == "model":
            kwargs["choices"] = model_names()  # every network of the registry
        if f.default is not None:
            kwargs["help"] += f" (default: {f.default})"
        if "choices" not in kwargs:
            kwargs["metavar"] = meta.pop("metavar", "FILE" if f.name == "weights" else f.name.upper().split("_")[-1])
        parser.add_argument(option_flag(f.name), dest=f.name, **kwargs)


def given_options(args: argparse.Namespace) -> dict:
    from ..core.engine import TransferOptions

    return {f.name: getattr(args, f.name) for f in dataclasses.fields(TransferOptions)
            if getattr(args, f.name, None) is not None}


def _option_default(name: str):
    from ..core.engine import TransferOptions

    return TransferOptions.__dataclass_fields__[name].default


def _signature_default(func, name: str):
    import inspect

    return inspect.signature(func).parameters[name].default


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
