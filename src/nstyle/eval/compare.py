"""The seed paper's comparison of backbones, done properly.

The same transfer (same images, size, start, seed, iteration budget and optimiser) runs on each network,
and every result is scored by one common judge (``nstyle.eval.judge``), because raw losses of different
networks are not comparable. Written to the output folder:

    <model>.png, <model>.losses.csv   each result and its loss/time per iteration
    grid.png                          content, style and one labelled tile per model
    losses.png                        each model's loss curves (the paper's Figures 10 to 12)
    losses_normalised.png             every model's total loss / its first value, by iteration and by time
    table.md, table.csv               timings, final losses, judge scores, image health
    report.md                         the above tied together, with what the numbers say
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import PIL.Image

from ..core.optim import IterationRecord
from ..core.stops import Stop
from ..errors import UsageError
from ..io.atomic import write_text
from ..io.images import as_image, resize_to_long_side, save_image
from ..io.paths import folder_for_results, refuse_overwriting_inputs
from ..io.plot import plot_loss_parts, pyplot, save_figure, write_history_csv
from .compare_options import PER_NETWORK
from .judge import CONTENT_LAYER, JUDGE_MODEL, STYLE_LAYERS, Judge, Scores, image_health

DEFAULT_MODELS = ("vgg16", "vgg19", "resnet50", "inception_v3")
SUMMARY_FILES = ("grid.png", "losses.png", "losses_normalised.png", "table.csv", "table.md", "report.md")
TABLE_COLUMNS = ("model", "iterations", "seconds_per_iteration", "total_seconds", "final_total", "final_content",
                 "final_style", "final_tv", "judge_content", "judge_style", "health")


@dataclass
class ModelRun:
    model: str
    image: PIL.Image.Image
    history: list[IterationRecord]
    scores: Scores
    health: list[str] = field(default_factory=list)
    stopped: str = Stop.COMPLETED

    @property
    def total_seconds(self) -> float:
        return self.history[-1].elapsed if self.history else 0.0

    @property
    def seconds_per_iteration(self) -> float:
        # The first evaluation also builds caches and targets; leave it out where there are others.
        steady = [r.seconds for r in self.history[1:]] or [r.seconds for r in self.history]
        return sum(steady) / len(steady) if steady else 0.0

    def row(self) -> dict[str, str]:
        last = self.history[-1]
        return {
            "model": self.model, "iterations": str(len(self.history)),
            "seconds_per_iteration": f"{self.seconds_per_iteration:.3f}", "total_seconds": f"{self.total_seconds:.1f}",
            "final_total": f"{last.total:.4g}", "final_content": f"{last.content:.4g}",
            "final_style": f"{last.style:.4g}", "final_tv": f"{last.tv:.4g}",
            "judge_content": f"{self.scores.content:.4f}", "judge_style": f"{self.scores.style:.4f}",
            "health": ",".join(self.health) or "ok",
        }


def _progress(model: str, index: int, count: int, total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=f"[{index}/{count}] {model}", unit="it", disable=quiet, file=sys.stderr,
                dynamic_ncols=True, leave=True)


def compare(
    content: str | os.PathLike | PIL.Image.Image,
    style: str | os.PathLike | PIL.Image.Image,
    output_dir: str | os.PathLike,
    models: Sequence[str] = DEFAULT_MODELS,
    size: int = 256,
    iterations: int = 300,
    paper: bool = False,
    seed: int = 0,
    device: str = "auto",
    quiet: bool = False,
    log: Callable[[str], None] = print,
    callback: Callable[[str, IterationRecord, object], None] | None = None,
    **options,
) -> list[ModelRun]:
    """Run the same transfer on each of ``models``; write images, plots, table and report to ``output_dir``.

    ``paper`` replays the seed paper's settings on every network (``iterations`` then counts its rounds of
    20 L-BFGS evaluations and ``size`` is the height, as in ``nstyle transfer --paper``). Other keyword
    options are passed to every transfer (``init``, ``style_weight``, ...), except the per-network layers;
    unless given, a comparison runs at one size (``levels=1``) without early stopping. ``callback(model, record,
    image)`` sees every iteration (``image`` is None with ``paper``); raising ``StopOptimization`` in it ends the
    comparison after that network, with what was done written out.
    """
    from ..core.engine import run, select_device
    from ..core.memory import check_fits
    from ..core.options import input_files, options_from
    from ..models.registry import get_record
    from .paper import check_paper_fits, run_paper

    per_network = sorted(set(options) & PER_NETWORK)
    if per_network:
        raise UsageError(f"a comparison sets {', '.join(per_network)} per network; leave "
                         f"{'it' if len(per_network) == 1 else 'them'} out")
    for name in models:
        get_record(name)  # an unknown name fails before anything runs
    # One size and every iteration on every network, so loss curves and times compare like for like.
    options = {"levels": 1, "tolerance": 0.0} | options
    for name in models:  # what will not fit is refused before the judge or any network loads
        if paper:
            check_paper_fits(content, style, name, size, device)
        else:
            check_fits(options_from(model=name, size=size, iterations=iterations, seed=seed, device=device,
                                    **options), content, style)
    out = Path(output_dir)
    refuse_overwriting_inputs(output_files(out, models), {"the content image": content, "the style image": style}
                              | input_files(options), advice="give another -o folder")
    content_img, style_img = as_image(content), as_image(style)
    # Made once the inputs are read, and removed again if nothing could be written in it (no weights, say).
    with folder_for_results(out, "choose another folder for the results"):
        judge = Judge(content_img, style_img, size=size, device=select_device(device))
        runs: list[ModelRun] = []
        for index, model in enumerate(models, start=1):
            bar = _progress(model, index, len(models), iterations * (20 if paper else 1), quiet)

            def tick(record: IterationRecord, image=None, bar=bar, model=model) -> None:
                bar.update(1)
                bar.set_postfix(loss=f"{record.total:.4g}", refresh=False)
                if callback is not None:
                    callback(model, record, image)

            try:
                if paper:
                    result = run_paper(content_img, style_img, iterations=iterations, seed=seed, device=device,
                                       model=model, height=size, log=lambda _line: None, on_evaluation=tick)
                else:
                    result = run(content_img, style_img, callback=tick, model=model, size=size,
                                 iterations=iterations, seed=seed, device=device, **options)
            except KeyboardInterrupt:  # while this network loads: keep the ones done (none done: nothing to write)
                if not runs:
                    raise
                log(f"nstyle: compare interrupted before {model}; writing what was done")
                break
            finally:
                bar.close()
            if result.stopped == Stop.INTERRUPTED and not result.history and not runs:
                raise KeyboardInterrupt  # before the first iteration: nothing to write
            scores = judge(result.image)
            runs.append(ModelRun(model, result.image, result.history, scores, image_health(result.image),
                                 result.stopped))
            save_image(result.image, out / f"{model}.png")
            write_history_csv(result.history, out / f"{model}.losses.csv")
            if result.stopped in (Stop.INTERRUPTED, Stop.CANCELLED):
                log(f"nstyle: compare {result.stopped} during {model}; writing what was done")
                break
        reference = {"content image": judge(content_img), "style image": judge(style_img)}
        write_outputs(out, runs, content_img, style_img, reference,
                      conditions=_conditions(size, iterations, paper, seed, options))
    return runs


def summary_line(out: Path, runs: list[ModelRun], models: Sequence[str]) -> tuple[str, bool]:
    """What the command prints at the end, and whether every network ran to its end: a run stopped part-way
    (Ctrl-C, SIGTERM) is written and kept, but the comparison is not complete and must not say so."""
    whole = [r for r in runs if r.stopped not in (Stop.INTERRUPTED, Stop.CANCELLED)]
    line = f"wrote {out / 'report.md'} ({len(whole)} of {len(models)} networks finished"
    if len(whole) < len(runs):
        stopped = runs[-1]
        line += f"; {stopped.model} {stopped.stopped} after {len(stopped.history)} iterations, kept as it was"
    return line + ")", len(whole) == len(models)


def output_files(out: Path, models: Sequence[str]) -> dict[str, Path]:
    """Every file ``compare`` writes in ``out``, by what it is (for the check that none is an input)."""
    files = {f"compare's {name} in -o": out / name for name in SUMMARY_FILES}
    for model in models:
        files |= {f"compare's {model}.png in -o": out / f"{model}.png",
                  f"compare's {model}.losses.csv in -o": out / f"{model}.losses.csv"}
    return files


def _conditions(size: int, iterations: int, paper: bool, seed: int, options: dict) -> str:
    if paper:
        return (f"the seed paper's settings (Keras example): {size} px tall, noise start, weights content 0.025 / "
                f"style 5 / TV 0.1, {iterations} rounds of at most 20 L-BFGS evaluations, seed {seed}")
    extra = ", ".join(f"{k}={v}" for k, v in sorted(options.items()) if v is not None)
    return (f"nstyle defaults per network: {size} px on the long side, {iterations} iterations, seed {seed}"
            + (f", {extra}" if extra else ""))


def write_outputs(out: Path, runs: list[ModelRun], content: PIL.Image.Image, style: PIL.Image.Image,
                  reference: dict[str, Scores], conditions: str) -> None:
    if not runs:
        return
    save_image(make_grid(content, style, runs), out / "grid.png")
    plot_losses(runs, out / "losses.png")
    plot_normalised(runs, out / "losses_normalised.png")
    rows = [r.row() for r in runs]
    write_text(out / "table.csv", _csv(rows))
    write_text(out / "table.md", markdown_table(rows))
    write_text(out / "report.md", report(runs, rows, reference, conditions))


def _csv(rows: list[dict[str, str]]) -> str:
    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def markdown_table(rows: list[dict[str, str]]) -> str:
    lines = ["| " + " | ".join(TABLE_COLUMNS) + " |", "|" + "---|" * len(TABLE_COLUMNS)]
    lines += ["| " + " | ".join(row[c] for c in TABLE_COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def make_grid(content: PIL.Image.Image, style: PIL.Image.Image, runs: list[ModelRun],
              tile: int = 256) -> PIL.Image.Image:
    """One row: content, style, then each model's result, each with a label underneath."""
    tiles = [("content", "", content), ("style", "", style)]
    tiles += [(r.model, f"content {r.scores.content:.2f}  style {r.scores.style:.2f}  "
                        f"{r.seconds_per_iteration:.2f} s/it" + (f"  [{', '.join(r.health)}]" if r.health else ""),
               r.image) for r in runs]
    return labelled_row(tiles, resize_to_long_side(content, tile).size[1])


