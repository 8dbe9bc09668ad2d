"""``nstyle compare``: the same transfer on several backbones, scored by one judge."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..eval.compare_options import COMPARE_FIXED
from ..exitcodes import INTERRUPTED, OK
from .options import add_transfer_options, defaults_of, given_options, option_flag

#: --paper's height and rounds: ``nstyle.eval.paper.run_paper``'s defaults, read without importing torch.
PAPER = "nstyle.eval.paper:run_paper"


def add(sub) -> None:
    compare = defaults_of("nstyle.eval.compare:compare", "models", "size", "iterations", "seed", "device")
    paper = defaults_of(PAPER, "height", "iterations")

    c = sub.add_parser("compare", help="the same transfer on several backbones, scored by one judge",
                       description="Run the same transfer on each backbone and write each result, a labelled grid, "
                                   "loss curves, a table (Markdown and CSV) and report.md to DIR.")
    c.add_argument("content", help="content image (a photo)")
    c.add_argument("style", help="style image (a painting)")
    c.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results")
    c.add_argument("--models", default=",".join(compare["models"]),
                   help="comma-separated networks (default: %(default)s)")
    c.add_argument("--size", type=int, help=f"long side for every network (default: "
                   f"{compare['size']}; with --paper the height, {paper['height']})")
    c.add_argument("--iterations", type=int, help=f"iterations for every network (default: "
                   f"{compare['iterations']}; with --paper {paper['iterations']} rounds)")
    c.add_argument("--seed", type=int, default=compare["seed"],
                   help="random seed for every network (default: %(default)s)")
    c.add_argument("--device", default=compare["device"],
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
    if args.paper:
        paper = defaults_of(PAPER, "height", "iterations")
        size, iterations = args.size or paper["height"], args.iterations or paper["iterations"]
    else:
        own = defaults_of(compare, "size", "iterations")
        size, iterations = args.size or own["size"], args.iterations or own["iterations"]
    runs = compare(args.content, args.style, out, models=models, size=size, iterations=iterations,
                   paper=args.paper, seed=args.seed, device=args.device, quiet=args.quiet, **options)
    from ..eval.compare import summary_line

    line, finished = summary_line(out, runs, models)
    print(line)
    return OK if finished else INTERRUPTED  # the command line makes it 143 after a SIGTERM
