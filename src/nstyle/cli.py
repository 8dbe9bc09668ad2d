"""The ``nstyle`` command line: the parser of every command (``nstyle.commands``), one way to fail and one way to
stop.

Stopping: SIGTERM (what ``kill``, systemd, Docker and Ray send) is turned into a KeyboardInterrupt, so every
command stops as on Ctrl-C (the best image so far and a checkpoint written), and exits ``TERMINATED`` (143)
instead of Ctrl-C's ``INTERRUPTED`` (130; ``nstyle.exitcodes``).
A command catches the interrupts that come once it has something to keep; one that reaches :func:`main` came
before the first iteration, when there is nothing to write.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from . import __version__
from .commands import batch, compare, demo, evaluate, samples, serve, sweep, transfer, video, weights
from .commands.options import Parser
from .errors import NstyleError
from .exitcodes import FAILED, INTERRUPTED, TERMINATED

#: The order `nstyle --help` lists.
COMMANDS = (transfer, weights, compare, sweep, evaluate, video, samples, serve, batch, demo)


def build_parser() -> Parser:
    parser = Parser(prog="nstyle", description="Neural style transfer with pretrained ImageNet CNNs.")
    parser.add_argument("--version", action="version", version=f"nstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for command in COMMANDS:
        command.add(sub)
    return parser


#: The commands that paint: an interrupt that reaches main in these came before their first iteration.
PAINTING = frozenset({"transfer", "compare", "sweep", "video", "batch", "demo"})


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be, so that every stop is as clean as Ctrl-C's."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[threading.Event]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread (once: a repeated SIGTERM
    must not cut short the stop it started); the event says whether one came. The old handler is restored."""
    received = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield received
        return

    def handler(_signum, _frame) -> None:
        if not received.is_set():
            received.set()
            raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    with sigterm_as_interrupt() as terminated:
        code = _main(argv)
    return TERMINATED if code == INTERRUPTED and terminated.is_set() else code


def _main(argv: Sequence[str] | None) -> int:
    args = None
    try:
        args = build_parser().parse_args(argv)
        return args.func(args)
    except SystemExit as done:  # --help, --version, or a usage error already printed
        return int(done.code or 0)
    except NstyleError as err:
        print(f"nstyle: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:  # the commands catch their own once they have something to keep
        if args is None or args.command in PAINTING:
            print("nstyle: interrupted before the first iteration; nothing was written", file=sys.stderr)
        else:
            print("nstyle: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `nstyle models | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return FAILED


if __name__ == "__main__":
    sys.exit(main())