def labelled_row(tiles: Sequence[tuple[str, str, PIL.Image.Image]], height: int) -> PIL.Image.Image:
    """Pictures side by side at one ``height``, each with a title and a grey note underneath."""
    from PIL import ImageDraw

    label_h, pad = 44, 6
    pics = [(name, note, img.convert("RGB").resize((max(1, round(img.width * height / img.height)), height),
                                                   PIL.Image.LANCZOS)) for name, note, img in tiles]
    width = sum(p.width for _, _, p in pics) + pad * (len(pics) + 1)
    grid = PIL.Image.new("RGB", (width, height + label_h + 2 * pad), "white")
    draw = ImageDraw.Draw(grid)
    x = pad
    for name, note, pic in pics:
        grid.paste(pic, (x, pad))
        draw.text((x, height + pad + 4), name, fill="black", font=_font(16))
        draw.text((x, height + pad + 24), note, fill=(90, 90, 90), font=_font(11))
        x += pic.width + pad
    return grid


def plot_losses(runs: list[ModelRun], path: Path) -> None:
    """One panel per model: total, content, style and TV loss per iteration (log scale)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(runs), figsize=(4.2 * len(runs), 3.6), squeeze=False)
    for ax, r in zip(axes[0], runs):
        plot_loss_parts(ax, r.history)
        ax.set_title(f"{r.model} ({r.seconds_per_iteration:.2f} s/it)")
        ax.set_xlabel("iteration")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("weighted loss (own scale per network)")
    axes[0][0].legend()
    fig.tight_layout()
    save_figure(fig, path)


def plot_normalised(runs: list[ModelRun], path: Path) -> None:
    """Every model's total loss divided by its first value: by iteration and by wall time."""
    plt = pyplot()
    fig, (by_it, by_time) = plt.subplots(1, 2, figsize=(11, 4))
    for r in runs:
        first = r.history[0].total or 1.0
        values = [h.total / first for h in r.history]
        by_it.plot([h.iteration for h in r.history], values, label=r.model)
        by_time.plot([h.elapsed for h in r.history], values, label=r.model)
    for ax, xlabel in ((by_it, "iteration"), (by_time, "seconds")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("total loss / first value")
        ax.grid(True, which="both", alpha=0.3)
    by_it.legend()
    fig.tight_layout()
    save_figure(fig, path)


def report(runs: list[ModelRun], rows: list[dict[str, str]], reference: dict[str, Scores], conditions: str) -> str:
    best_style = min(runs, key=lambda r: r.scores.style)
    best_content = min(runs, key=lambda r: r.scores.content)
    fastest = min(runs, key=lambda r: r.seconds_per_iteration)
    lines = [
        "# Backbone comparison", "",
        f"Conditions: {conditions}.", "",
        "![side by side](grid.png)", "",
        "## Scores and timings", "",
        f"Judge: {JUDGE_MODEL} with max pooling; content distance |F - P| / |P| on {CONTENT_LAYER}, style distance "
        f"mean |G - A| / |A| over {', '.join(STYLE_LAYERS)} (per-position Gram matrices). Lower is closer. "
        "Raw final losses are in each network's own units and are not comparable between rows.", "",
        markdown_table(rows),
        "For scale: " + "; ".join(f"the {name} scores content {s.content:.3f}, style {s.style:.3f}"
                                  for name, s in reference.items()) + ".", "",
        "## What the numbers say", "",
        f"- Most stylised (lowest judge style distance): **{best_style.model}** ({best_style.scores.style:.3f}).",
        f"- Most faithful to the content (lowest judge content distance): **{best_content.model}** "
        f"({best_content.scores.content:.3f}).",
        f"- Fastest per iteration: **{fastest.model}** ({fastest.seconds_per_iteration:.3f} s).",
    ]
    for r in runs:
        if r.health:
            lines.append(f"- **{r.model}** gave a {' and '.join(r.health)} picture.")
        if r.stopped != Stop.COMPLETED:
            lines.append(f"- **{r.model}** stopped early ({r.stopped}).")
    if not any(r.health for r in runs):
        lines.append("- Every network gave a usable picture (none black, washed-out, flat or non-finite).")
    lines += ["", "## Loss curves", "", "![loss curves per network](losses.png)", "",
              "![normalised total loss](losses_normalised.png)", ""]
    return "\n".join(lines)
