"""What bfloat16 does to the pictures: every backbone, the same run in float32 and in bfloat16.

In one process on tubingen.jpg + starry_night.jpg (../shared/images): wall time, the judge's content and
style distances (``nstyle.eval.judge``, always float32) and the style distance as a share of the content image's,
plus a grid with one row per network (float32 left, bfloat16 right) to look at.

    python benchmarks/precision.py [--size 128] [--iterations 80] [--models vgg19 resnet50] [-o DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import IMAGES, machine_line
from PIL import Image

from nstyle.core.engine import run
from nstyle.eval.judge import Judge
from nstyle.io.images import load_image, save_image
from nstyle.models.registry import model_names

PRECISIONS = ("float32", "bfloat16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--iterations", type=int, default=80)
    parser.add_argument("--models", nargs="+", default=model_names())
    parser.add_argument("-o", "--output", type=Path, default=Path("precision-results"))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    content, style = load_image(IMAGES / "tubingen.jpg"), load_image(IMAGES / "starry_night.jpg")
    judge = Judge(content, style, size=args.size)
    of_content = judge(content)
    print(machine_line("precision"))
    print(f"{args.size} px, {args.iterations} evaluations at one size, tubingen + starry_night")
    print("| network | precision | wall s | judge content | judge style | style / content image's |")
    print("|---|---|---|---|---|---|")
    rows = []
    for model in args.models:
        row = []
        for precision in PRECISIONS:
            start = time.perf_counter()
            result = run(content, style, model=model, size=args.size, iterations=args.iterations, levels=1,
                         precision=precision)
            wall = time.perf_counter() - start
            scores = judge(result.image)
            print(f"| {model} | {precision} | {wall:.1f} | {scores.content:.3f} | {scores.style:.3f} | "
                  f"{scores.style / of_content.style:.2f} |", flush=True)
            row.append(result.image)
        rows.append(row)
    width, height = rows[0][0].size
    grid = Image.new("RGB", (width * len(PRECISIONS), height * len(rows)))
    for i, row in enumerate(rows):
        for k, image in enumerate(row):
            grid.paste(image, (k * width, i * height))
    save_image(grid, args.output / "precision_grid.png")
    print(f"grid (rows: {', '.join(args.models)}; float32 left, bfloat16 right): {args.output / 'precision_grid.png'}")


if __name__ == "__main__":
    main()
