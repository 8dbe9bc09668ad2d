"""The style/content trade-off at a glance: one transfer per ``--strength``, side by side in a labelled grid.

``--strength s`` (0..1) sets the style weight to the default times ``10^(6 (s - 0.5))`` (``nstyle.core.engine.
strength_weight``): 0.5 is the default, each step of 1/6 is ten times more or less style, 0 is 1/1000 of the
default (the content, barely touched) and 1 is 1000 times it (the style's statistics rule). The content weight
stays as it is. Every result is scored by the common judge (``nstyle.eval.judge``: VGG19 relative content and style
distances), so the grid and its CSV show the trade-off in numbers as well as in pictures.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import PIL.Image

from ..core.stops import Stop
from ..io.atomic import write_text
from ..io.images import as_image, resize_to_long_side, save_image
from ..io.paths import refuse_overwriting_inputs
from .compare import labelled_row
from .judge import Judge, Scores

ImageInput = str | os.PathLike | PIL.Image.Image


@dataclass
class StrengthRun:
    strength: float
    style_weight: float
    image: PIL.Image.Image
    scores: Scores | None  # None with several style images (the judge compares with one)
    seconds: float


def sweep(content: ImageInput, styles: ImageInput | Sequence[ImageInput], strengths: Sequence[float],
          output: str | os.PathLike, quiet: bool = False, tile: int = 256, **options) -> list[StrengthRun]:
    """Transfer once per strength; write the grid to ``output`` and the numbers next to it (grid.png -> grid.csv)."""
    from tqdm import tqdm

    from ..core.engine import run, select_device
    from ..core.options import input_files, options_from

    style_list = [styles] if isinstance(styles, (str, os.PathLike, PIL.Image.Image)) else list(styles)
    output = Path(output)
    refuse_overwriting_inputs({"-o": output, "the CSV of -o": output.with_suffix(".csv")},
                              {"the content image": content, "the style image": style_list} | input_files(options),
                              advice="give -o another name")
    content_img = as_image(content)
    style_imgs = [as_image(s) for s in style_list]
    opts = options_from(**options)
    judge = Judge(content_img, style_imgs[0], size=min(opts.size, 256), device=select_device(opts.device)) \
        if len(style_imgs) == 1 else None
    runs: list[StrengthRun] = []
    for index, strength in enumerate(strengths, start=1):
        settings = options | {"strength": strength}
        weight = options_from(**settings).resolved().weights["style"]
        bar = tqdm(total=opts.planned_iterations(), desc=f"[{index}/{len(strengths)}] strength {strength:g}",
                   unit="it", disable=quiet, file=sys.stderr, dynamic_ncols=True)
        try:
            result = run(content_img, style_imgs, callback=lambda record, image, bar=bar: bar.update(1), **settings)
        except KeyboardInterrupt:  # while the network loads: keep the strengths done (none done: nothing to write)
            if not runs:
                raise
            print("nstyle: sweep interrupted; writing the strengths done so far", file=sys.stderr)
            break
        finally:
            bar.close()
        if result.stopped == Stop.INTERRUPTED and not result.history and not runs:
            raise KeyboardInterrupt  # before the first iteration: nothing to write
        runs.append(StrengthRun(strength, weight, result.image, judge(result.image) if judge else None,
                                result.seconds))
        if result.stopped == Stop.INTERRUPTED:
            print("nstyle: sweep interrupted; writing the strengths done so far", file=sys.stderr)
            break
    write_sweep(output, content_img, style_imgs, runs, tile)
    return runs


def grid_image(content: PIL.Image.Image, styles: Sequence[PIL.Image.Image], runs: Sequence[StrengthRun],
               tile: int = 256) -> PIL.Image.Image:
    """Content, style(s), then one tile per strength labelled with its weight and the judge's distances."""
    tiles = [("content", "", content)]
    tiles += [("style" if len(styles) == 1 else f"style {k + 1}", "", s) for k, s in enumerate(styles)]
    for r in runs:
        note = f"style weight {r.style_weight:.3g}"
        if r.scores is not None:
            note += f"  content {r.scores.content:.2f}  style {r.scores.style:.2f}"
        tiles.append((f"strength {r.strength:g}", note, r.image))
    return labelled_row(tiles, resize_to_long_side(content, tile).size[1])


def write_sweep(output: Path, content: PIL.Image.Image, styles: Sequence[PIL.Image.Image],
                runs: Sequence[StrengthRun], tile: int = 256) -> None:
    save_image(grid_image(content, styles, runs, tile), output)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["strength", "style_weight", "judge_content", "judge_style", "seconds"])
    for r in runs:
        writer.writerow([f"{r.strength:g}", f"{r.style_weight:.6g}",
                         f"{r.scores.content:.4f}" if r.scores else "", f"{r.scores.style:.4f}" if r.scores else "",
                         f"{r.seconds:.1f}"])
    write_text(output.with_suffix(".csv"), buffer.getvalue())


__all__ = ["sweep", "StrengthRun", "grid_image"]
