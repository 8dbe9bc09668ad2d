"""The figures and figures of merit of ``--auto-maps`` in docs/CONTROL.md.

    python docs/examples/auto_maps.py [QUALITY_RESULTS]   # default quality-results (benchmarks/quality.py's -o)

1. How well the found regions agree with the hand-made maps of tubingen.jpg and starry_night.jpg (the share of
   pixels on which sky and the rest agree), with 2 regions and with ``auto``.
2. For pairs of ``../shared/bench`` (a landscape, two streets, an animal), the found maps beside the content, the style,
   the plain transfer (nstyle's default) and the transfer with the found maps, from the results that
   ``benchmarks/quality.py --pairs 20 --configs default auto-maps`` painted (512 px), into
   docs/images/control/auto_bench.jpg.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
DOCS = ROOT / "docs" / "images"
# content, style: among the first 20 pairs of benchmarks/quality.py, so their results exist
PAIRS = [("08", "17", "landscape"), ("06", "13", "street"), ("09", "19", "street"), ("00", "01", "animals")]


def agreement(found: np.ndarray, hand_made: Path) -> float:
    """Share of pixels where the found region that covers most of the hand-made sky agrees with that sky."""
    pixels = np.asarray(Image.open(hand_made).convert("RGB").resize(found.shape[::-1], Image.NEAREST)).astype(int)
    sky = pixels[..., 2] > pixels[..., 0]
    label = np.bincount(found[sky]).argmax()
    return float(((found == label) == sky).mean())


def main(args: list[str]) -> None:
    from nstyle.core.regions import find_maps
    from nstyle.eval.compare import labelled_row
    from nstyle.io.images import load_image, resize_to_long_side, save_image
    from nstyle.models.weights import load_backbone

    results = Path(args[0]) if args else Path("quality-results")
    net = load_backbone("vgg19")
    content = resize_to_long_side(load_image(SHARED / "images" / "tubingen.jpg"), 512)
    style = load_image(SHARED / "images" / "starry_night.jpg")
    for regions in (2, "auto"):
        found = find_maps(net, content, [style], regions, seed=0, blend=[1.0])
        print(f"--auto-maps {regions}: {found.summary()}; agreement with the hand-made maps: content "
              f"{100 * agreement(found.content_labels, DOCS / 'tubingen_map.png'):.1f} %, style "
              f"{100 * agreement(found.style_labels[0], DOCS / 'starry_night_map.png'):.1f} %")
    rows = []
    for c, s, kind in PAIRS:
        content = load_image(SHARED / "bench" / "content" / f"{c}.png")
        style = load_image(SHARED / "bench" / "style" / f"{s}.png")
        found = find_maps(net, resize_to_long_side(content, 512), [style], "auto", seed=0, blend=[1.0])
        content_map, (style_map,) = found.images()
        name = f"{c}_stylized_{s}.png"
        print(f"{kind} {c} + {s}: {found.summary()}")
        rows.append(labelled_row([
            (f"content {c}", kind, content), ("found map", f"{found.counts[0]} regions", content_map),
            (f"style {s}", "", style), ("found map", f"{found.counts[1]} regions", style_map),
            ("plain", "nstyle's default", load_image(results / "default" / name)),
            ("found maps", "--auto-maps auto", load_image(results / "auto-maps" / name))], 160))
    width = max(r.width for r in rows)
    sheet = Image.new("RGB", (width, sum(r.height for r in rows)), "white")
    y = 0
    for row in rows:
        sheet.paste(row, (0, y))
        y += row.height
    save_image(sheet, DOCS / "control" / "auto_bench.jpg", quality=88)
    print(f"wrote {DOCS / 'control' / 'auto_bench.jpg'}")


if __name__ == "__main__":
    main(sys.argv[1:])
