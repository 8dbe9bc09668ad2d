"""The ``nstyle`` command line: the parser of every command (``nstyle.commands``) and one way to fail."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from . import __version__
from .commands import batch, compare, demo, evaluate, serve, sweep, transfer, video, weights
from .commands.options import Parser
from .errors import NstyleError

COMMANDS = (transfer, weights, compare, sweep, evaluate, video, serve, batch, demo)  # the order `nstyle --help` lists


def build_parser() -> Parser:
    parser = Parser(prog="nstyle", description="Neural style transfer with pretrained ImageNet CNNs.")
    parser.add_argument("--version", action="version", version=f"nstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in COMMANDS:
        command.add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error already printed
        return int(done.code or 0)
    try:
        return args.func(args)
    except NstyleError as err:
        print(f"nstyle: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("nstyle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `nstyle models | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
