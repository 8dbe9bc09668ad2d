"""``nstyle sweep``: one transfer per style strength, laid out as a labelled grid."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..exitcodes import INTERRUPTED, OK
from .options import add_content_and_styles, add_transfer_options, given_options, styles_of


def add(sub) -> None:
    s = sub.add_parser("sweep", help="the same transfer at several style strengths, as a labelled grid",
                       description="Run the transfer once per --strength and write a labelled grid of the results "
                                   "to OUTPUT, and a CSV next to it (grid.png -> grid.csv) with each style weight "
                                   "and the judge's distances.")
    add_content_and_styles(s)
    s.add_argument("-o", "--output", required=True, help="grid image (.png, .jpg)")
    s.add_argument("--strength", dest="strengths", nargs="+", type=float, metavar="S", default=[0.2, 0.5, 0.8],
                   help="strengths from 0 to 1 (default: 0.2 0.5 0.8)")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    add_transfer_options(s, exclude=frozenset({"strength"}))
    s.set_defaults(func=cmd_sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..eval.sweep import sweep
    from ..io.images import check_output_path

    output = check_output_path(args.output)
    styles = styles_of(args)
    if any(not 0 <= s <= 1 for s in args.strengths):
        raise UsageError("--strength values must be between 0 and 1")
    runs = sweep(args.content, styles, args.strengths, output, quiet=args.quiet, **given_options(args))
    print(f"wrote {output} ({len(runs)} strengths)")
    return OK if len(runs) == len(args.strengths) else INTERRUPTED
