"""Render docs/QUALITY.md's style-loss figure: the same pairs by classic Gatys, the default, every --style-loss
and every --method.

    python docs/examples/style_losses.py [IMAGES_DIR] [--size 384] [--again]   # default ../shared/images

Every picture is made through the real command line (``nstyle.cli.main``), with the command docs/QUALITY.md
shows, from the classic test images (../shared/bench's images may not be redistributed, so they are not used
here). Results go to docs/images/style_losses/, the labelled figure to docs/images/style_losses.jpg; the seconds
each took are printed (one process, one after the other: compare them as ratios).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images" / "style_losses"
PAIRS = [("tubingen", "starry_night"), ("hoovertowernight", "woman-with-hat-matisse"), ("tubingen", "shipwreck")]
METHODS = {
    "classic Gatys": "--loss classic --levels 1 --iterations 35",
    "gram-20": "--style-loss gram --iterations 20",  # the default until 2026-12-01
    "default": "",
    "w2 (100)": "--style-loss w2 --style-weight 100 --iterations 20",
    "sliced": "--style-loss sliced --iterations 20",
    "remd": "--style-loss remd",
    "strotss": "--method strotss",
    "nnst": "--method nnst",
}


def main() -> None:
    from nstyle.cli import main as cli

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="?", type=Path, default=ROOT.parent / "shared" / "images")
    parser.add_argument("--size", type=int, default=384)
    parser.add_argument("--again", action="store_true", help="paint every picture again (else those already in "
                        "docs/images/style_losses/ are kept: a new method adds its column)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for content, style in PAIRS:
        c, s = next(args.images.glob(f"{content}.*")), next(args.images.glob(f"{style}.*"))
        row = [Image.open(c).convert("RGB"), Image.open(s).convert("RGB")]
        for label, flags in METHODS.items():
            target = OUT / f"{content}_{style}_{label.split()[0]}.jpg"
            command = f"transfer {c} {s} -o {target} --size {args.size} -q {flags}"
            start = time.perf_counter()
            if target.exists() and not args.again:
                row.append(Image.open(target).convert("RGB"))
                continue
            if cli(shlex.split(command)) not in (0, None):
                sys.exit(f"failed: nstyle {command}")
            print(f"{time.perf_counter() - start:6.1f} s  nstyle {command}", flush=True)
            target.with_suffix(".losses.csv").unlink(missing_ok=True)  # every run writes one; the figure needs none
            row.append(Image.open(target).convert("RGB"))
        rows.append(row)
    thumb, label_height = 192, 18
    labels = ["content", "style", *METHODS]
    sheet = Image.new("RGB", (thumb * len(labels), label_height + thumb * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        draw.text((j * thumb + 4, 3), label, fill="black")
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            image.thumbnail((thumb, thumb))
            sheet.paste(image, (j * thumb + (thumb - image.width) // 2,
                                label_height + i * thumb + (thumb - image.height) // 2))
    sheet.save(ROOT / "docs" / "images" / "style_losses.jpg", quality=90)


if __name__ == "__main__":
    main()
