"""The ``nstyle`` command line. Transfer flags are generated from ``TransferOptions`` (``commands.options``)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .commands.options import (
    Parser,
    _flag,
    _option_default,
    _signature_default,
    add_content_and_styles,
    add_transfer_options,
    given_options,
    styles_of,
)
from .errors import NstyleError, UsageError

DEMO_CONTENT = "chelsea.png"
DEMO_STYLE = "ihc.png"
PAPER_HEIGHT, PAPER_ROUNDS = 400, 10  # nstyle.paper's HEIGHT and OUTER_ITERATIONS, without importing torch


# Set per network by `compare` itself, or one of its own flags.
COMPARE_FIXED = frozenset({"model", "size", "iterations", "seed", "device", "weights", "content_layers",
                           "style_layers", "style_layer_weights"})


def build_parser() -> Parser:
    parser = Parser(prog="nstyle", description="Neural style transfer with pretrained ImageNet CNNs.")
    parser.add_argument("--version", action="version", version=f"nstyle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    t = sub.add_parser("transfer", help="paint a content image in the style of a style image",
                       description="Paint CONTENT in the style of STYLE (or of several, --style A B) and write "
                                   "the result to OUTPUT.")
    add_content_and_styles(t)
    t.add_argument("-o", "--output", required=True, help="output image (.png, .jpg)")
    add_transfer_options(t)
    t.add_argument("--save-every", type=int, metavar="N", default=0,
                   help="also write the image every N iterations as OUTPUT_iterNNNN")
    t.add_argument("--plot", action="store_true", help="write the loss curve next to the output (.losses.png)")
    t.add_argument("--resume", action="store_true",
                   help="continue an interrupted run from its checkpoint (.resume.png/.resume.json next to the output)")
    t.add_argument("--paper", action="store_true",
                   help="replay the seed paper's Keras run (VGG19, 400 px tall, 10 rounds of 20 L-BFGS "
                        "evaluations, its weights); --iterations counts rounds")
    t.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_transfer)

    w = sub.add_parser("weights", help="list, fetch or locate pretrained weights")
    wsub = w.add_subparsers(dest="weights_command", metavar="ACTION", parser_class=Parser)
    wsub.required = True
    wsub.add_parser("list", help="networks, whether cached, size").set_defaults(func=cmd_weights_list)
    wf = wsub.add_parser("fetch", help="download, verify and convert weights into the cache")
    wf.add_argument("names", nargs="+", metavar="NAME", help="network names, or 'all'")
    wf.add_argument("--force", action="store_true", help="fetch again even if cached")
    wf.set_defaults(func=cmd_weights_fetch)
    wp = wsub.add_parser("path", help="print where a network's converted weights are cached")
    wp.add_argument("name", metavar="NAME")
    wp.set_defaults(func=cmd_weights_path)

    m = sub.add_parser("models", help="every backbone: layers, default layers, parameters, weights cached")
    m.add_argument("--layers", action="store_true", help="also list every layer name")
    m.set_defaults(func=cmd_models)

    _add_compare(sub)
    _add_sweep(sub)
    _add_video(sub)
    _add_serve(sub)
    _add_batch(sub)

    d = sub.add_parser("demo", help="stylise an image shipped with scikit-image (no files needed)")
    d.add_argument("-o", "--output", default="nstyle-demo.png", help="output image (default: %(default)s)")
    d.add_argument("--size", type=int, default=_option_default("size"),
                   help="long side in pixels (default: %(default)s)")
    d.add_argument("--iterations", type=int, default=_option_default("iterations"),
                   help="iterations at the final size (default: %(default)s)")
    d.add_argument("--device", default=_option_default("device"), help="cpu, cuda or auto (default: %(default)s)")
    d.set_defaults(func=cmd_demo)
    return parser


def _add_sweep(sub) -> None:
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
    from .images import check_output_path
    from .sweep import sweep

    output = check_output_path(args.output)
    styles = styles_of(args)
    if any(not 0 <= s <= 1 for s in args.strengths):
        raise UsageError("--strength values must be between 0 and 1")
    runs = sweep(args.content, styles, args.strengths, output, quiet=args.quiet, **given_options(args))
    print(f"wrote {output} ({len(runs)} strengths)")
    return 0 if len(runs) == len(args.strengths) else 130


def _add_compare(sub) -> None:
    from .compare import compare

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


def _add_video(sub) -> None:
    from .flow import METHODS
    from .video import DEFAULT_TEMPORAL_WEIGHT, VideoSettings

    v = sub.add_parser("video", help="stylise a video or a folder of frames without flicker",
                       description="Stylise every frame of INPUT (a video file or a folder of frames) in the style of "
                                   "STYLE, each frame started from the previous one warped by the optical flow and "
                                   "held to it where the flow is reliable (Ruder et al. 2016). The transfer options "
                                   "apply to every frame; the first frame runs the whole schedule (--levels), the "
                                   "others --iterations at the final size.")
    v.add_argument("input", help="video file (.mp4, .mkv, .mov, ...) or folder of frames")
    v.add_argument("style", help="style image (a painting)")
    v.add_argument("-o", "--output", required=True,
                   help="video file (.mp4, .mkv, .mov, .m4v, .avi, .webm: same frame rate, audio copied) or folder")
    add_transfer_options(v)
    v.add_argument("--temporal-weight", type=float, default=DEFAULT_TEMPORAL_WEIGHT, metavar="W",
                   help="weight of the temporal loss; 0: only start each frame from the warped previous one "
                        "(default: %(default)g)")
    v.add_argument("--passes", type=int, default=VideoSettings.passes, metavar="N",
                   help="passes over the clip, alternately forward and backward, each later one with half the "
                        "iterations (default: %(default)s)")
    v.add_argument("--long-term", action="store_true",
                   help="also hold each frame to frames 10, 20 and 40 back where the nearer ones are occluded")
    v.add_argument("--flow", choices=METHODS, default=VideoSettings.flow,
                   help="optical flow method (default: %(default)s)")
    v.add_argument("--start", metavar="TIME", help="first second to stylise (12.5 or 1:02.5)")
    v.add_argument("--end", metavar="TIME", help="stop before this second")
    v.add_argument("--fps", type=float, help="frame rate of a folder of frames (default: 25)")
    v.add_argument("--resume", action="store_true", help="continue an interrupted run from its first unfinished frame")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    v.set_defaults(func=cmd_video)


def cmd_video(args: argparse.Namespace) -> int:
    from .video import VideoSettings
    from .videoio import parse_time
    from .videojob import run_video_job

    start = parse_time(args.start) if args.start else 0.0
    end = parse_time(args.end) if args.end else None
    if args.fps is not None and args.fps <= 0:
        raise UsageError(f"--fps must be positive, not {args.fps:g}")
    settings = VideoSettings(temporal_weight=args.temporal_weight, passes=args.passes, long_term=args.long_term,
                             flow=args.flow)
    return run_video_job(args.input, args.style, args.output, given_options(args), settings, start=start, end=end,
                         fps=args.fps, resume=args.resume, quiet=args.quiet)


def default_data_dir() -> Path:
    """Where `nstyle serve` keeps its jobs and gallery: $XDG_DATA_HOME/nstyle/web (~/.local/share/nstyle/web)."""
    import os

    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "nstyle" / "web"


def _add_serve(sub) -> None:
    s = sub.add_parser("serve", help="a local web page to stylise images and compare backbones",
                       description="Start the web application: a page to stylise images (watch the painting emerge, "
                                   "stop it, keep a gallery) and compare backbones, and its JSON API (docs/WEB.md). "
                                   "Listens on localhost only unless --host says otherwise.")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s, this machine "
                                                       "only; the page has no login, so think before 0.0.0.0)")
    s.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")
    s.add_argument("--data", metavar="DIR", default=None,
                   help=f"folder for jobs and the gallery (default: {default_data_dir()})")
    s.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run the page's jobs as Ray tasks (one at a time, live progress kept): alone, on "
                        "RAY_ADDRESS's cluster or a local Ray instance; with an address, on that cluster "
                        "(needs pip install 'nstyle[ray]')")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    import ipaddress

    try:
        import uvicorn

        from .web import create_app
    except ImportError as err:
        raise UsageError(f"nstyle serve needs the web extra ({err.name} is missing): "
                         "pip install 'nstyle[web]'") from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, not {args.port}")
    data = Path(args.data) if args.data else default_data_dir()
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create {data} ({err.strerror}); give another --data folder") from None
    executor = None
    if args.ray is not None:  # the batch command's runner: same tasks, same weights-once-per-node fetch
        from .executors import make_executor

        executor = make_executor(ray=args.ray)
    app = create_app(data, executor=executor)
    try:
        local = args.host == "localhost" or ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        local = False
    if not local:
        print(f"nstyle: warning: listening on {args.host}: anyone who can reach it can run jobs (no login)",
              file=sys.stderr)
    print(f"nstyle serve: http://{args.host}:{args.port}/  (jobs and gallery in {data}; Ctrl-C stops)", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", timeout_graceful_shutdown=5)
    except OSError as err:  # e.g. the port is taken
        raise UsageError(f"cannot listen on {args.host}:{args.port} ({err.strerror or err}); "
                         "give another --port") from None
    return 0


def _add_batch(sub) -> None:
    from .executors import DEFAULT_RETRIES

    b = sub.add_parser("batch", help="many transfers from a CSV job list or folders, here or on a Ray cluster",
                       description="Run every job of JOBS.csv (columns content, style (several separated by ';'), "
                                   "optionally output and any transfer option by name: size, iterations, model, "
                                   "style_weight, ...; an empty cell takes the default; paths relative to the CSV), "
                                   "or every --contents image with every --styles image, and write each result and "
                                   "results.csv to DIR. Transfer options given here apply to every job (a CSV cell "
                                   "overrides them). Running the same command again skips the jobs already done.")
    b.add_argument("jobs", nargs="?", metavar="JOBS.csv", help="the job list")
    b.add_argument("--contents", metavar="DIR_OR_GLOB", help="content images: a folder or a glob ('photos/*.jpg')")
    b.add_argument("--styles", metavar="DIR_OR_GLOB", help="style images: every content is painted in each")
    b.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results and results.csv")
    b.add_argument("--workers", type=int, metavar="N",
                   help="worker processes on this machine, the cores shared among them (default: one per 2 cores, "
                        "as many as the free memory holds at 2 GB each; 0: in this process)")
    b.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run the jobs as Ray tasks: alone, on RAY_ADDRESS's cluster or a local Ray instance; with "
                        "an address, on that cluster (needs pip install 'nstyle[ray]')")
    b.add_argument("--retries", type=int, default=DEFAULT_RETRIES, metavar="N",
                   help="run a job again this many times when its worker or node is lost (default: %(default)s)")
    b.add_argument("--cpus-per-job", type=float, metavar="N", help="with --ray: cores each job asks for "
                   "(default: 2, or 1 beside a GPU)")
    b.add_argument("--gpus-per-job", type=float, metavar="F", help="with --ray: GPUs each job asks for, "
                   "0.5 shares one GPU between two jobs (default: 1 when the cluster has GPUs, else 0)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_transfer_options(b)
    b.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import jobs_from_csv, jobs_from_globs, resolve_file_options, run_batch
    from .executors import default_workers, import_ray, make_executor

    if args.jobs is None and args.ray and Path(args.ray).suffix.lower() == ".csv":
        args.jobs, args.ray = args.ray, ""  # `--ray JOBS.csv`: the job list, not an address
    if args.jobs and (args.contents or args.styles):
        raise UsageError("give a job list JOBS.csv or --contents and --styles, not both")
    if not args.jobs and not (args.contents and args.styles):
        raise UsageError("give a job list JOBS.csv, or both --contents and --styles")
    if args.retries < 0:
        raise UsageError(f"--retries must be 0 or more, not {args.retries}")
    if args.workers is not None and args.workers < 0:
        raise UsageError(f"--workers must be 0 (in this process) or more, not {args.workers}")
    defaults = resolve_file_options(given_options(args), Path.cwd())
    jobs = jobs_from_csv(args.jobs, defaults) if args.jobs else jobs_from_globs(args.contents, args.styles, defaults)
    if args.ray is not None:
        if any(job.options.get("weights") for job in jobs):
            raise UsageError("--weights names a file on this machine, which Ray nodes cannot read; leave it out "
                             "with --ray (each node fetches the weights into its own cache)")
        if args.workers is not None:
            raise UsageError("--workers counts processes on this machine; with --ray use --cpus-per-job")
        import_ray()  # before any work, with its one-line hint
    elif args.cpus_per_job is not None or args.gpus_per_job is not None:
        raise UsageError("--cpus-per-job and --gpus-per-job apply to --ray; on this machine use --workers")
    ray_options = {k: v for k, v in (("num_cpus", args.cpus_per_job), ("num_gpus", args.gpus_per_job))
                   if v is not None}

    def executor_for(count: int):  # no more workers than jobs left to run
        workers = args.workers
        if workers is None and args.ray is None:
            workers = min(default_workers(), count)
        return make_executor(workers, args.ray, args.retries, **ray_options)

    return run_batch(jobs, args.output, executor_for, quiet=args.quiet)


def cmd_compare(args: argparse.Namespace) -> int:
    from .compare import compare
    from .weights import get_record

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder; give a folder for the results")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise UsageError("--models needs at least one network name")
    for name in models:
        get_record(name)
    options = {k: v for k, v in given_options(args).items() if k not in COMPARE_FIXED}
    if args.paper and options:
        raise UsageError(f"--paper fixes these settings; drop {', '.join(_flag(n) for n in sorted(options))}")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create {out} ({err.strerror}); choose another folder") from None
    size = args.size or (PAPER_HEIGHT if args.paper else _signature_default(compare, "size"))
    iterations = args.iterations or (PAPER_ROUNDS if args.paper else _signature_default(compare, "iterations"))
    runs = compare(args.content, args.style, out, models=models, size=size, iterations=iterations,
                   paper=args.paper, seed=args.seed, device=args.device, quiet=args.quiet, **options)
    print(f"wrote {out / 'report.md'} ({len(runs)} of {len(models)} networks)")
    return 0 if len(runs) == len(models) else 130


def cmd_models(args: argparse.Namespace) -> int:
    from .weights import is_cached, records

    for rec in records().values():
        net = rec.build()
        params = sum(p.numel() for p in net.parameters())
        print(f"{rec.name}: {rec.description}")
        print(f"  parameters {params / 1e6:.1f} M, preprocessing {rec.preprocessing.name}, "
              f"weights {'cached' if is_cached(rec) else 'not fetched'}")
        print(f"  content layers: {' '.join(net.default_content_layers)}; "
              f"style layers: {' '.join(net.default_style_layers)}")
        if args.layers:
            print(f"  layers: {' '.join(net.layer_names)}")
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    from .images import check_output_path

    output = check_output_path(args.output)  # before a long run, not after it
    if args.save_every < 0:
        raise UsageError("--save-every must be 0 (off) or a positive number of iterations")
    if args.paper:
        return _run_paper(args, output)
    from .runner import run_transfer_job

    return run_transfer_job(args.content, styles_of(args), output, given_options(args), save_every=args.save_every,
                            plot=args.plot, resume=args.resume, quiet=args.quiet)


def _run_paper(args: argparse.Namespace, output: Path) -> int:
    from .images import save_image
    from .paper import OUTER_ITERATIONS, run_paper
    from .plot import plot_history, write_history_csv
    from .runner import sidecar

    opts = given_options(args)
    ignored = sorted(set(opts) - {"iterations", "seed", "device", "weights", "model", "size"})
    if ignored:
        raise UsageError(f"--paper fixes these settings; drop {', '.join(_flag(n) for n in ignored)}")
    styles = styles_of(args)
    if len(styles) > 1:
        raise UsageError("--paper takes one style image")
    result = run_paper(args.content, styles[0], output, iterations=opts.get("iterations", OUTER_ITERATIONS),
                       seed=opts.get("seed", 0), device=opts.get("device", "auto"), weights=opts.get("weights"),
                       model=opts.get("model", "vgg19"), height=opts.get("size", 400))
    save_image(result.image, output)
    write_history_csv(result.history, sidecar(output, ".losses.csv"))
    if args.plot:
        plot_history(result.history, sidecar(output, ".losses.png"), title="nstyle --paper")
    print(f"wrote {output} ({len(result.history)} evaluations, {result.seconds:.0f}s)")
    return 130 if result.stopped == "interrupted" else 0


def cmd_weights_list(args: argparse.Namespace) -> int:
    from .weights import is_cached, records

    rows = [("name", "cached", "size", "source", "description")]
    for rec in records().values():
        cached = is_cached(rec)
        size = rec.cache_path().stat().st_size if cached else rec.download_size
        rows.append((rec.name, "yes" if cached else "no", f"{size / 1e6:.0f} MB" if size else "?",
                     rec.source.describe(), rec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    return 0


def cmd_weights_fetch(args: argparse.Namespace) -> int:
    from .weights import fetch, records

    names = list(records()) if "all" in args.names else args.names
    for name in names:
        print(fetch(name, force=args.force))
    return 0


def cmd_weights_path(args: argparse.Namespace) -> int:
    from .weights import get_record, is_cached

    record = get_record(args.name)
    print(record.cache_path())
    if not is_cached(record):
        print(f"nstyle: {args.name} is not fetched yet; run `nstyle weights fetch {args.name}`", file=sys.stderr)
        return 1
    return 0


def demo_images() -> tuple[Path, Path]:
    """Content and style images that scikit-image ships in its package (no download needed)."""
    try:
        import skimage.data
    except ImportError:
        raise UsageError("the demo uses images shipped with scikit-image; pip install scikit-image") from None
    folder = Path(skimage.data.__file__).parent
    return folder / DEMO_CONTENT, folder / DEMO_STYLE


def cmd_demo(args: argparse.Namespace) -> int:
    from .images import check_output_path
    from .runner import run_transfer_job

    output = check_output_path(args.output)
    content, style = demo_images()
    print(f"nstyle demo: {content.name} in the style of {style.name} (from scikit-image)")
    return run_transfer_job(content, style, output, {"size": args.size, "iterations": args.iterations,
                                                      "device": args.device}, plot=True)


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
