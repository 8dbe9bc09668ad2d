"""Quality on the field's protocol: named nstyle configurations over ../shared/bench, scored by `nstyle evaluate`.

Every configuration stylises the same content/style pairs at 512 px (all 200, or a deterministic ``--pairs N``
subset that gives every content the same number of styles and every style the same number of contents),
records each image's wall and CPU time, and is scored with ``nstyle.eval.evaluate`` (ArtFID proxy, FID, KID, LPIPS,
CFSD, histogram, cross-network style, object leak, judge). Two calibration rows cost no painting: ``content`` (the
result is the photograph: LPIPS = CFSD = leak = 0) and ``style`` (the result is the painting: FID about 0).

    python benchmarks/quality.py [--configs content style classic default] [--pairs 60] [-o quality-results]

Painted images are kept per configuration in OUT/NAME/ ({content}_stylized_{style}.png, times.json), so an
interrupted run goes on where it stopped and a new configuration adds a row. Each scored pair goes into the
configuration's committed record (benchmarks/records/quality/NAME.npz, ``quality_record``): its numbers, times
and pool features, so a row can grow over sessions and machines without the images, and pairs recorded are
never painted again. ``--no-paint`` scores what is painted and shows what is recorded. Written to OUT: quality.md
(the table), quality.json, quality.png (ArtFID against seconds per image, LPIPS and the object leak) and grid.png (a
few pairs side by side, of those painted here).

The object leak needs the images, which the records do not keep (only numbers and pool features): pairs recorded
before it existed get it when their images are at hand (the calibrations always, from ../shared/bench; a painted
configuration's when OUT/NAME still holds them), else the row's leak stays empty until they are painted again.

Seconds per image: every image of a configuration is the same computation (512 x 512 px, a fixed number of
iterations), so their wall times differ only by what else the machine was doing. The table's "s / image" is the
lower quartile of them, the machine's cost with the cores free; the median and the mean CPU seconds (which a busy
machine inflates as well: OpenMP's threads spin while they wait) beside it. Configurations are painted pair by
pair, alternating, so a busy spell slows all alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import shutil
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from common import machine_line
from PIL import Image, ImageDraw
from quality_record import RECORDS, Record, RecordMismatch, painted_by

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
SIZE = 512


@dataclass(frozen=True)
class Config:
    description: str
    options: dict = field(default_factory=dict)  # TransferOptions fields; empty = nstyle's defaults
    calibration: str | None = None  # "content" or "style": the result is that image, nothing is painted
    retired: bool = False  # painted by a default the library no longer has: its record is shown, never added to


#: VGG19's default style layers: what every level of every configuration matched until the default kept relu5_1
#: for the final size (2026-12-06, issue 31); the rows of that time that ``gatys`` paints name them to stay what
#: they were
FIVE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]

CONFIGS = {
    "content": Config("calibration: the result is the content photograph", calibration="content"),
    "style": Config("calibration: the result is the style painting", calibration="style"),
    "default": Config("nstyle's default: W2 style loss (weight 220), coarse to fine 128, 256, 512 px: 80 + 40 + 12 "
                      "L-BFGS iterations; a layer at a coarse level only where the style's map has as many positions "
                      "as channels (128 px: relu1_1..relu3_1, 256 px: ..relu4_1, 512 px: ..relu5_1)"),
    "w2-relu5": Config("nstyle's default 2026-12-01..06: W2 at 170 with relu5_1 at every level (recorded; the W2's "
                       "weight is 220 since)", {"style_layers": FIVE_LAYERS}, retired=True),
    "w2-170": Config("the default at style weight 170 (the default for an hour, 2026-12-06 afternoon)",
                     {"style_weight": 170}),
    "default-relu5-final": Config("nstyle's default of 2026-12-06 11:00-15:30 UTC: relu1_1..relu4_1 at the coarse "
                                  "levels, relu5_1 too at 512 px (recorded; the rule is gone from the library)",
                                  retired=True),
    "no-relu5": Config("W2 at 170 without relu5_1 at any level (recorded; the W2's weight is 220 since)",
                       {"style_layers": FIVE_LAYERS[:-1]}, retired=True),
    "w2-12-x2": Config("the default at style weight 200 (measured as the default, then lowered to 170 for LPIPS)",
                       {"style_loss": "w2", "iterations": 12, "style_weight": 200, "style_layers": FIVE_LAYERS}),
    "best": Config("`--quality best`", {"quality": "best"}),
    "best-relu5": Config("`--quality best` 2026-12-02..06: W2 at 300, 14 iterations, relu5_1 at every level",
                         {"quality": "best", "style_layers": FIVE_LAYERS}),
    "best-relu5-final": Config("`--quality best` of 2026-12-06 11:00-15:30 UTC: relu5_1 at 512 px only, relu1_1.."
                               "relu4_1 at the coarse levels (recorded; the rule is gone from the library)",
                               retired=True),
    "best-no-relu5": Config("`--quality best` without relu5_1 at any level",
                            {"quality": "best", "style_layers": FIVE_LAYERS[:-1]}),
    "gram-20": Config("nstyle's default until 2026-12-01: Gram matrices, 80 + 40 + 20 iterations",
                      {"style_loss": "gram", "iterations": 20, "style_layers": FIVE_LAYERS}),
    "classic": Config("classic Gatys (`--loss classic`, one size, 35 L-BFGS iterations: the default's time then)",
                      {"loss": "classic", "levels": 1, "iterations": 35}),
    "classic-300": Config("classic Gatys given 300 iterations (`--loss classic --levels 1 --iterations 300`)",
                          {"loss": "classic", "levels": 1, "iterations": 300}),
    "gram": Config("Gram matrices (`--style-loss gram`), the default's schedule", {"style_loss": "gram"}),
    "sliced": Config("sliced Wasserstein (`--style-loss sliced`), the default's schedule", {"style_loss": "sliced"}),
    "remd": Config("STROTSS's relaxed EMD (`--style-loss remd`), the default's schedule", {"style_loss": "remd"}),
    "sliced-relu5": Config("`--style-loss sliced` until 2026-12-06 (relu5_1 at every level)",
                           {"style_loss": "sliced", "style_layers": FIVE_LAYERS}),
    "remd-relu5": Config("`--style-loss remd` until 2026-12-06 (relu5_1 at every level)",
                         {"style_loss": "remd", "style_layers": FIVE_LAYERS}),
    "strotss": Config("STROTSS (`--method strotss`), the default's schedule", {"method": "strotss"}),
    "nnst": Config("NNST (`--method nnst`), the default's schedule", {"method": "nnst"}),
    "init-fast": Config("the default's schedule from the feed-forward network's picture (`--init fast`)",
                        {"init": "fast"}),
    "init-fast-relu5-final": Config("`--init fast` of 2026-12-06 11:00-15:30 UTC (relu5_1 at 512 px only, relu1_1.."
                                    "relu4_1 at the coarse levels; recorded, the rule is gone)", retired=True),
    "init-fast-20": Config("from the network's picture, 20 iterations at 512 px only (`--init fast --levels 1 "
                           "--iterations 20`; recorded 2026-12-06 under a record format since changed)",
                           {"init": "fast", "levels": 1, "iterations": 20}, retired=True),
    "fast": Config("the feed-forward network (`--method fast`: Ghiasi et al. 2017), one pass at 512 px",
                   {"method": "fast"}),
    "auto-maps": Config("automatic semantic maps (`--auto-maps auto`: guided Gram matrices), the default's schedule",
                        {"auto_maps": "auto"}),
    "auto-maps-w2": Config("automatic semantic maps with the guided W2 (`--auto-maps auto --style-loss w2`)",
                           {"auto_maps": "auto", "style_loss": "w2"}),
}
COLUMNS = (("artfid_proxy", "ArtFID (proxy)"), ("fid", "FID"), ("kid", "KID"), ("lpips", "LPIPS"),
           ("lpips_gray", "LPIPS gray"), ("cfsd", "CFSD"), ("histogram", "Histogram"),
           ("cross_style", "Cross-net style"), ("leak", "Object leak"), ("judge_content", "Judge content"),
           ("judge_style", "Judge style"))


def all_pairs(contents: list[str], styles: list[str]) -> list[tuple[str, str]]:
    """Every pair, in diagonals: the first k * len(contents) pairs give each content k styles, and every
    2 * len(styles) / len(contents) diagonals each style the same number of contents."""
    step = max(1, len(styles) // len(contents))
    order = []
    for d in range(len(styles)):
        for i, content in enumerate(contents):
            order.append((content, styles[(i * step + d) % len(styles)]))
    seen, unique = set(), []
    for pair in order + [(c, s) for c in contents for s in styles]:  # the cross product completes any remainder
        if pair not in seen:
            seen.add(pair)
            unique.append(pair)
    return unique


def result_name(content: str, style: str) -> str:
    return f"{content}_stylized_{style}.png"


def paint(names: list[str], pairs: list[tuple[str, str]], out: Path, recorded: dict[str, set[str]]
          ) -> dict[str, dict[str, dict]]:
    """Stylise the pairs neither recorded nor yet in OUT/NAME, pair by pair and configuration by configuration
    within a pair, so that a busy machine slows every configuration alike; returns each painted result's wall and
    CPU seconds (0 for the calibrations), date and commit, kept in OUT/NAME/times.json."""
    from nstyle.core.engine import load_network, run, select_device
    from nstyle.core.options import TransferOptions
    from nstyle.io.images import save_image

    times = {}
    for name in names:
        (out / name).mkdir(parents=True, exist_ok=True)
        file = out / name / "times.json"
        times[name] = json.loads(file.read_text()) if file.exists() else {}
    networks: dict = {}
    commit = painted_by()
    for k, (content, style) in enumerate(pairs):
        for name in names:
            config, target = CONFIGS[name], out / name / result_name(content, style)
            if config.retired or target.name in recorded[name] or (target.name in times[name] and target.exists()):
                continue
            stamp = {"painted": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit}
            if config.calibration:
                save_image(calibration_image(config, content, style), target)
                times[name][target.name] = {"wall": 0.0, "cpu": 0.0} | stamp
            else:
                options = {"size": SIZE} | config.options
                opts = TransferOptions(**options)
                device = select_device(opts.device)
                key = (opts.model, opts.pooling, opts.precision, opts.weights, str(device))
                if key not in networks:
                    networks[key] = load_network(opts, device)
                wall, cpu = time.perf_counter(), time.process_time()
                result = run(BENCH / "content" / f"{content}.png", BENCH / "style" / f"{style}.png",
                             backbone=networks[key], **options)
                if result.stopped in ("interrupted", "cancelled"):  # Ctrl-C: a half-painted image is no result
                    raise SystemExit(f"stopped ({result.stopped}) in {name}'s {target.name}; what is painted is kept")
                times[name][target.name] = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                                            **stamp}
                save_image(result.image, target)
                print(f"pair {k + 1}/{len(pairs)} {name}: {target.name} {times[name][target.name]['wall']:.1f} s",
                      flush=True)
            (out / name / "times.json").write_text(json.dumps(times[name], indent=1))
    return times


def calibration_image(config: Config, content: str, style: str):
    """What a calibration row's result is: the content, or the style resized to the content's size."""
    from nstyle.io.images import load_image

    source = BENCH / config.calibration / f"{content if config.calibration == 'content' else style}.png"
    image, shape = load_image(source), load_image(BENCH / "content" / f"{content}.png").size
    return image if image.size == shape else image.resize(shape, Image.Resampling.LANCZOS)


def add_leaks(name: str, names: list[str], out: Path, record: Record) -> int:
    """Measure the object leak of the recorded pairs among ``names`` that lack it (scored before it existed) where
    their images are at hand: a calibration's from the bench, a painted one's in OUT/NAME. Saves the record;
    returns how many pairs still lack it."""
    import torch

    from nstyle.eval.metrics import ObjectLeak
    from nstyle.io.images import image_to_tensor, load_image

    wanted, config = set(names), CONFIGS[name]
    missing = [r for r in record.rows if r["result"] in wanted and r.get("leak") is None]
    found = [r for r in missing if config.calibration or (out / name / r["result"]).exists()]
    if found:
        measure = ObjectLeak()
        for row in found:
            content = load_image(BENCH / "content" / f"{row['content']}.png")
            result = (calibration_image(config, row["content"], row["style"]) if config.calibration
                      else load_image(out / name / row["result"]))
            style = load_image(BENCH / "style" / f"{row['style']}.png")
            with torch.no_grad():
                row["leak"] = float(measure(image_to_tensor(result), image_to_tensor(content),
                                            image_to_tensor(style))[0])
        record.save()
        print(f"{name}: object leak measured for {len(found)} recorded pair(s)")
    return len(missing) - len(found)


@functools.cache
def untrained(model: str):
    """The network's layers without its weights: what a record's meta needs of it."""
    from nstyle.models.registry import get_record

    return get_record(model).build()


def record_meta(name: str) -> dict:
    """What a record is tied to: the calibration, or the transfer options resolved (defaults included)."""
    from nstyle.core.catalog import FALLBACK_STYLE_LOSS, METHODS
    from nstyle.core.engine import coarse_style_layers
    from nstyle.core.options import TransferOptions

    config = CONFIGS[name]
    if config.calibration:
        return {"size": SIZE, "calibration": config.calibration}
    given = TransferOptions(size=SIZE, **config.options)
    options = dataclasses.asdict(given)
    # the layers as the run settles them at each level of a bench picture (a changed default is noticed)
    network = untrained(given.model)
    options["style_layers"] = given.settled_style_layers(network.default_style_layers)
    coarse = {str(size): layers for size, layers in coarse_style_layers(given, network).items()}
    lists = list(coarse.values()) or [options["style_layers"]]  # no coarse level: the final one's
    # one list where every coarse level is alike (as every record before 2026-12-06 afternoon), else by level
    options["coarse_style_layers"] = lists[0] if all(layers == lists[0] for layers in lists) else coarse
    # the style loss settled, as the records hold it (from when the options wrote it into their field: the methods
    # that bring their own statistic had the fallback's name there)
    options["style_loss"] = given.resolved().style_loss if METHODS[given.method].takes_style_loss \
        else FALLBACK_STYLE_LOSS
    return {"size": SIZE, "options": json.loads(json.dumps(options, default=str))}


def score(name: str, pairs: list[tuple[str, str]], out: Path, record: Record, times: dict[str, dict]) -> list[str]:
    """Score the painted results of these pairs that the record lacks with ``nstyle evaluate``, add them to the
    record (saved), and return the names of the pairs it now holds."""
    from nstyle.eval.evaluate import evaluate

    wanted = [result_name(c, s) for c, s in pairs]
    recorded = record.names
    new = sorted(n for n in wanted if n not in recorded and n in times and (out / name / n).exists())
    if new:
        # evaluate scores every result in its folder: the new ones are linked into one of their own
        subset = out / ".subset" / name
        shutil.rmtree(subset, ignore_errors=True)
        subset.mkdir(parents=True)
        for n in new:
            (subset / n).symlink_to((out / name / n).resolve())
        evaluation = evaluate(subset, BENCH / "content", BENCH / "style", output=out / ".scores" / name,
                              partial=True)
        shutil.rmtree(subset)
        for row in evaluation.rows:
            stamp = {"wall": 0.0, "cpu": 0.0, "painted": "unknown", "commit": "unknown"} | times[row["result"]]
            record.add(row | stamp, evaluation.features[row["result"]], evaluation.style_features[row["style"]])
        record.save()
    recorded = record.names
    return [n for n in wanted if n in recorded]


def table(rows: list[dict]) -> str:
    head = ("| configuration | pairs | s / image | median s | CPU s (mean) | "
            + " | ".join(label for _, label in COLUMNS) + " |")
    lines = [head, "|" + " --- |" * (5 + len(COLUMNS))]
    for row in rows:
        s = row["summary"]
        cells = []
        for key, _ in COLUMNS:
            value = s.get(key)
            if isinstance(value, dict):  # KID: mean and standard deviation
                value = value.get("mean")
            cells.append("" if value is None else f"{value:.4g}")
        lines.append(f"| {row['name']} | {s['pairs']} | {row['seconds']:.1f} | {row['median_seconds']:.1f} | "
                     f"{row['cpu_seconds']:.1f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


#: Issue 18's rule for the default: the best ArtFID within about 40 s a 512 px image on 2 cores, with LPIPS at most
#: 10 % above the Gram default's (``gram-20``). The plot draws both bounds.
TIME_BOUND_S, LPIPS_BOUND, LPIPS_REFERENCE = 40.0, 1.10, "gram-20"
BOUND_LABELS = {"seconds": f"the default's budget,\nabout {TIME_BOUND_S:.0f} s",
                "lpips": f"the default's bound,\n{LPIPS_BOUND:.2f} x {LPIPS_REFERENCE}'s LPIPS"}


def plot(rows: list[dict], path: Path, rescaled: bool = False) -> None:
    """Panels of ArtFID (proxy) against seconds (the frontier the default is chosen on), against LPIPS (what the
    style costs the content) and, where painted rows have it, against the object leak (the painting's objects
    painted in); the calibrations as lines, the axes zoomed on the painted rows. ``rescaled``:
    some rows' seconds were put on this day's clock (``--with-clock``), which the axis then says. The default's
    bounds are dotted lines (the LPIPS one when the ``gram-20`` row is shown)."""
    from nstyle.io.plot import pyplot, save_figure

    rows = [r for r in rows if r["summary"].get("artfid_proxy") is not None]  # FID needs 2 pairs or more
    painted = [r for r in rows if not CONFIGS[r["name"]].calibration]
    if not painted:
        print(f"no {path.name}: no painted row has an ArtFID yet (FID needs at least 2 pairs)")
        return
    bounds = {"seconds": TIME_BOUND_S}
    reference = [r for r in rows if r["name"] == LPIPS_REFERENCE]
    if reference:
        bounds["lpips"] = LPIPS_BOUND * reference[0]["summary"]["lpips"]
    clock = "this machine; other days' rows on this day's clock" if rescaled else "wall time, this machine"
    panels = [("seconds", f"seconds per 512 px image ({clock})"),
              ("lpips", "LPIPS to the content, lower keeps more of it")]
    if any(r["summary"].get("leak") is not None for r in painted):
        panels.append(("leak", "object leak: the painting's objects painted in place\n(0 = the photograph's; "
                               "rows without it left out)"))
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.8), sharey=True)
    scores = [r["summary"]["artfid_proxy"] for r in painted]
    for ax, (x, label) in zip(axes, panels, strict=True):
        for r in rows:
            if CONFIGS[r["name"]].calibration:
                ax.axhline(r["summary"]["artfid_proxy"], color="0.6", linestyle="--", linewidth=1)
                ax.annotate(f"result = {r['name']} ({r['summary']['artfid_proxy']:.0f})",
                            (0, r["summary"]["artfid_proxy"]), xycoords=("axes fraction", "data"), xytext=(4, 3),
                            textcoords="offset points", color="0.4", fontsize=8)
        points = [(r[x] if x == "seconds" else r["summary"].get(x), r["summary"]["artfid_proxy"], r["name"])
                  for r in painted]
        points = [p for p in points if p[0] is not None]
        spread = (max(p[1] for p in points) - min(p[1] for p in points) or 1.0) if points else 1.0
        low = min([0.0, *(1.25 * p[0] for p in points)])  # a leak can be just below 0 (noise)
        width = (max(p[0] for p in points) - low or 1.0) if points else 1.0
        placed: list[float] = []
        for px, py, name in sorted(points, key=lambda p: p[1]):
            ax.scatter(px, py, s=36, color="tab:red" if name == "default" else "tab:blue")
            near = [y for (qx, _, _), y in zip(sorted(points, key=lambda p: p[1]), placed) if abs(qx - px) <
                    0.15 * width]
            ly = max([py, *[y + 0.045 * spread for y in near if y > py - 0.045 * spread]])
            placed.append(ly)
            ax.annotate(name, (px, py), xytext=(px + 0.02 * width, ly), textcoords="data",
                        fontsize=8, ha="left", va="center",
                        arrowprops={"arrowstyle": "-", "color": "0.7", "linewidth": 0.5} if ly != py else None)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
        if points:
            ax.set_xlim(low, max(max(p[0] for p in points) * 1.25, bounds.get(x, 0) * 1.1))
        if x in bounds:  # the rule a default is chosen by: left of both lines
            ax.axvline(bounds[x], color="tab:red", linestyle=":", linewidth=1)
            at_top = x == "seconds"  # where these figures leave room: above the slow rows, below the painterly ones
            ax.annotate(BOUND_LABELS[x], (bounds[x], 1 if at_top else 0), xycoords=("data", "axes fraction"),
                        xytext=(3 if at_top else -3, -4 if at_top else 4), textcoords="offset points",
                        color="tab:red", fontsize=7, ha="left" if at_top else "right",
                        va="top" if at_top else "bottom")
    if scores:  # the painted rows and the photograph's line; the style image's (about 0) is said in its label
        content = [r["summary"]["artfid_proxy"] for r in rows if r["name"] == "content"]
        top, bottom = max(scores + content), min(scores)
        axes[0].set_ylim(bottom - 0.08 * (top - bottom) - 1, top + 0.08 * (top - bottom) + 1)
    pairs = rows[0]["summary"]["pairs"] if rows else 0
    axes[0].set_ylabel("ArtFID (proxy), lower is better")
    fig.suptitle(f"Quality against time, content kept{' and object leak' if len(panels) > 2 else ''}, "
                 f"{pairs} pairs of ../shared/bench")
    fig.tight_layout()
    save_figure(fig, path)


def grid(rows: list[dict], pairs: list[tuple[str, str]], out: Path, path: Path, thumb: int = 192) -> None:
    """The first few pairs, one a row: content, style, then each painted configuration."""
    from nstyle.io.images import load_image, save_image

    names = [r["name"] for r in rows if not CONFIGS[r["name"]].calibration]
    columns = ["content", "style", *names]
    label = 18
    sheet = Image.new("RGB", (thumb * len(columns), label + thumb * len(pairs)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, title in enumerate(columns):
        draw.text((j * thumb + 4, 3), title, fill="black")
    for i, (content, style) in enumerate(pairs):
        images = [BENCH / "content" / f"{content}.png", BENCH / "style" / f"{style}.png",
                  *[out / n / result_name(content, style) for n in names]]
        for j, image in enumerate(images):
            sheet.paste(load_image(image).resize((thumb, thumb), Image.Resampling.LANCZOS),
                        (j * thumb, label + i * thumb))
    save_image(sheet, path)


def defined_config(name: str, assignments: list[str], parser: argparse.ArgumentParser) -> Config:
    """A ``--define``'d configuration: OPTION=VALUE pairs, each value read as JSON where it parses (numbers), else
    as text; checked as transfer options before anything is painted."""
    from nstyle.core.options import TransferOptions
    from nstyle.errors import UsageError

    options = {}
    for assignment in assignments:
        key, sep, value = assignment.partition("=")
        if not sep:
            parser.error(f"--define {name}: {assignment!r} is not OPTION=VALUE")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    try:
        TransferOptions(size=SIZE, **options)
    except (UsageError, TypeError) as err:
        parser.error(f"--define {name}: {err}")
    return Config(" ".join(f"`{k}={v}`" for k, v in options.items()) or "nstyle's defaults", options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["content", "style", "classic", "default"],
                        metavar="NAME", help=f"any of {', '.join(CONFIGS)} or a --define'd name")
    parser.add_argument("--define", nargs="+", action="append", default=[], metavar="NAME OPTION=VALUE",
                        help="a configuration of your own: its name, then transfer options as in the API "
                             "(e.g. --define w2-14 style_loss=w2 iterations=14)")
    parser.add_argument("--pairs", type=int, default=200, help="a deterministic subset of this many pairs")
    parser.add_argument("--grid-pairs", type=int, default=3)
    parser.add_argument("--paint-only", action="store_true", help="paint, do not score")
    parser.add_argument("--no-paint", action="store_true",
                        help="paint nothing: score and record what is painted, and show the pairs recorded")
    parser.add_argument("--paint-for-leak", action="store_true",
                        help="paint again the recorded pairs that lack the object leak and whose images are gone, "
                             "to measure it (their recorded scores stay)")
    parser.add_argument("--records", type=Path, default=RECORDS,
                        help="where each configuration's scored pairs are kept (committed; default: %(default)s)")
    parser.add_argument("--with", dest="earlier", type=Path, action="append", default=[], metavar="JSON",
                        help="rows of an earlier quality.json to show beside these in the table and the plot "
                             "(their summaries as they were, for configurations no record holds)")
    parser.add_argument("--with-clock", type=float, default=1.0, metavar="F",
                        help="multiply the seconds of the --with rows by F, to put another day's times on this "
                             "day's clock: F is this day's time over that day's for a configuration run both days")
    parser.add_argument("-o", "--output", type=Path, default=Path("quality-results"),
                        help="the painted images and their times")
    args = parser.parse_args()
    for name, *assignments in args.define:
        CONFIGS[name] = defined_config(name, assignments, parser)
    unknown = [n for n in args.configs if n not in CONFIGS]
    if unknown:
        parser.error(f"--configs {' '.join(unknown)}: give {', '.join(CONFIGS)} or --define them")
    if args.paint_only and args.no_paint:
        parser.error("--paint-only and --no-paint: give one of them")
    earlier = []
    for path in args.earlier:
        try:
            earlier += [r for r in json.loads(path.read_text()) if r["name"] not in args.configs]
        except (OSError, ValueError, KeyError, TypeError) as err:
            parser.error(f"--with {path}: not a quality.json ({err})")
    if not 0 < args.with_clock < 100:
        parser.error(f"--with-clock {args.with_clock}: give a factor above 0 and below 100")
    for row in earlier:
        if args.with_clock != 1.0:
            row |= {key: row[key] * args.with_clock for key in ("seconds", "median_seconds", "cpu_seconds")}
            row["description"] += f" (seconds of another day, times {args.with_clock:g} for this day's clock)"
    for row in earlier:
        CONFIGS.setdefault(row["name"], Config(row["description"], calibration=row["name"]
                                               if row["name"] in ("content", "style") else None))
    contents = sorted(p.stem for p in (BENCH / "content").glob("*.png"))
    styles = sorted(p.stem for p in (BENCH / "style").glob("*.png"))
    everything = all_pairs(contents, styles)
    if not 1 <= args.pairs <= len(everything):
        parser.error(f"--pairs {args.pairs}: give 1 to {len(everything)}")
    pairs = everything[:args.pairs]
    try:
        records = {name: Record.open(args.records / f"{name}.npz", None if CONFIGS[name].retired else record_meta(name))
                   for name in args.configs}
    except RecordMismatch as err:
        parser.error(str(err))
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    print(machine_line("quality"))
    if args.no_paint:
        times = {name: (json.loads((out / name / "times.json").read_text())
                        if (out / name / "times.json").exists() else {}) for name in args.configs}
    else:
        kept = {name: records[name].names for name in args.configs}
        if args.paint_for_leak:
            kept = {name: {r["result"] for r in records[name].rows if r.get("leak") is not None}
                    for name in args.configs}
        times = paint(args.configs, pairs, out, kept)
    if args.paint_only:
        return
    rows = []
    for name in args.configs:
        names = score(name, pairs, out, records[name], times[name])
        if not names:
            print(f"{name}: no pair of these recorded or painted yet")
            continue
        lacking = add_leaks(name, names, out, records[name])
        if lacking:
            print(f"{name}: {lacking} recorded pair(s) have no object leak (scored before it existed, images not in "
                  f"{out / name}): the row's leak is left empty")
        held = set(names)
        recorded = [r for r in records[name].rows if r["result"] in held]
        walls = sorted(r["wall"] for r in recorded)
        seconds = walls[(len(walls) - 1) // 4]  # lower quartile: see lower_quartile_note
        cpu = sum(r["cpu"] for r in recorded) / len(recorded)
        rows.append({"name": name, "description": CONFIGS[name].description, "seconds": seconds,
                     "median_seconds": statistics.median(walls), "cpu_seconds": cpu,
                     "summary": records[name].summary(names)})
    short = [f"{r['name']} ({r['summary']['pairs']})" for r in rows if r["summary"]["pairs"] < len(pairs)]
    rows += earlier
    text = (f"{machine_line('quality')}\n\n{len(pairs)} pairs of {BENCH} at {SIZE} px "
            f"(python benchmarks/quality.py --pairs {args.pairs} --configs {' '.join(args.configs)})"
            + (f"; fewer pairs recorded so far for {', '.join(short)}" if short else "") + "\n\n"
            + table(rows) + "\n\n" + "\n".join(f"- **{r['name']}**: {r['description']}" for r in rows) + "\n")
    (out / "quality.md").write_text(text)
    (out / "quality.json").write_text(json.dumps(rows, indent=1))
    plot(rows, out / "quality.png", rescaled=bool(earlier) and args.with_clock != 1.0)
    shown = [p for p in pairs if all((out / r["name"] / result_name(*p)).exists() for r in rows
                                     if not CONFIGS[r["name"]].calibration)]
    if shown:
        grid(rows, shown[:args.grid_pairs], out, out / "grid.png")
    print(text)


if __name__ == "__main__":
    main()
