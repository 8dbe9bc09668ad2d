"""The pairs with the most object leak, side by side: content, painting, and each configuration's result with its leak.

Reads the leaks from the committed quality records (benchmarks/records/quality/NAME.npz) and the images from the
folder benchmarks/quality.py painted them into; the pairs are those the first configuration leaks most on, among
the pairs every configuration has painted. A small JPEG, for looking at what the number says.

    python benchmarks/leak_pairs.py --configs w2-relu5 default gram-20 [--worst 4] [--from quality-results] \
        -o docs/images/quality/leak_worst.jpg
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from quality import BENCH
from quality_record import RECORDS


def leaks(name: str, records: Path) -> dict[str, tuple[str, str, float]]:
    """result name -> (content, style, leak) of a record's pairs that have a leak."""
    import json

    with np.load(records / f"{name}.npz", allow_pickle=False) as data:
        rows = json.loads(str(data["rows"]))
    return {r["result"]: (r["content"], r["style"], r["leak"]) for r in rows if r.get("leak") is not None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", required=True, metavar="NAME")
    parser.add_argument("--worst", type=int, default=4, help="how many pairs")
    parser.add_argument("--best", action="store_true", help="the pairs the first configuration leaks least on")
    parser.add_argument("--from", dest="painted", type=Path, default=Path("quality-results"),
                        help="the folder benchmarks/quality.py painted into")
    parser.add_argument("--records", type=Path, default=RECORDS)
    parser.add_argument("--thumb", type=int, default=224)
    parser.add_argument("-o", "--output", type=Path, required=True)
    args = parser.parse_args()

    found = {name: leaks(name, args.records) for name in args.configs}
    common = [n for n in found[args.configs[0]]
              if all(n in found[c] and (args.painted / c / n).exists() for c in args.configs)]
    common.sort(key=lambda n: found[args.configs[0]][n][2], reverse=not args.best)
    chosen = common[:args.worst]
    t, label = args.thumb, 14
    columns = ["content", "painting", *args.configs]
    sheet = Image.new("RGB", (len(columns) * t, len(chosen) * (t + label) + label), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(columns):
        draw.text((c * t + 3, 1), title, fill="black")
    for r, result in enumerate(chosen):
        content, style, _ = found[args.configs[0]][result]
        y = label + r * (t + label)
        images = [BENCH / "content" / f"{content}.png", BENCH / "style" / f"{style}.png",
                  *(args.painted / c / result for c in args.configs)]
        for c, path in enumerate(images):
            sheet.paste(Image.open(path).convert("RGB").resize((t, t), Image.Resampling.LANCZOS), (c * t, y + label))
        draw.text((3, y + 1), f"content {content}, painting {style}", fill="black")
        for c, name in enumerate(args.configs):
            draw.text(((c + 2) * t + 3, y + 1), f"leak {found[name][result][2]:+.3f}", fill="black")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.output, quality=85, optimize=True)
    print(f"wrote {args.output}: pairs {', '.join(chosen)}")


if __name__ == "__main__":
    main()
