"""``nstyle video --method fast`` on a real clip: frames a second and the warping error, with and without the blend.

The clip (bikes.mp4 by default, ``nstyle samples fetch bikes``) at its own 640x272, every frame painted by the
feed-forward network through ``stylise_frames`` (PNG writing included) with each ``--weights`` value of
--temporal-weight (0: the network's frame alone; W: the previous output warped in, W/(1+W) of it where the flow is
reliable). Measured within shots, with the estimated flow (DIS) and Ruder et al.'s masks from the input frames,
bilinear warp (``nstyle.video.stability``), so not with the mode's own cubic warp:

  short-term error   mean over consecutive pairs of the masked mean squared RGB difference (0..1)
  long-term error    the same for frames 10 apart (does the blend drift, or only follow the last frame?)
  sharpness          mean |Laplacian| of the frames (does the blend soften the strokes?)
  frames a second    frames / wall-clock seconds of the run, the network's loading included

    python benchmarks/fast_video.py [--clip bikes] [--end SECONDS] [--weights 0,3] [--figure FILE] [-o DIR]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
from common import IMAGES, machine_line
from PIL import Image

from nstyle.io.videofile import read_clip
from nstyle.video.samples import sample_clip, samples
from nstyle.video.stability import pair_errors, pair_motion, shot_pairs
from nstyle.video.stylise import VideoSettings, clip_shots, stylise_frames


def sharpness(image: Image.Image) -> float:
    grey = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default="bikes", help="a sample clip's name or a video file")
    parser.add_argument("--size", type=int, default=640, help="long side of the frames (bikes: its own 640)")
    parser.add_argument("--end", type=float, help="stop before this second")
    parser.add_argument("--weights", default="0,3", help="comma-separated --temporal-weight values")
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--figure", type=Path, help="frames side by side, one row a weight, to this JPEG")
    parser.add_argument("--figure-frames", type=int, nargs="+", default=[1, 15, 30], metavar="N")
    parser.add_argument("-o", "--output", type=Path, default=Path("fast-video-results"))
    args = parser.parse_args()

    source = sample_clip(args.clip) if args.clip in samples() else Path(args.clip)
    frames = read_clip(source, args.size, 0.0, args.end, None).frames
    style = IMAGES / f"{args.style}.jpg"
    shots = clip_shots(frames, VideoSettings())
    runs = {}
    for weight in (float(w) for w in args.weights.split(",")):
        folder = args.output / f"w{weight:g}"
        shutil.rmtree(folder, ignore_errors=True)
        start = time.perf_counter()
        result = stylise_frames(frames, style, folder, {"size": args.size, "method": "fast"},
                                VideoSettings(temporal_weight=weight), shots=shots)
        seconds = time.perf_counter() - start
        runs[weight] = ([Image.open(p).convert("RGB") for p in result.paths], seconds)
        print(f"weight {weight:g}: {seconds:.1f} s", flush=True)
    short, long = shot_pairs(shots, 1), shot_pairs(shots, 10)
    motion = {1: pair_motion(frames, short), 10: pair_motion(frames, long)}
    print(machine_line("nstyle video --method fast"))
    print(f"\n{len(frames)} frames of {frames[0].width}x{frames[0].height}, {len(shots)} shots, {args.style}\n")
    print("| frames | short-term error | long-term error (10 apart) | sharpness | frames a second |")
    print("|---|---|---|---|---|")
    rows = {"input clip itself": (frames, None)}
    rows |= {("network alone (--temporal-weight 0)" if w == 0 else f"blended (--temporal-weight {w:g})"): r
             for w, r in runs.items()}
    for name, (seq, seconds) in rows.items():
        errors = [np.mean(pair_errors(seq, pairs, motion[gap])) for gap, pairs in ((1, short), (10, long))]
        rate = f"{len(seq) / seconds:.2f}" if seconds else ""
        print(f"| {name} | {errors[0]:.2e} | {errors[1]:.2e} | {np.mean([sharpness(f) for f in seq]):.4f} | "
              f"{rate} |")
    if args.figure:
        picked = [n - 1 for n in args.figure_frames if n <= len(frames)]
        rows_ = [frames] + [seq for seq, _ in runs.values()]
        w, h = frames[0].size
        sheet = Image.new("RGB", (w * len(picked), h * len(rows_)), "white")
        for r, seq in enumerate(rows_):
            for c, t in enumerate(picked):
                sheet.paste(seq[t], (c * w, r * h))
        sheet.save(args.figure, quality=88)
        print(f"\nwrote {args.figure}")


if __name__ == "__main__":
    main()
