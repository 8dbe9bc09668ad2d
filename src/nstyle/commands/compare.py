"""``nstyle compare``: the same transfer on several backbones, scored by one judge."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .options import _signature_default, add_transfer_options, given_options, option_flag

PAPER_HEIGHT, PAPER_ROUNDS = 400, 10  # nstyle.eval.paper's HEIGHT and OUTER_ITERATIONS, without importing torch

# Set per network by `compare` itself, or one of its own flags.
COMPARE_FIXED = frozenset({"model", "size", "iterations", "seed", "device", "weights", "content_layers",
                           "style_layers", "style_layer_weights"})


def add(sub) -> None:
    compare = "nstyle.eval.compare:compare"  # its defaults, read without loading torch

    c = sub.add_parser("compare", help="the same transfer on several backbones, scored by one judge",
                       description="Run the same transfer on each backbone and write each result, a labelled grid, "
                                   "loss curves, a table (Markdown and CSV) and report.md to DIR.")
    c.add_argument("content", help="content image (a photo)")
    c.add_argument("style", help="style image (a painting)")
    c.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results")
    c.add_argument("--models", default=",".join(_signature_default(compare, "models")),
                   help="comma-separated networks (default: %(default)s)")
    c.add_argument("--size", type=int, help=f"long side for every network (default: "
                   f"{_signature_default(compare, 'size')}; with --paper the height, {PAPER_HEIGHT})")
    c.add_argument("--iterations", type=int, help=f"iterations for every network (default: "
                   f"{_signature_default(compare, 'iterations')}; with --paper {PAPER_ROUNDS} rounds)")
    c.add_argument("--seed", type=int, default=_signature_default(compare, "seed"),
                   help="random seed for every network (default: %(default)s)")
    c.add_argument("--device", default=_signature_default(compare, "device"),
                   help="cpu, cuda or auto (default: %(default)s)")
    c.add_argument("--paper", action="store_true",
                   help="the seed paper's settings on every network (--size is the height, --iterations counts "
                        "rounds of 20 L-BFGS evaluations)")
    c.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_transfer_options(c, exclude=COMPARE_FIXED)
    c.set_defaults(func=cmd_compare)


def cmd_compare(args: argparse.Namespace) -> int:
    from ..eval.compare import compare
    from ..models.registry import get_record

    out = Path(args.output)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise UsageError("--models needs at least one network name")
    for name in models:
        get_record(name)
    options = {k: v for k, v in given_options(args).items() if k not in COMPARE_FIXED}
    if args.paper and options:
        raise UsageError(f"--paper fixes these settings; drop {', '.join(option_flag(n) for n in sorted(options))}")
    size = args.size or (PAPER_HEIGHT if args.paper else _signature_default(compare, "size"))
    iterations = args.iterations or (PAPER_ROUNDS if args.paper else _signature_default(compare, "iterations"))
    runs = compare(args.content, args.style, out, models=models, size=size, iterations=iterations,
                   paper=args.paper, seed=args.seed, device=args.device, quiet=args.quiet, **options)
    from ..eval.compare import summary_line

    line, finished = summary_line(out, runs, models)
    print(line)
    return 0 if finished else 130  # the command line makes it 143 after a SIGTERM
