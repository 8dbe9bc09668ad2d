"""``nstyle video``: a video or a folder of frames, stylised frame by frame without flicker."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from .options import add_transfer_options, given_options


def add(sub) -> None:
    from ..video.settings import (
        DEFAULT_CUT_THRESHOLD,
        DEFAULT_FAST_TEMPORAL_WEIGHT,
        DEFAULT_TEMPORAL_WEIGHT,
        FILLS,
        FLOW_METHODS,
        WARP_INTERPOLATIONS,
        VideoSettings,
    )

    v = sub.add_parser("video", help="stylise a video or a folder of frames without flicker",
                       description="Stylise every frame of INPUT (a video file or a folder of frames) in the style of "
                                   "STYLE, each frame started from the previous one warped by the optical flow and "
                                   "held to it where the flow is reliable (Ruder et al. 2016). The transfer options "
                                   "apply to every frame (--mask and --content-map may name a folder of one image a "
                                   "frame). The clip is split into shots at its cuts: the first frame of every shot "
                                   "is an ordinary transfer (--levels, --iterations), the others run "
                                   "--frame-iterations at the final size, and no frame is warped from another shot. "
                                   "--method fast paints every frame with its network instead and blends in the "
                                   "previous output, warped, where the flow is reliable (--temporal-weight).")
    v.add_argument("input", help="video file (.mp4, .mkv, .mov, ...) or folder of frames")
    v.add_argument("style", help="style image (a painting)")
    v.add_argument("-o", "--output", required=True,
                   help="video file (.mp4, .mkv, .mov, .m4v, .avi, .webm: same frame rate, audio copied) or folder")
    add_transfer_options(v)
    v.add_argument("--temporal-weight", type=float, metavar="W",
                   help="weight of the temporal loss; 0: only start each frame from the warped previous one "
                        f"(default: {DEFAULT_TEMPORAL_WEIGHT:g}); with --method fast, the weight W of the warped "
                        "previous output in each frame's blend, W/(1+W) of it where the flow is reliable; 0: each "
                        f"frame as the network paints it (default: {DEFAULT_FAST_TEMPORAL_WEIGHT:g})")
    v.add_argument("--passes", type=int, default=VideoSettings.passes, metavar="N",
                   help="passes over the clip, alternately forward and backward, each later one with half the "
                        "iterations (default: %(default)s)")
    v.add_argument("--long-term", action="store_true",
                   help="also hold each frame to frames 10, 20 and 40 back where the nearer ones are occluded")
    v.add_argument("--frame-iterations", type=int, default=VideoSettings.frame_iterations, metavar="N",
                   help="evaluations of each frame after a shot's first, which starts close to its answer "
                        "(default: %(default)s)")
    v.add_argument("--no-warm-start", action="store_true",
                   help="start each frame's L-BFGS afresh instead of with the previous frame's curvature (slower: "
                        "such a frame needs about 1.5 times --frame-iterations for the same style, and gets them)")
    v.add_argument("--warp", choices=WARP_INTERPOLATIONS, default=VideoSettings.warp,
                   help="how the previous stylised frame is resampled along the flow: cubic, or linear, which "
                        "blurs the strokes a little more at every frame (default: %(default)s)")
    v.add_argument("--fill", choices=FILLS, default=VideoSettings.fill,
                   help="what an optimised frame starts from where the previous one cannot be warped (what enters "
                        f"the frame, disocclusions): {FILLS[0]}, the frame painted in one pass by that method, or "
                        "edges, the warp's repeated edge pixels (streaks; before 2026-12-06) (default: %(default)s)")
    v.add_argument("--flow", choices=FLOW_METHODS, default=VideoSettings.flow,
                   help="optical flow method (default: %(default)s)")
    v.add_argument("--cut-threshold", type=float, default=DEFAULT_CUT_THRESHOLD, metavar="D",
                   help="colour-histogram distance (0..1) between two frames above which they may be a cut, "
                        "confirmed by the optical flow (default: %(default)g; lower finds more cuts)")
    v.add_argument("--no-cuts", action="store_true",
                   help="no shot detection: the whole clip is one shot, every frame warped from the one before")
    v.add_argument("--start", metavar="TIME", help="first second to stylise (12.5 or 1:02.5)")
    v.add_argument("--end", metavar="TIME", help="stop before this second")
    v.add_argument("--fps", type=float, help="frame rate of a folder of frames (default: 25)")
    v.add_argument("--workers", type=int, metavar="N",
                   help="paint this many shots side by side in worker processes, the cores shared among them "
                        "(default: one per 2 cores, no more than the shots and the free memory allow; 0 or 1: "
                        "one shot after another in this process)")
    v.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="paint the shots as Ray tasks: on RAY_ADDRESS's cluster or a local Ray instance, or on the "
                        "cluster at ADDRESS (needs pip install 'nstyle[ray]')")
    v.add_argument("--preview", metavar="FILE",
                   help="also write an animated preview of the result (.gif or .webp, 320 px, real time)")
    v.add_argument("--resume", action="store_true", help="continue an interrupted run from its first unfinished frame")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    v.set_defaults(func=cmd_video)


def cmd_video(args: argparse.Namespace) -> int:
    from ..io.videofile import check_fps, parse_time
    from ..video.clip import run_video_job
    from ..video.settings import VideoSettings

    start = parse_time(args.start) if args.start else 0.0
    end = parse_time(args.end) if args.end else None
    check_fps(args.fps)
    settings = VideoSettings(temporal_weight=args.temporal_weight, passes=args.passes, long_term=args.long_term,
                             flow=args.flow, cuts=not args.no_cuts, cut_threshold=args.cut_threshold,
                             warp=args.warp, frame_iterations=args.frame_iterations,
                             warm_start=not args.no_warm_start, fill=args.fill)
    settings.check()
    options = given_options(args)
    runner_for = _runner_factory(args, options)
    return run_video_job(args.input, args.style, args.output, options, settings, start=start, end=end,
                         fps=args.fps, resume=args.resume, quiet=args.quiet,
                         preview=args.preview, runner_for=runner_for)


def _runner_factory(args: argparse.Namespace, options: dict):
    """How the shots are painted, checked before any work: None (here, in order), or a function of the number
    of shots giving (runner, shutdown) for worker processes or Ray, or None when one process is all it takes."""
    from ..jobs.executors import check_workers, default_workers, import_ray, refuse_local_weights_on_ray

    check_workers(args.workers)
    if args.ray is not None:
        if args.workers is not None:
            raise UsageError("--workers counts processes on this machine; not with --ray")
        refuse_local_weights_on_ray(options.get("weights"))
        import_ray()  # its one-line hint before any work
    elif args.workers is not None and args.workers <= 1:
        return None

    def runner_for(shots: int):
        from ..jobs.executors import make_executor
        from ..jobs.shots import executor_runner

        workers = args.workers if args.workers is not None else min(default_workers(), shots)
        if args.ray is None and (workers <= 1 or shots <= 1):
            return None
        executor = make_executor(None if args.ray is not None else workers, args.ray)
        return executor_runner(executor), lambda: executor.shutdown(cancel_pending=True)

    return runner_for
