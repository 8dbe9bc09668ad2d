"""Video stability: nstyle's video mode against stylising every frame on its own, by the temporal warping error.

The clip is made here: a slow pan and zoom across tubingen.jpg (../shared/images), whose true motion is known
exactly (``nstyle.video.stability.pan_zoom_clip``), so the error is measured with the true flow and not with the
flow estimator that the video mode uses. ``--real CLIP`` adds any real clip (video file, GIF or folder of
frames, or the name of a sample clip: ``--real bikes``), measured with estimated flow (DIS, Ruder et al.'s masks)
within each shot, at ``--real-size`` (the clip's own 640 px for bikes). For each method:

  warping error   mean over frame pairs of the mean squared RGB difference (0..1) between a stylised frame
                  and the previous stylised frame warped by the input's motion, over the reliable pixels
  judge style     mean over frames of nstyle.eval.judge's style distance (VGG19 Gram distance to the painting)
  judge content   mean over frames of the judge's content distance to that frame of the input

  independent     every frame an ordinary transfer (``nstyle transfer``'s engine, same size and iterations)
  video W         ``nstyle video`` with --temporal-weight W (0: warped start only, no temporal loss)

  real clip      every option at its default: independent frames (the default transfer on each), the warped
                 start alone (--temporal-weight 0), the video mode as it was before the shot and warp work
                 (--warp linear --frame-iterations 12) and nstyle video. Short-term error (frames 1 apart) and
                 long-term error (frames 10 apart), both within shots; the judge's style distance and the
                 sharpness (mean |Laplacian|) of the first and the last frame of every shot (do the strokes
                 soften along a shot?); seconds a frame for the frames after a shot's first

    python benchmarks/video.py [--size 128] [--frames 10] [--iterations 80] [--weights 0,2000] [-o DIR]
        [--real CLIP] [--real-size 640] [--real-end 2] [--real-methods NAME...] [--skip-pan]
        [--figure docs/images/video_frames.jpg]
"""

from __future__ import annotations

import argparse
import platform
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from nstyle.core.engine import run
from nstyle.eval.judge import Judge
from nstyle.io.images import load_image
from nstyle.io.videofile import read_clip
from nstyle.video.stability import pair_errors, pair_motion, pan_zoom_clip, shot_pairs, warping_error
from nstyle.video.stylise import VideoSettings, clip_shots, stylise_frames

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


def judge_frames(frames, style, results: dict[str, list[Image.Image]], size: int) -> dict[str, tuple[float, float]]:
    """Mean (content, style) distance per method, each frame judged against its own input frame."""
    sums = {name: np.zeros(2) for name in results}
    for t, frame in enumerate(frames):
        judge = Judge(frame, style, size=size)
        for name, seq in results.items():
            scores = judge(seq[t])
            sums[name] += (scores.content, scores.style)
    return {name: tuple(s / len(frames)) for name, s in sums.items()}


def save_sequences(results: dict[str, list[Image.Image]], title: str, out: Path) -> None:
    """Every method's frames into OUT/TITLE_METHOD/ to look at."""
    for name, seq in results.items():
        folder = out / f"{title}_{name.replace(' ', '_')}"
        folder.mkdir(exist_ok=True)
        for t, image in enumerate(seq):
            image.save(folder / f"frame_{t + 1:05d}.png")


def benchmark(title, frames, motion, style, args, out: Path) -> dict[str, list[Image.Image]]:
    options = {"size": args.size, "iterations": args.iterations}
    results, seconds = {}, {}
    start = time.perf_counter()
    results["independent"] = [run(f, style, **options).image for f in frames]
    seconds["independent"] = time.perf_counter() - start
    for weight in args.weights:
        name = f"video {weight:g}"
        folder = out / f"{title}_video_{weight:g}"
        for old in folder.glob("frame_*.png"):
            old.unlink()
        start = time.perf_counter()
        result = stylise_frames(frames, style, folder, options, VideoSettings(temporal_weight=weight), quiet=False)
        seconds[name] = time.perf_counter() - start
        results[name] = [Image.open(p).convert("RGB") for p in result.paths]
    judged = judge_frames(frames, style, results, args.size)
    print(f"\n### {title}: {len(frames)} frames of {frames[0].width}x{frames[0].height}\n")
    print("| method | warping error | vs independent | judge style | judge content | wall s |")
    print("|---|---|---|---|---|---|")
    base = warping_error(results["independent"], motion)
    print(f"| input clip itself | {warping_error(frames, motion):.2e} | | | | |")
    for name, seq in results.items():
        error = warping_error(seq, motion)
        content, style_distance = judged[name]
        print(f"| {name} | {error:.2e} | {error / base:.2f} | {style_distance:.3f} | {content:.3f} | "
              f"{seconds[name]:.0f} |", flush=True)
    save_sequences(results, title, out)
    return results


