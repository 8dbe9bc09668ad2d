"""Render the Control pictures of docs/CONTROL.md: every command as that page shows it, then the labelled figures.

    python docs/examples/control.py [IMAGES_DIR] [NAME ...]   # default ../shared/images; all examples

Each command runs through the real command line (``nstyle.cli.main``) inside IMAGES_DIR, so docs/CONTROL.md's
commands are exactly what made its pictures. Results go to docs/images/control/ (JPEG), the figures that put
them side by side (figure_*.jpg) next to them. Run docs/examples/make_maps.py first (maps and masks).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "images" / "control"
DOCS = ROOT / "docs" / "images"
# The Control pictures are 256 px (the default schedule then paints at 128 and 256 px), with the content weight
# that was the coarse-to-fine default when they were made (now 20); otherwise the defaults.
COMMON = "--size 256 --content-weight 10 -q"

# name -> command (as in docs/CONTROL.md, run inside the images folder; OUT/ and DOCS/ name the docs folders)
COMMANDS = {
    "default": "transfer tubingen.jpg starry_night.jpg -o OUT/default.jpg",
    "luminance": "transfer tubingen.jpg starry_night.jpg -o OUT/luminance.jpg --preserve-color luminance",
    "histogram": "transfer tubingen.jpg starry_night.jpg -o OUT/histogram.jpg --preserve-color histogram",
    "blend": "transfer tubingen.jpg --style starry_night.jpg woman-with-hat-matisse.jpg --style-blend 0.7 0.3 "
             "-o OUT/blend.jpg",
    "scale_half": "transfer tubingen.jpg starry_night.jpg -o OUT/scale_half.jpg --style-scale 0.5",
    "scale_double": "transfer tubingen.jpg starry_night.jpg -o OUT/scale_double.jpg --style-scale 2",
    "sweep": "sweep tubingen.jpg starry_night.jpg --strength 0.2 0.5 0.8 -o OUT/sweep.jpg",
    "ramp": "transfer tubingen.jpg starry_night.jpg -o OUT/ramp.jpg --mask OUT/ramp_mask.png",
    "regions": "transfer tubingen.jpg --style starry_night.jpg woman-with-hat-matisse.jpg -o OUT/regions.jpg "
               "--mask OUT/tubingen_mask.png --mask-colors red blue",
    "semantic": "transfer tubingen.jpg starry_night.jpg -o OUT/semantic.jpg --content-map DOCS/tubingen_map.png "
                "--style-map DOCS/starry_night_map.png",
    "auto": "transfer tubingen.jpg starry_night.jpg -o OUT/auto.jpg --auto-maps 2 --save-maps OUT/auto_maps",
}


def argv(name: str) -> list[str]:
    text = f"{COMMANDS[name]} {COMMON}"
    text = text.replace("OUT/", f"{OUT}/").replace("DOCS/", f"{DOCS}/")
    return shlex.split(text)


def figures(images: Path) -> None:
    """The side-by-side figures of docs/CONTROL.md from the results."""
    from PIL import Image

    from nstyle.eval.compare import labelled_row
    from nstyle.io.images import load_image, save_image

    def pic(name: str) -> Image.Image:
        path = OUT / name if (OUT / name).exists() else (DOCS / name if (DOCS / name).exists() else images / name)
        return load_image(path)

    rows = {
        "figure_color.jpg": [("content", "tubingen.jpg", "tubingen.jpg"),
                             ("style", "starry_night.jpg", "starry_night.jpg"),
                      ("plain", "the style's colours", "default.jpg"),
                      ("luminance", "--preserve-color luminance", "luminance.jpg"),
                      ("histogram", "--preserve-color histogram", "histogram.jpg")],
        "figure_blend.jpg": [("style 1", "starry_night.jpg, 0.7", "starry_night.jpg"),
                      ("style 2", "woman-with-hat-matisse.jpg, 0.3", "woman-with-hat-matisse.jpg"),
                      ("blend", "--style-blend 0.7 0.3", "blend.jpg")],
        "figure_scale.jpg": [("--style-scale 0.5", "finer strokes", "scale_half.jpg"),
                      ("--style-scale 1", "the default scale", "default.jpg"),
                      ("--style-scale 2", "larger strokes", "scale_double.jpg")],
        "figure_mask.jpg": [("grey mask", "black keeps, white styles", "ramp_mask.png"),
                     ("--mask ramp_mask.png", "one style, soft edge", "ramp.jpg"),
                     ("colour mask", "red, blue, black", "tubingen_mask.png"),
                     ("--mask-colors red blue", "starry sky, Matisse houses", "regions.jpg")],
        "figure_semantic.jpg": [("content map", "tubingen_map.png", "tubingen_map.png"),
                         ("style map", "starry_night_map.png", "starry_night_map.png"),
                         ("without maps", "plain transfer", "default.jpg"),
                         ("with maps", "--content-map --style-map", "semantic.jpg")],
        "figure_auto.jpg": [("found content map", "--auto-maps 2", "auto_maps/content_map.png"),
                            ("found style map", "--save-maps writes both", "auto_maps/style_map.png"),
                            ("without maps", "plain transfer", "default.jpg"),
                            ("hand-made maps", "--content-map --style-map", "semantic.jpg"),
                            ("found maps", "--auto-maps 2", "auto.jpg")],
    }
    for name, tiles in rows.items():
        if all((OUT / f).exists() or (DOCS / f).exists() or (images / f).exists() for _, _, f in tiles):
            save_image(labelled_row([(t, n, pic(f)) for t, n, f in tiles], 192), OUT / name, quality=90)
            print(f"wrote {OUT / name}")


def main(args: list[str]) -> None:
    from nstyle.cli import main as nstyle

    images = Path(args[0]) if args and Path(args[0]).is_dir() else ROOT.parent / "shared" / "images"
    names = [a for a in args if a in COMMANDS] or list(COMMANDS)
    os.chdir(images)
    for name in names:
        start = time.perf_counter()
        code = nstyle(argv(name))
        print(f"{name}: exit {code}, {time.perf_counter() - start:.0f}s: nstyle {' '.join(argv(name))}", flush=True)
    for sidecar in OUT.glob("*.losses.csv"):  # the loss logs are not part of the docs
        sidecar.unlink()
    figures(images)


if __name__ == "__main__":
    main(sys.argv[1:])
