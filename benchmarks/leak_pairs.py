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
from common import contact_sheet
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
    rows = []
    for result in chosen:
        content, style, _ = found[args.configs[0]][result]
        rows.append([(BENCH / "content" / f"{content}.png", f"content {content}"),
                     (BENCH / "style" / f"{style}.png", f"painting {style}"),
                     *((args.painted / c / result, f"leak {found[c][result][2]:+.3f}") for c in args.configs)])
    contact_sheet(rows, args.output, args.thumb, titles=["content", "painting", *args.configs])
    print(f"wrote {args.output}: pairs {', '.join(chosen)}")


if __name__ == "__main__":
    main()
