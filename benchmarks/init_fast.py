"""Does ``--init fast`` reach a given quality in fewer iterations? Quality against time for three starts.

Each start paints the first ``--pairs`` pairs of benchmarks/quality.py's order at 512 px, and the picture is kept
after each of the ``--at`` iteration counts of the final (512 px) level, so one run gives the whole curve (an
L-BFGS run of k iterations is the first k of a longer one, and returns the picture its k-th step evaluates):

  content      nstyle's default: from the content photograph, 128 and 256 px first (80 + 40 iterations)
  fast         the same schedule from the feed-forward network's picture (``--init fast``)
  fast-final   from the network's picture at 512 px alone (``--init fast --levels 1``)

Each kept set is scored with ``nstyle evaluate`` (ArtFID proxy, KID, LPIPS, CFSD, the object leak), and each
set's KID is compared with the default's own result (``content`` at 12) pair by pair: the difference and its
jackknife standard error. Seconds are wall time from the start of the run to the kept picture (the network's
picture and the coarse levels included), the median over the pairs. The starts take turns pair by pair, so a
busy machine slows them alike. Pictures are kept in OUT/START-N/, so an interrupted run goes on where it stopped.

    python benchmarks/init_fast.py [--pairs 20] [--at 4 8 12 20] [--final-at 4 8 12 20 32] [--figure PNG]
                                   [--sheet JPEG [--sheet-pairs K ...] [--sheet-sets START-N ...]] [-o init-fast]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from common import contact_sheet, machine_line
from kid_difference import kid_difference
from quality import BENCH, SIZE, all_pairs, result_name

STARTS = {
    "content": ("nstyle's default (from the content, 128/256/512 px)", {}),
    "fast": ("`--init fast`, the default's schedule", {"init": "fast"}),
    "fast-final": ("`--init fast --levels 1` (512 px alone)", {"init": "fast", "levels": 1}),
}
REFERENCE = ("content", 12)  # the default's own result: 12 iterations at 512 px
METRICS = (("artfid_proxy", "ArtFID (proxy)"), ("kid", "KID"), ("lpips", "LPIPS"), ("cfsd", "CFSD"),
           ("leak", "object leak"))


def paint(pairs: list[tuple[str, str]], at: dict[str, list[int]], out: Path) -> dict:
    """Paint every start on every pair not yet painted; returns {start: {count: {result name: seconds}}}."""
    from nstyle.core.engine import load_network, run, select_device
    from nstyle.core.options import TransferOptions
    from nstyle.io.images import save_image, tensor_to_image

    times_file = out / "times.json"
    times = json.loads(times_file.read_text()) if times_file.exists() else {}
    network = None
    for k, (content, style) in enumerate(pairs):
        name = result_name(content, style)
        for start, (_, options) in STARTS.items():
            counts = at[start]
            kept = times.setdefault(start, {})
            if all(name in kept.get(str(n), {}) and (out / f"{start}-{n}" / name).exists() for n in counts):
                continue
            opts = TransferOptions(size=SIZE, iterations=max(counts), **options)
            network = network or load_network(opts, select_device(opts.device))
            seen = {"final": 0}
            began = time.perf_counter()

            def keep(record, image, seen=seen, began=began, start=start, counts=counts, name=name):
                # the picture after step k is the one step k + 1 evaluates: what a run of k + 1 iterations returns
                # (its best evaluated picture); its time is taken once that evaluation is done
                if max(image.shape[-2:]) != SIZE:  # a coarse level
                    return
                seen["final"] += 1
                if seen["final"] in counts:
                    kept.setdefault(str(seen["final"]), {})[name] = time.perf_counter() - began
                if seen["final"] + 1 in counts:
                    folder = out / f"{start}-{seen['final'] + 1}"
                    folder.mkdir(parents=True, exist_ok=True)
                    save_image(tensor_to_image(image), folder / name)

            result = run(BENCH / "content" / f"{content}.png", BENCH / "style" / f"{style}.png", callback=keep,
                         backbone=network, options=opts)
            if result.stopped in ("interrupted", "cancelled"):
                raise SystemExit(f"stopped in {start}'s {name}; what is painted is kept")
            missing = [n for n in counts if name not in kept.get(str(n), {})]
            if missing:  # converged before the count: its last picture stands for the rest
                for n in missing:
                    folder = out / f"{start}-{n}"
                    folder.mkdir(parents=True, exist_ok=True)
                    save_image(result.image, folder / name)
                    kept.setdefault(str(n), {})[name] = time.perf_counter() - began
            times_file.write_text(json.dumps(times, indent=1))
            print(f"pair {k + 1}/{len(pairs)} {start}: {name} {time.perf_counter() - began:.1f} s", flush=True)
    return times


def scored(folder: Path):
    """``nstyle evaluate`` of a kept set, from OUT/START-N/scores.npz while its pictures are the ones scored."""
    from nstyle.eval.evaluate import Evaluation, evaluate

    cache = folder / "scores.npz"
    stamp = json.dumps({p.name: p.stat().st_mtime_ns for p in sorted(folder.glob("*.png"))})
    if cache.exists():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["stamp"]) == stamp:
                return Evaluation(json.loads(str(data["summary"])), [],
                                  dict(zip(map(str, data["names"]), data["features"], strict=True)),
                                  dict(zip(map(str, data["style_names"]), data["style_features"], strict=True)))
    evaluation = evaluate(folder, BENCH / "content", BENCH / "style", output=folder, partial=True, quiet=True)
    np.savez(cache, stamp=stamp, summary=json.dumps(evaluation.summary), names=list(evaluation.features),
             features=np.stack(list(evaluation.features.values())), style_names=list(evaluation.style_features),
             style_features=np.stack(list(evaluation.style_features.values())))
    return evaluation


def score(pairs: list[tuple[str, str]], at: dict[str, list[int]], out: Path, times: dict) -> list[dict]:
    names = [result_name(c, s) for c, s in pairs]
    evaluations = {(start, n): scored(out / f"{start}-{n}") for start, counts in at.items() for n in counts}
    reference = evaluations[REFERENCE]
    paintings = np.stack([reference.style_features[style] for _, style in pairs]).astype(np.float64)

    def features(evaluation) -> np.ndarray:
        return np.stack([evaluation.features[n] for n in names]).astype(np.float64)

    rows = []
    for (start, n), evaluation in evaluations.items():
        difference, error = kid_difference(features(evaluation), features(reference), paintings)
        s = evaluation.summary
        rows.append({"start": start, "iterations": n, "seconds": statistics.median(times[start][str(n)].values()),
                     "kid_vs_default": difference, "kid_vs_default_se": error,
                     **{key: (s[key]["mean"] if isinstance(s.get(key), dict) else s.get(key)) for key, _ in METRICS}})
    return rows


def table(rows: list[dict]) -> str:
    lines = ["| start | iterations at 512 px | median s | " + " | ".join(label for _, label in METRICS)
             + " | KID - the default's (jackknife s.e.) |", "|" + " --- |" * (4 + len(METRICS))]
    for r in rows:
        cells = " | ".join("" if r[key] is None else f"{r[key]:.4g}" for key, _ in METRICS)
        lines.append(f"| {r['start']} | {r['iterations']} | {r['seconds']:.1f} | {cells} | "
                     f"{r['kid_vs_default']:+.4f} ({r['kid_vs_default_se']:.4f}) |")
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [("kid_vs_default", "KID minus the default's\n(lower: closer to the paintings)"),
             ("lpips", "LPIPS to the photograph\n(lower: more of the photo kept)"),
             ("leak", "object leak\n(lower: fewer of the painting's objects)")]
    figure, axes = plt.subplots(1, len(shown), figsize=(4.2 * len(shown), 3.6), constrained_layout=True)
    for axis, (key, label) in zip(axes, shown, strict=True):
        for start, (description, _) in STARTS.items():
            line = sorted((r for r in rows if r["start"] == start), key=lambda r: r["iterations"])
            xs, ys = [r["seconds"] for r in line], [r[key] for r in line]
            axis.plot(xs, ys, marker="o", label=description)
            if key == "kid_vs_default":
                axis.fill_between(xs, [y - r["kid_vs_default_se"] for y, r in zip(ys, line, strict=True)],
                                  [y + r["kid_vs_default_se"] for y, r in zip(ys, line, strict=True)], alpha=0.15)
            for x, y, r in zip(xs, ys, line, strict=True):
                axis.annotate(str(r["iterations"]), (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
        axis.set_xlabel("seconds a 512 px picture (median)")
        axis.set_title(label, fontsize=9)
        axis.grid(alpha=0.3)
    axes[0].axhline(0, color="grey", lw=0.8)
    axes[0].legend(fontsize=7)
    figure.suptitle("Quality against time; numbers: iterations at 512 px", fontsize=10)
    figure.savefig(path, dpi=110)


def sheet(pairs: list[tuple[str, str]], sets: list[str], out: Path, path: Path) -> None:
    """The pairs' kept pictures side by side, a kept set (START-N) a column, to look at what the curves say."""
    contact_sheet([[(out / kept / result_name(c, s), f"{c} / {s}" if not i else "") for i, kept in enumerate(sets)]
                   for c, s in pairs], path, thumb=256, titles=sets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--at", type=int, nargs="+", default=[4, 8, 12, 20],
                        help="final-level iteration counts kept for the starts with coarse levels")
    parser.add_argument("--final-at", type=int, nargs="+", default=[4, 8, 12, 20, 32],
                        help="iteration counts kept for the start at 512 px alone")
    parser.add_argument("--figure", type=Path, help="the curves to this PNG (default OUT/init_fast.png)")
    parser.add_argument("--sheet", type=Path, help="these pairs' pictures side by side, a start and count a column")
    parser.add_argument("--sheet-pairs", type=int, nargs="+", default=[2, 5, 7, 9], metavar="K",
                        help="which pairs (0-based) the sheet shows")
    parser.add_argument("--sheet-sets", nargs="+", default=["content-12", "fast-12", "fast-final-4",
                                                            "fast-final-12", "fast-final-32"], metavar="START-N")
    parser.add_argument("-o", "--output", type=Path, default=Path("init-fast"))
    args = parser.parse_args()
    if args.pairs < 3:
        parser.error("--pairs must be at least 3 (KID's jackknife leaves one pair out of at least two)")
    if min(args.at + args.final_at) < 2:
        parser.error("--at and --final-at count from 2 (a run's first step evaluates the picture it starts from)")
    if REFERENCE[1] not in args.at:
        parser.error(f"--at must include {REFERENCE[1]} (the default's own result, the KID reference)")
    contents = sorted(p.stem for p in (BENCH / "content").glob("*.png"))
    styles = sorted(p.stem for p in (BENCH / "style").glob("*.png"))
    pairs = all_pairs(contents, styles)[:args.pairs]
    at = {"content": sorted(args.at), "fast": sorted(args.at), "fast-final": sorted(args.final_at)}
    args.output.mkdir(parents=True, exist_ok=True)
    times = paint(pairs, at, args.output)
    rows = score(pairs, at, args.output, times)
    text = f"{machine_line('benchmarks/init_fast.py')}\n\n{len(pairs)} pairs\n\n{table(rows)}\n"
    (args.output / "init_fast.md").write_text(text)
    (args.output / "init_fast.json").write_text(json.dumps(rows, indent=1))
    plot(rows, args.figure or args.output / "init_fast.png")
    if args.sheet:
        sheet([pairs[k] for k in args.sheet_pairs], args.sheet_sets, args.output, args.sheet)
    print(text)


if __name__ == "__main__":
    main()
