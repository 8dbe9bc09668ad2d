"""What made the default copy the painting's objects in place: one change at a time, scored by the object leak.

Each variant is nstyle's default as it was until 2026-12-06 (W2 at 170 on relu1_1..relu5_1, 128/256/512 px, from
the content) with one thing changed: the style weight, the Gram for W2, relu5_1 left out at every level or only at
the coarse ones, the style image's size per level, one size instead of three, the start image. Rows for the methods
and the one-pass start come after. The first ``--pairs`` pairs of benchmarks/quality.py's order (each a different
content and painting) are painted at 512 px, and each result's leak (``nstyle.eval.metrics.leak``) and wall time
are written.

    python benchmarks/leak_cause.py [--pairs 6] [--variants w2-relu5 no-relu5 ...] [-o leak-cause]

The per-level variants change the options of the coarse levels only (``Painter.options`` between levels), which
the library does not offer; the others are plain options. Images are kept in OUT/VARIANT/, so an interrupted run
goes on where it stopped; OUT/leak_cause.md is the table (mean, worst pair, pairs above 0.05, seconds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from common import contact_sheet, machine_line
from quality import BENCH, SIZE, all_pairs, result_name

NO_RELU5 = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
FIVE = {"style_layers": [*NO_RELU5, "relu5_1"]}  # the default's layers when the study was made (2026-12-06)
W2_170 = {"style_weight": 170.0}  # the W2's weight when the study was made (220 since 2026-12-06 16:00 UTC)
W2_FIVE = {**FIVE, **W2_170}


@dataclass(frozen=True)
class Variant:
    description: str
    options: dict = field(default_factory=dict)
    #: (level size, final size) -> option changes for that level; None: the same options at every level
    per_level: Callable[[int, int], dict] | None = None


VARIANTS = {
    "w2-relu5": Variant("the default until 2026-12-06: W2 at style weight 170, relu1_1..relu5_1, 128/256/512 px, "
                        "from the content", W2_FIVE),
    "gram-20": Variant("the Gram default until 2026-12-01 (Gram, 80 + 40 + 20)",
                       {"style_loss": "gram", "iterations": 20, **FIVE}),
    "gram-170": Variant("the Gram in the W2's place (weight 170, its schedule)",
                        {"style_loss": "gram", "style_weight": 170, **FIVE}),
    "w2-100": Variant("W2 at style weight 100", {"style_weight": 100, **FIVE}),
    "no-relu5": Variant("without relu5_1 at any level", {"style_layers": list(NO_RELU5), **W2_170}),
    "relu5-fine": Variant("relu5_1 at the finest level only (512 px: 32 x 32 positions): the default "
                          "2026-12-06 11:00-15:30 UTC", W2_FIVE,
                          per_level=lambda size, final: {} if size == final else {"style_layers": list(NO_RELU5)}),
    "style-full": Variant("the style image at 512 px at every level (its positions: 4x and 16x the coarse levels')",
                          W2_FIVE, per_level=lambda size, final: {"style_scale": final / size}),
    "positions": Variant("a layer at a level only where its map has at least as many positions as channels (at 128 px "
                         "relu1_1..relu3_1, at 256 px up to relu4_1, relu5_1 at 512 px)", W2_FIVE,
                         per_level=lambda size, final: {"style_layers": [*NO_RELU5[:3], *(["relu4_1"] if size >= 181
                                                                                         else []),
                                                                          *(["relu5_1"] if size >= 362 else [])]}),
    "one-size": Variant("one size, 512 px, 60 iterations (no coarse levels)",
                        {"levels": 1, "iterations": 60, **W2_FIVE}),
    "noise": Variant("started from noise instead of the content", {"init": "noise", **W2_FIVE}),
    "init-fast": Variant("the default (W2 at 170) started from the one-pass network's painting (`--init fast`)",
                         {"init": "fast", **W2_170}),
    "init-fast-one-size": Variant("`--init fast`, then 20 iterations at 512 px only (no coarse levels)",
                                  {"init": "fast", "levels": 1, "iterations": 20, **W2_170}),
    "best": Variant("`--quality best` (W2 at 300, 14 iterations at 512 px)", {"quality": "best"}),
    "default": Variant("the library's default as it is now (the positions rule from 2026-12-06 afternoon)"),
    "strotss": Variant("`--method strotss`", {"method": "strotss"}),
    "nnst": Variant("`--method nnst`", {"method": "nnst"}),
    "fast": Variant("`--method fast` (one pass of the feed-forward network, no levels)", {"method": "fast"}),
}


def paint(variant: Variant, content: Path, style: Path, network):
    """The default's levels with the variant's options, changed per level where it says so."""
    from nstyle.core.engine import prepare, run, seed_everything

    painter = prepare(content, style, backbone=network, size=SIZE, **variant.options)
    generator = seed_everything(painter.options.seed)
    if painter.method.painter is not None:  # a one-pass method: no levels
        return run(content, style, backbone=network, size=SIZE, **variant.options).image
    base, image = painter.options, None
    for size, iterations in painter.plan:
        if variant.per_level is not None:
            painter.options = replace(base, **variant.per_level(size, base.size))
        _, image = painter.paint(size, iterations, image, generator=generator)
    painter.options = base
    return painter.picture(image)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=6)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS), metavar="NAME")
    parser.add_argument("--results", nargs="+", metavar="NAME",
                        help="only these pairs, by result name (08_stylized_16)")
    parser.add_argument("-o", "--output", type=Path, default=Path("leak-cause"))
    parser.add_argument("--figure", type=Path, help="also draw the first --figure-pairs pairs, one row each, as a JPEG")
    parser.add_argument("--figure-pairs", type=int, default=2)
    args = parser.parse_args()

    import torch

    from nstyle.core.engine import load_network, select_device
    from nstyle.core.options import TransferOptions
    from nstyle.eval.metrics.leak import ObjectLeak
    from nstyle.io.images import image_to_tensor, load_image, save_image

    contents = sorted(p.stem for p in (BENCH / "content").glob("*.png"))
    styles = sorted(p.stem for p in (BENCH / "style").glob("*.png"))
    pairs = all_pairs(contents, styles)[:args.pairs]
    if args.results:
        pairs = [(c, s) for c, s in all_pairs(contents, styles)
                 if result_name(c, s).removesuffix(".png") in args.results]
    network = load_network(TransferOptions(), select_device("auto"))
    measure = ObjectLeak()
    results: dict[str, dict[str, dict]] = {}
    for name in args.variants:
        file = args.output / name / "leaks.json"
        results[name] = json.loads(file.read_text()) if file.exists() else {}
    for k, (c, s) in enumerate(pairs):  # pair by pair, variant by variant: a busy spell slows all alike
        content, style = BENCH / "content" / f"{c}.png", BENCH / "style" / f"{s}.png"
        for name in args.variants:
            target = args.output / name / result_name(c, s)
            if target.name in results[name] and target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            picture = paint(VARIANTS[name], content, style, network)
            wall = time.perf_counter() - start
            save_image(picture, target)
            with torch.no_grad():
                leak = float(measure(image_to_tensor(picture), image_to_tensor(load_image(content)),
                                     image_to_tensor(load_image(style)))[0])
            results[name][target.name] = {"leak": leak, "wall": wall}
            (args.output / name / "leaks.json").write_text(json.dumps(results[name], indent=1))
            print(f"pair {k + 1}/{len(pairs)} {name}: leak {leak:+.3f}, {wall:.1f} s", flush=True)

    wanted = [result_name(c, s) for c, s in pairs]
    title = machine_line("Object leak, one change at a time").removeprefix("# ")
    lines = [f"{title}; {len(pairs)} pairs at {SIZE} px",
             "",
             "| variant | what changes | mean leak | worst pair | pairs > 0.05 | median s |", "| --- " * 6 + "|"]
    for name in args.variants:
        rows = [results[name][n] for n in wanted if n in results[name]]
        leaks = [r["leak"] for r in rows]
        lines.append(f"| `{name}` | {VARIANTS[name].description} | {statistics.mean(leaks):+.3f} | {max(leaks):+.3f} "
                     f"| {sum(v > 0.05 for v in leaks)} of {len(leaks)} | "
                     f"{statistics.median(r['wall'] for r in rows):.1f} |")
    per_pair = ["", "| pair | " + " | ".join(f"`{n}`" for n in args.variants) + " |",
                "| --- " * (len(args.variants) + 1) + "|"]
    for n in wanted:
        per_pair.append(f"| {n.removesuffix('.png')} | "
                        + " | ".join(f"{results[v][n]['leak']:+.3f}" if n in results[v] else "" for v in args.variants)
                        + " |")
    (args.output / "leak_cause.md").write_text("\n".join(lines + per_pair) + "\n")
    print("\n".join(lines + per_pair))
    if args.figure:
        figure(pairs[:args.figure_pairs], args.variants, results, args.output, args.figure)


def figure(pairs, variants, results, folder: Path, path: Path, thumb: int = 224) -> None:
    """Content, painting and each variant's result with its leak, a row a pair."""
    rows = []
    for c, s in pairs:
        name = result_name(c, s)
        rows.append([(BENCH / "content" / f"{c}.png", "content"), (BENCH / "style" / f"{s}.png", "painting"),
                     *((folder / v / name, f"{v}: leak {results[v][name]['leak']:+.3f}") for v in variants)])
    contact_sheet(rows, path, thumb)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
