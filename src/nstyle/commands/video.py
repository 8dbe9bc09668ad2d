"""``nstyle video``: a video or a folder of frames, stylised frame by frame without flicker."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from .options import add_transfer_options, given_options


def add(sub) -> None:
    from ..video.settings import DEFAULT_CUT_THRESHOLD, DEFAULT_TEMPORAL_WEIGHT, FLOW_METHODS, VideoSettings

    v = sub.add_parser("video", help="stylise a video or a folder of frames without flicker",
                       description="Stylise every frame of INPUT (a video file or a folder of frames) in the style of "
                                   "STYLE, each frame started from the previous one warped by the optical flow and "
                                   "held to it where the flow is reliable (Ruder et al. 2016). The transfer options "
                                   "apply to every frame; the first frame runs the whole schedule (--levels), the "
                                   "others --iterations at the final size. The clip is split into shots at its cuts: "
                                   "the first frame of every shot starts afresh, and no frame is warped from another "
                                   "shot.")
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
    v.add_argument("--preview", metavar="FILE",
                   help="also write an animated preview of the result (.gif or .webp, 320 px, real time)")
    v.add_argument("--resume", action="store_true", help="continue an interrupted run from its first unfinished frame")
    v.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    v.set_defaults(func=cmd_video)


def cmd_video(args: argparse.Namespace) -> int:
    from ..io.videofile import parse_time
    from ..video.clip import run_video_job
    from ..video.settings import VideoSettings

    start = parse_time(args.start) if args.start else 0.0
    end = parse_time(args.end) if args.end else None
    if args.fps is not None and args.fps <= 0:
        raise UsageError(f"--fps must be positive, not {args.fps:g}")
    settings = VideoSettings(temporal_weight=args.temporal_weight, passes=args.passes, long_term=args.long_term,
                             flow=args.flow, cuts=not args.no_cuts, cut_threshold=args.cut_threshold)
    return run_video_job(args.input, args.style, args.output, given_options(args), settings, start=start, end=end,
                         fps=args.fps, resume=args.resume, quiet=args.quiet,
                         preview=args.preview)
