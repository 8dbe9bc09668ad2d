"""``nstyle evaluate``: score a folder of results with the field's metrics (``nstyle.eval.evaluate``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..exitcodes import OK
from .options import defaults_of

#: Whose defaults the flags show: read from its source, so that `nstyle --help` loads no torch.
EVALUATE = "nstyle.eval.evaluate:evaluate"


def add(sub) -> None:
    defaults = defaults_of(EVALUATE, "device", "batch_size", "cross_network", "cfsd_network")
    e = sub.add_parser(
        "evaluate",
        help="score a folder of results: ArtFID (proxy), FID, KID, LPIPS, CFSD, histogram, object leak, judge",
        description="Score results named {content}_stylized_{style}.png (the protocol's naming; contents and styles "
                    "matched by file stem) against their content and style images. Writes metrics.csv (one row a "
                    "pair), summary.json and summary.md to DIR and prints the summary. ArtFID here is a proxy: "
                    "its FID uses the TF-2015 FID Inception, not the art-tuned one of the published metric, so "
                    "compare rankings made in one run, never numbers from published tables.")
    e.add_argument("results", metavar="RESULTS", help="folder of results")
    e.add_argument("--contents", required=True, metavar="DIR", help="folder of the content images")
    e.add_argument("--styles", required=True, metavar="DIR", help="folder of the style images")
    e.add_argument("-o", "--output", metavar="DIR", help="folder for metrics.csv and the summary (default: RESULTS)")
    e.add_argument("--partial", action="store_true",
                   help="score the pairs there are instead of requiring every content with every style")
    e.add_argument("--device", default=defaults["device"],
                   help="cpu, cuda or auto (default: %(default)s)")
    e.add_argument("--batch-size", type=int, default=defaults["batch_size"], metavar="N",
                   help="results of one content scored together (default: %(default)s)")
    e.add_argument("--cross-network", default=defaults["cross_network"], metavar="NAME",
                   help="network of the cross-network style distance, one the runs did not optimise "
                        "(default: %(default)s)")
    e.add_argument("--cfsd-network", default=defaults["cfsd_network"], metavar="NAME",
                   help="network of CFSD's relu3_1 (default: %(default)s, torchvision weights as the protocol's "
                        "VGG19; vgg19 is Oxford's Caffe network, on another scale)")
    e.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    e.set_defaults(func=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..eval.evaluate import evaluate, summary_markdown

    evaluation = evaluate(args.results, args.contents, args.styles, args.output, partial=args.partial,
                          device=args.device, batch_size=args.batch_size, cross_network=args.cross_network,
                          cfsd_network=args.cfsd_network, quiet=args.quiet)
    print(summary_markdown(evaluation.summary), end="")
    print(f"wrote metrics.csv, summary.json and summary.md to {Path(args.output or args.results)}")
    return OK
