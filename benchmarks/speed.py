"""nstyle against the classic baseline at 512 px: wall time, time per evaluation, quality by one judge.

In one process, on tubingen.jpg + starry_night.jpg (../shared/images):
  baseline   the classic neural-style settings written in this project: single scale 512 px, float32, L-BFGS,
             content weight 5, style weight 100, TV 1e-3 with neural-style's normalisation (--loss classic),
             relu4_2 / relu1_1..relu5_1, max pooling, noise start. The classic tools run 1000 iterations;
             --baseline-iterations N runs fewer and extrapolates the time of 1000 from the measured time
             per iteration (the report says so).
  schedules  nstyle's default and any --schedule "name:key=value,key=value" given.
Every result is scored by the judge of ``nstyle.eval.judge`` (VGG19 relu4_2 content distance, Gram distance over
relu1_1..relu5_1, each relative to the target's norm). Also measures the machine's channels-last 3x3
convolution throughput, to compare with the GFLOP/s of one evaluation.

    python benchmarks/speed.py [--baseline-iterations 1000] [--schedule fast:levels=3,iterations=20] [-o DIR]
    python benchmarks/speed.py --baseline-iterations 40 --classic-scores 0.780,0.286 \
        --schedule "nstyle float32:precision=float32"
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import IMAGES, conv_throughput, machine_line

from nstyle.core.engine import run
from nstyle.eval.judge import Judge, image_health
from nstyle.io.images import load_image, save_image

BASELINE = dict(loss="classic", content_weight=5.0, style_weight=100.0, tv_weight=1e-3, init="noise",
                content_layers=["relu4_2"], style_layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"],
                pooling="max", model="vgg19", optimizer="lbfgs", levels=1, tolerance=0.0,
                precision="float32")
CLASSIC_ITERATIONS = 1000


def parse_schedule(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition(":")
    options = {}
    for item in filter(None, spec.split(",")):
        key, _, value = item.partition("=")
        for kind in (int, float, str):
            try:
                options[key] = kind(value)
                break
            except ValueError:
                continue
    return name, options


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--baseline-iterations", type=int, default=CLASSIC_ITERATIONS)
    parser.add_argument("--schedule", action="append", default=[], metavar="NAME:K=V,...")
    parser.add_argument("--classic-scores", type=lambda t: tuple(map(float, t.split(","))), metavar="C,S",
                        help="judge content and style distances of a full 1000-iteration baseline run measured "
                             "before (--runs baseline --baseline-iterations 1000); the verdict compares with these "
                             "instead of the shortened baseline's")
    parser.add_argument("--runs", default="baseline,default",
                        help="which of baseline, default to run (the --schedule runs always run)")
    parser.add_argument("-o", "--output", type=Path, default=Path("speed-results"))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    content, style = load_image(IMAGES / "tubingen.jpg"), load_image(IMAGES / "starry_night.jpg")
    judge = Judge(content, style, size=args.size)
    peak = conv_throughput()
    print(machine_line("speed"))
    print(f"channels-last 3x3 convolution throughput: {peak:.0f} GFLOP/s")
    print("| run | evaluations | wall s | s / evaluation | judge content | judge style | health |")
    print("|---|---|---|---|---|---|---|")
    wanted = set(args.runs.split(","))
    runs = [("baseline", BASELINE | {"iterations": args.baseline_iterations})] if "baseline" in wanted else []
    runs += [("nstyle default", {})] if "default" in wanted else []
    runs += [parse_schedule(s) for s in args.schedule]
    rows = {}
    for name, options in runs:
        start = time.perf_counter()
        result = run(content, style, size=args.size, **options)
        wall = time.perf_counter() - start
        evaluations = len(result.history)
        per_eval = result.history[-1].elapsed / evaluations
        scores = judge(result.image)
        save_image(result.image, args.output / f"{name.replace(' ', '_')}.png")
        rows[name] = (wall, per_eval, scores)
        print(f"| {name} | {evaluations} | {wall:.1f} | {per_eval:.3f} | {scores.content:.4f} | {scores.style:.4f} | "
              f"{','.join(image_health(result.image)) or 'ok'} |", flush=True)
    if "baseline" not in rows:
        return
    base_wall, base_eval, base_scores = rows["baseline"]
    classic_wall = base_wall + (CLASSIC_ITERATIONS - args.baseline_iterations) * base_eval
    if args.baseline_iterations != CLASSIC_ITERATIONS:
        print(f"baseline ran {args.baseline_iterations} iterations; {CLASSIC_ITERATIONS} would take "
              f"{classic_wall:.0f} s at its measured {base_eval:.3f} s per iteration")
    reference = (base_scores.content, base_scores.style)
    if args.classic_scores and args.baseline_iterations != CLASSIC_ITERATIONS:
        reference = args.classic_scores
        print(f"quality compared with the full classic run's judge distances {reference[0]:.3f} / {reference[1]:.3f}")
    for name, (wall, _, scores) in rows.items():
        if name == "baseline":
            continue
        better = scores.content <= reference[0] and scores.style <= reference[1]
        print(f"{name}: {classic_wall / wall:.1f}x faster than the classic {CLASSIC_ITERATIONS}-iteration run; "
              f"quality {'at least as good on both judge distances' if better else 'worse on a judge distance'}")


if __name__ == "__main__":
    main()