#: The real clip's methods: (row name, video settings, or None for every frame on its own).
REAL_METHODS = (
    ("independent", None),
    ("warped start only", VideoSettings(temporal_weight=0)),
    ("before (linear warp, 12 a frame)", VideoSettings(warp="linear", frame_iterations=12)),
    ("cold start (6 a frame, the default until 2026-12-02)", VideoSettings(frame_iterations=6, warm_start=False)),
    ("edges fill (what enters the frame from the warp's repeated edges, until 2026-12-06)",
     VideoSettings(fill="edges")),
    ("nstyle video", VideoSettings()),
)


def _sharpness(image: Image.Image) -> float:
    """Mean absolute Laplacian of the grey picture (0..1): how much fine stroke detail a frame has."""
    import cv2

    grey = cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())


def real_benchmark(title, frames, style, args, out: Path) -> dict[str, list[Image.Image]]:
    """The real clip: independent frames, the warped start alone, the video mode before this change, and nstyle video,
    compared within shots; every transfer option at its default (``--real-size`` apart)."""
    options = {"size": args.real_size}
    shots = clip_shots(frames, VideoSettings())
    firsts = {shot.start for shot in shots}
    results, later_seconds = {}, {}
    methods = [(n, s) for n, s in REAL_METHODS
               if args.real_methods is None or n in args.real_methods or n.split()[0] in args.real_methods]
    for name, settings in methods:
        folder = out / f"{title}_{name.split()[0]}"
        if settings is None:
            times = []
            for frame in frames:
                start = time.perf_counter()
                results.setdefault(name, []).append(run(frame, style, **options).image)
                times.append(time.perf_counter() - start)
            later_seconds[name] = float(np.mean([t for i, t in enumerate(times) if i not in firsts] or [0]))
            continue
        if folder.exists():
            shutil.rmtree(folder)
        result = stylise_frames(frames, style, folder, options, settings, quiet=True)
        results[name] = [Image.open(p).convert("RGB") for p in result.paths]
        later_seconds[name] = float(np.mean([r.seconds for r in result.reports if r.frame - 1 not in firsts] or [0]))
        print(f"{name}: {result.seconds:.0f} s", flush=True)
    short, long = shot_pairs(shots, 1), shot_pairs(shots, 10)
    motion = {1: pair_motion(frames, short), 10: pair_motion(frames, long)}
    print(f"\n### {title}: {len(frames)} frames of {frames[0].width}x{frames[0].height}, {len(shots)} shots "
          f"({', '.join(f'{s.start + 1}-{s.stop}' for s in shots)})\n")
    print("| method | short-term error | long-term error (10 apart) | judge style, shots' first / last frames | "
          "sharpness, first / last | s / later frame |")
    print("|---|---|---|---|---|---|")
    rows = {"input clip itself": frames, **results}
    # one judge a shot's first and last frame, shared by every method (each holds the style's targets)
    judges = {t: Judge(frames[t], style, size=256) for s in shots for t in (s.start, s.stop - 1)}
    for name, seq in rows.items():
        errors = [np.mean(pair_errors(seq, pairs, motion[gap])) if pairs else float("nan")
                  for gap, pairs in ((1, short), (10, long))]
        if name == "input clip itself":
            print(f"| {name} | {errors[0]:.2e} | {errors[1]:.2e} | | | |")
            continue
        first = np.mean([judges[s.start](seq[s.start]).style for s in shots])
        last = np.mean([judges[s.stop - 1](seq[s.stop - 1]).style for s in shots])
        sharp = [np.mean([_sharpness(seq[t]) for t in ends]) for ends in ([s.start for s in shots],
                                                                           [s.stop - 1 for s in shots])]
        print(f"| {name} | {errors[0]:.2e} | {errors[1]:.2e} | {first:.3f} / {last:.3f} | "
              f"{sharp[0]:.3f} / {sharp[1]:.3f} | {later_seconds[name]:.1f} |", flush=True)
    save_sequences(results, title, out)
    return results


