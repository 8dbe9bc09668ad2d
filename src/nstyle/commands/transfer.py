"""``nstyle transfer``: one content image in the style of one or more style images, or the paper's run."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..exitcodes import INTERRUPTED, OK
from .options import add_content_and_styles, add_transfer_options, given_options, option_flag, styles_of


def add(sub) -> None:
    t = sub.add_parser("transfer", help="paint a content image in the style of a style image",
                       description="Paint CONTENT in the style of STYLE (or of several, --style A B) and write "
                                   "the result to OUTPUT.")
    add_content_and_styles(t)
    t.add_argument("-o", "--output", required=True, help="output image (.png, .jpg)")
    add_transfer_options(t)
    t.add_argument("--save-every", type=int, metavar="N", default=0,
                   help="also write the image every N iterations as OUTPUT_iterNNNN")
    t.add_argument("--save-maps", metavar="DIR", type=Path,
                   help="write the maps --auto-maps finds into DIR (content_map.png, style_map.png), colour-coded "
                        "like hand-made maps: edit them and pass them back with --content-map and --style-map")
    t.add_argument("--plot", action="store_true", help="write the loss curve next to the output (.losses.png)")
    t.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its checkpoint (.resume.png/.resume.json next to the output)")
    t.add_argument("--paper", action="store_true",
                   help="replay the seed paper's Keras run (VGG19, 400 px tall, 10 rounds of 20 L-BFGS "
                        "evaluations, its weights); --iterations counts rounds")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_transfer)


def cmd_transfer(args: argparse.Namespace) -> int:
    from ..io.images import check_output_path

    output = check_output_path(args.output)  # before a long run, not after it
    if args.save_every < 0:
        raise UsageError("--save-every must be 0 (off) or a positive number of iterations")
    if args.paper:
        if args.save_maps is not None:
            raise UsageError("--paper replays the paper's run, which has no maps; drop --save-maps")
        return _run_paper(args, output)
    from ..core.options import options_from
    from ..jobs.runner import run_transfer_job

    return run_transfer_job(args.content, styles_of(args), output, options_from(**given_options(args)),
                            save_every=args.save_every, plot=args.plot, resume=args.resume, quiet=args.quiet,
                            save_maps=args.save_maps)


def _run_paper(args: argparse.Namespace, output: Path) -> int:
    from ..core.options import options_from
    from ..core.stops import Stop
    from ..eval.paper import OUTER_ITERATIONS, run_paper
    from ..io.images import save_image
    from ..io.plot import plot_history, write_history_csv
    from ..jobs.runner import refuse_overwriting, sidecar

    opts = given_options(args)
    ignored = sorted(set(opts) - {"iterations", "seed", "device", "weights", "model", "size"})
    if ignored:
        raise UsageError(f"--paper fixes these settings; drop {', '.join(option_flag(n) for n in ignored)}")
    styles = styles_of(args)
    if len(styles) > 1:
        raise UsageError("--paper takes one style image")
    # the rounds' images are checked by run_paper
    refuse_overwriting(args.content, styles, output, options_from(**opts), plot=args.plot, checkpoint=False)
    result = run_paper(args.content, styles[0], output, iterations=opts.get("iterations", OUTER_ITERATIONS),
                       seed=opts.get("seed", 0), device=opts.get("device", "auto"), weights=opts.get("weights"),
                       model=opts.get("model", "vgg19"), height=opts.get("size", 400))
    save_image(result.image, output)
    write_history_csv(result.history, sidecar(output, ".losses.csv"))
    if args.plot:
        plot_history(result.history, sidecar(output, ".losses.png"), title="nstyle --paper")
    print(f"wrote {output} ({len(result.history)} evaluations, {result.seconds:.0f}s)")
    return INTERRUPTED if result.stopped == Stop.INTERRUPTED else OK
