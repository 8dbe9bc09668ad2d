"""Run one transfer job to files: progress bar, intermediate images, a resumable checkpoint, final outputs.

Everything written is atomic. The checkpoint (``<out>.resume.png`` + ``<out>.resume.json``) is updated
every ``save_every`` iterations (every ``CHECKPOINT_EVERY`` when that is off) and on Ctrl-C, and removed
when the run completes; ``resume=True`` continues from it with the iterations that were left. The checkpoint
records the run's identity (every input's sha256 and every option, ``nstyle.core.identity``): a resume given other
inputs or options is refused, naming what changed, before any work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..core.identity import described_differences, run_identity
from ..core.optim import IterationRecord
from ..core.options import TransferOptions, input_files, options_from, options_to_dict
from ..core.stops import Stop
from ..errors import UsageError
from ..exitcodes import FAILED, INTERRUPTED, OK
from ..io.atomic import remove_leftovers, write_json
from ..io.images import save_image, tensor_to_image
from ..io.paths import check_folder_for_outputs, refuse_overwriting_inputs
from ..io.plot import plot_history, write_history_csv

CHECKPOINT_EVERY = 100
#: The options a resume may change: how far to go (iterations, tolerance) and how the arithmetic is done (device,
#: precision; ``auto`` precision follows the device anyway). Any other change would make the rest another run.
RESUME_MAY_CHANGE = ("iterations", "tolerance", "device", "precision")


def sidecar(output: Path, suffix: str) -> Path:
    """A file next to the output: out.png -> out.losses.csv."""
    return output.with_name(output.stem + suffix)


def map_paths(folder: Path, style) -> list[Path]:
    """Where ``--save-maps FOLDER`` writes the found maps: the content's, then each style's."""
    from ..core.regions import map_names
    from ..io.images import one_or_many

    return [folder / name for name in map_names(len(one_or_many(style)))]


def refuse_overwriting(content, style, output: Path, options: TransferOptions, save_every: int = 0, plot: bool = False,
                       checkpoint: bool = True, save_maps: Path | None = None) -> None:
    """Before any work: a one-line UsageError when the output or a file written beside it (snapshots, checkpoint,
    loss table and curve, the found maps) would replace the content, a style or a file an option names."""
    outputs: dict[str, object] = {"-o": output, "the loss table of -o": sidecar(output, ".losses.csv")}
    if plot:
        outputs["the loss curve of -o (--plot)"] = sidecar(output, ".losses.png")
    if checkpoint:
        outputs |= {"the checkpoint image of -o": sidecar(output, ".resume.png"),
                    "the checkpoint record of -o": sidecar(output, ".resume.json")}
    if save_every:
        last = options.planned_iterations() + 1  # a resumed run may end one further
        outputs["a --save-every snapshot of -o"] = [sidecar(output, f"_iter{n:04d}{output.suffix}")
                                                    for n in range(save_every, last + 1, save_every)]
    inputs = {"the content image": content, "the style image": style} | input_files(options_to_dict(options))
    if save_maps is not None:
        refuse_overwriting_inputs({"a map of --save-maps": map_paths(save_maps, style)}, inputs,
                                  advice="give --save-maps another folder")
    refuse_overwriting_inputs(outputs, inputs, advice="give -o another name")


class Checkpoint:
    """The image so far and what produced it (``identity``: inputs and options), so an interrupted run can
    continue, and only as the same run."""

    def __init__(self, output: Path, identity: dict):
        self.image_path = sidecar(output, ".resume.png")
        self.meta_path = sidecar(output, ".resume.json")
        self.identity = identity

    def save(self, image, history: list[IterationRecord], done: int) -> None:
        save_image(tensor_to_image(image) if not hasattr(image, "save") else image, self.image_path)
        write_json(self.meta_path, {"done": done, "run": self.identity, "history": [r.as_dict() for r in history]})

    def load(self) -> tuple[int, list[IterationRecord]]:
        if not (self.meta_path.is_file() and self.image_path.is_file()):
            raise UsageError(f"--resume: no checkpoint {self.meta_path.name} next to the output; "
                             "run without --resume to start afresh")
        try:
            meta = json.loads(self.meta_path.read_text())
            history = [IterationRecord(**r) for r in meta["history"]]
            done = int(meta["done"])
        except (ValueError, KeyError, TypeError) as err:
            raise UsageError(f"--resume: checkpoint {self.meta_path.name} is damaged ({err}); "
                             "delete it and run without --resume") from None
        if not isinstance(meta.get("run"), dict):
            raise UsageError(f"--resume: checkpoint {self.meta_path.name} was written by an older nstyle and does not "
                             "record its inputs; run without --resume to start afresh")
        changed = described_differences(meta["run"], self.identity)
        if changed:
            raise UsageError(f"--resume: the unfinished run was made with {changed}; give the same inputs and "
                             "options, or run without --resume to start afresh")
        return done, history

    def remove(self) -> None:
        self.image_path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)


def _offset(history: list[IterationRecord], done: int, elapsed: float) -> list[IterationRecord]:
    return [IterationRecord(**(r.as_dict() | {"iteration": r.iteration + done, "elapsed": r.elapsed + elapsed}))
            for r in history]


def run_transfer_job(content, style, output: Path, opts: TransferOptions, save_every: int = 0, plot: bool = False,
                     resume: bool = False, quiet: bool = False, save_maps: Path | None = None) -> int:
    """Stylise and write ``output`` (+ ``.losses.csv``, ``.losses.png`` with ``plot``, and with ``save_maps`` the maps
    ``--auto-maps`` found, into that folder); returns an exit code (``nstyle.exitcodes``)."""
    from tqdm import tqdm

    from ..core.engine import run

    if save_maps is not None and opts.auto_maps is None:
        raise UsageError("--save-maps writes the maps that --auto-maps finds; give --auto-maps K (or auto)")
    refuse_overwriting(content, style, output, opts, save_every, plot, save_maps=save_maps)
    if save_maps is not None:
        check_folder_for_outputs(save_maps, "--save-maps", "give --save-maps a folder")
    checkpoint = Checkpoint(output, run_identity(content, style, opts, free=RESUME_MAY_CHANGE))
    done, previous = 0, []
    if resume:
        done, previous = checkpoint.load()
        for path in (output, checkpoint.image_path, checkpoint.meta_path):  # what a killed run could not tidy
            remove_leftovers(path)
        # The rest runs at the final size from the checkpoint's image (coarse levels are not repeated).
        coarse = opts.planned_iterations() - opts.iterations
        remaining = max(1, opts.iterations - max(0, done - coarse))
        # the same options, from the checkpoint: made anew, since a TransferOptions is checked when it is made
        opts = options_from(**options_to_dict(opts) | {"init": str(checkpoint.image_path),
                                                       "iterations": remaining, "levels": 1})
    total = done + remaining if resume else opts.planned_iterations()
    every = save_every or CHECKPOINT_EVERY
    bars: list = []  # made at the first iteration, so that a refusal before it stays one line
    prev_elapsed = previous[-1].elapsed if previous else 0.0
    live: list[IterationRecord] = []

    def on_iteration(record: IterationRecord, image) -> None:
        if not bars:
            bars.append(tqdm(total=total, initial=done, unit="it", desc="nstyle", disable=quiet, file=sys.stderr,
                             dynamic_ncols=True))
        bar = bars[0]
        live.append(record)
        bar.update(1)
        bar.set_postfix(loss=f"{record.total:.4g}", content=f"{record.content:.3g}", style=f"{record.style:.3g}",
                        refresh=False)
        n = done + record.iteration
        if save_every and n % save_every == 0:
            save_image(image, sidecar(output, f"_iter{n:04d}{output.suffix}"))
        if n % every == 0 and n < total:
            checkpoint.save(image, previous + _offset(live, done, prev_elapsed), n)

    try:
        result = run(content, style, callback=on_iteration, options=opts)
    finally:
        for bar in bars:
            bar.close()
    if result.stopped == Stop.INTERRUPTED and not result.history:  # stopped before its first iteration
        raise KeyboardInterrupt  # the command line's one line: nothing was written (the checkpoint is as it was)
    history = previous + _offset(result.history, done, prev_elapsed)
    save_image(result.image, output)
    if result.maps is not None:
        print(f"nstyle: {result.maps.summary()}", file=sys.stderr)
        if save_maps is not None:
            save_maps.mkdir(parents=True, exist_ok=True)
            named = result.maps.named_images()  # under the names map_paths checked before the run
            for name, image in named.items():
                save_image(image, save_maps / name)
            print(f"nstyle: wrote the maps to {save_maps}/ ({', '.join(named)})", file=sys.stderr)
    write_history_csv(history, sidecar(output, ".losses.csv"))
    if plot:
        plot_history(history, sidecar(output, ".losses.png"), title=f"nstyle {opts.model}, {opts.size} px")
    n = len(history)
    if result.stopped == Stop.INTERRUPTED:
        checkpoint.save(result.image, history, n)
        print(f"nstyle: interrupted after {n} iterations; best image so far written to {output}; "
              "continue with --resume", file=sys.stderr)
        return INTERRUPTED
    checkpoint.remove()
    if result.stopped == Stop.NON_FINITE:
        print(f"nstyle: the loss stopped being finite after {n} iterations; best image written to {output}; "
              "try a smaller --lr or another --optimizer", file=sys.stderr)
        return FAILED
    print(f"wrote {output} ({n} iterations in {history[-1].elapsed:.0f}s)" if history else f"wrote {output}")
    return OK