def figure(frames, results: dict[str, list[Image.Image]], rows: list[str], path: Path, columns: int = 4,
           frames_shown: list[int] | None = None) -> None:
    """Input and each chosen method's frames side by side, one row each, labelled; a small JPEG."""
    picks = (np.array(frames_shown) - 1 if frames_shown else
             np.linspace(0, len(frames) - 1, columns).round().astype(int))
    columns = len(picks)
    w, h = frames[0].size
    label = 14
    sheet = Image.new("RGB", (columns * w, (len(rows) + 1) * (h + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, name in enumerate(["input", *rows]):
        seq = frames if name == "input" else results[name]
        text = {"input": "input", "independent": "each frame stylised on its own"}.get(name, name)
        if name.startswith("video "):
            text = f"nstyle video, temporal weight {name.split()[-1]}"
        draw.text((3, r * (h + label) + 1), text, fill="black")
        for c, t in enumerate(picks):
            sheet.paste(seq[t], (c * w, r * (h + label) + label))
            if r == 0:
                draw.text((c * w + w - 52, 1), f"frame {t + 1}", fill="black")
    sheet.save(path, quality=85, optimize=True)
    print(f"\nwrote {path} ({path.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=80)
    parser.add_argument("--weights", default="0,2000", help="comma-separated temporal weights for video mode")
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--real", help="also a real clip (video file, GIF, folder of frames, or a sample's name)")
    parser.add_argument("--real-size", type=int, default=640, help="long side of the real clip's frames")
    parser.add_argument("--real-start", type=float, default=0.0, help="first second of the real clip")
    parser.add_argument("--real-end", type=float, help="stop the real clip before this second")
    parser.add_argument("--real-methods", nargs="+", metavar="NAME",
                        help=f"only these of the real clip's methods, by name or first word "
                             f"({', '.join(n for n, _ in REAL_METHODS)})")
    parser.add_argument("--skip-pan", action="store_true", help="only the real clip")
    parser.add_argument("--real-figure", type=Path, help="write frames of the real clip side by side to this JPEG")
    parser.add_argument("--real-figure-frames", type=int, nargs="+", metavar="N",
                        help="the real clip's frames to show (1-based; default: four spread over the clip)")
    parser.add_argument("--figure", type=Path, help="write frames of the clip side by side to this JPEG")
    parser.add_argument("-o", "--output", type=Path, default=Path("video-results"))
    args = parser.parse_args()
    args.weights = [float(w) for w in args.weights.split(",")]
    args.output.mkdir(parents=True, exist_ok=True)
    style = load_image(IMAGES / f"{args.style}.jpg")
    print(f"# video stability, {date.today()}, {platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; {args.style}, vgg19, {args.size} px, {args.iterations} iterations a frame")
    if not args.skip_pan:
        frames, motion = pan_zoom_clip(load_image(IMAGES / "tubingen.jpg"), frames=args.frames, size=args.size)
        results = benchmark("pan_zoom", frames, motion, style, args, args.output)
        if args.figure:
            figure(frames, results, ["independent", f"video {args.weights[-1]:g}"], args.figure)
    if args.real:
        from nstyle.video.samples import sample_clip, samples

        source = sample_clip(args.real) if args.real in samples() else Path(args.real)
        real = read_clip(source, args.real_size, args.real_start, args.real_end).frames
        results = real_benchmark(source.stem, real, style, args, args.output)
        if args.real_figure:
            figure(real, results, [n for n, _ in REAL_METHODS if n in results], args.real_figure,
                   frames_shown=args.real_figure_frames)


if __name__ == "__main__":
    main()
