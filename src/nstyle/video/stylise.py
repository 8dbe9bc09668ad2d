"""Stylise a sequence of frames so that it does not flicker (Ruder, Dosovitskiy and Brox, 2016).

Each frame starts from the previous stylised frame warped by the optical flow of the input, and its loss
gets a temporal term that keeps it close to that warped frame where the flow is reliable (``temporal``).
The first frame is an ordinary transfer with the engine's schedule (``engine.run``); every later frame runs
``iterations`` at the final size from its warped start, which is already close. Options:

* long-term consistency: also tie each frame to frames 10, 20 and 40 back (Ruder et al.'s J), each only
  where the nearer ones are occluded, so that something hidden for a moment comes back as it was;
* several passes: after the forward pass, passes alternate direction and start each frame from a blend of
  its current stylisation and the warped neighbour (delta = 0.5), which spreads consistency both ways and
  repairs the first frames; each later pass runs half the iterations.

A clip is first split into shots at its cuts (``shots``; ``VideoSettings.cuts`` and ``cut_threshold``). No
frame is warped from, or held to, a frame of another shot: the first frame of every shot is an ordinary
transfer like the clip's first frame (from ``--init``, with the engine's schedule), and neither the temporal
term nor the long-term ones, in any pass, reach across a cut.

Every finished frame is written at once (atomically) to the output folder together with a small state file,
so an interrupted run continues with ``resume=True`` from the first unfinished frame; the state file goes
when the last frame is written. The state file records the run's identity (the frames' pixels, every style, mask,
map, ``--init`` and ``--weights`` file's sha256, every option and video setting): a resume with any of them
changed is refused, naming what changed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from ..core.engine import ImageInput, Painter, load_network, run, seed_everything, select_device
from ..core.identity import described_differences, run_identity
from ..core.memory import check_fits
from ..core.optim import IterationRecord
from ..core.options import input_files, options_from
from ..core.stops import Stop
from ..errors import UsageError
from ..io.atomic import write_json
from ..io.fingerprint import pixels_digest
from ..io.images import (
    as_image,
    load_image,
    one_or_many,
    output_folder,
    resize_to_long_side,
    save_image,
)
from ..io.paths import refuse_overwriting_inputs
from ..io.videofile import FRAME_NAME
from .flow import frame_flow, warp
from .settings import DEFAULT_TEMPORAL_WEIGHT, VideoSettings  # noqa: F401 (part of this module's API)
from .shots import find_cuts, shot_ranges
from .temporal import TemporalLoss, long_term_masks, with_temporal

LONG_TERM_OFFSETS = (1, 10, 20, 40)  # Ruder et al.'s J for long-term consistency
PASS_BLEND = 0.5  # delta of the multi-pass algorithm: how much of the warped neighbour a new pass starts from
STATE_NAME = ".nstyle-video.json"

FrameCallback = Callable[[int, IterationRecord, torch.Tensor], None]


@dataclass
class FrameReport:
    frame: int  # 1-based
    pass_: int  # 1-based
    iterations: int
    seconds: float
    loss: float
    temporal: float  # unweighted masked mean squared distance to the warped neighbour(s); 0 for none


@dataclass
class VideoResult:
    paths: list[Path]  # every frame's file, in order (those not yet written too, when interrupted)
    stopped: str  # "completed" or "interrupted"
    reports: list[FrameReport] = field(default_factory=list)  # frames optimised by this call
    seconds: float = 0.0
    shots: list[range] = field(default_factory=list)  # 0-based frame ranges, split at the cuts found


def clip_shots(frames: Sequence[ImageInput], settings: VideoSettings) -> list[range]:
    """The shots of ``frames`` (0-based ranges): split at the cuts ``shots.find_cuts`` finds, or one shot when
    ``settings.cuts`` is off."""
    images = [as_image(f) for f in frames]
    cuts = find_cuts(images, settings.cut_threshold, settings.flow) if settings.cuts and len(images) > 1 else []
    return shot_ranges(len(images), cuts)


def plan(frames: int, passes: int) -> list[tuple[int, int, int]]:
    """Every step as (pass, frame index, direction): pass 0 forward, then alternately backward and forward."""
    steps = []
    for p in range(passes):
        direction = 1 if p % 2 == 0 else -1
        order = range(frames) if direction == 1 else range(frames - 1, -1, -1)
        steps += [(p, i, direction) for i in order]
    return steps


#: The options a resume may change: how the arithmetic is done (``auto`` precision follows the device anyway).
#: Unlike a still image's, ``iterations`` is each frame's share, not how far to go: it must stay.
RESUME_MAY_CHANGE = ("device", "precision")


class RunState:
    """The state file in the output folder: what the run is and how many steps are finished."""

    def __init__(self, folder: Path, description: dict):
        self.path = folder / STATE_NAME
        self.description = json.loads(json.dumps(description))

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> int:
        check_resumable(self.path.parent)
        try:
            data = json.loads(self.path.read_text())
            done = int(data["done"])
            described = data["run"]
        except (ValueError, KeyError, TypeError) as err:
            raise UsageError(f"--resume: {self.path} is damaged ({err}); delete the folder and start afresh") from None
        if not isinstance(described, dict) or "inputs" not in described:
            raise UsageError(f"--resume: {self.path} was written by an older nstyle and does not record the run's "
                             "inputs; start afresh in another folder")
        changed = described_differences(described, self.description)
        if changed:
            raise UsageError(f"--resume: the unfinished run was made with {changed}; give the same input, style "
                             "and options, or start afresh in another folder")
        return done

    def save(self, done: int) -> None:
        write_json(self.path, {"done": done, "run": self.description})

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def check_resumable(folder: Path) -> None:
    """Fail early when ``--resume`` has nothing to continue."""
    if not (folder / STATE_NAME).is_file():
        raise UsageError(f"--resume: {folder} holds no unfinished run ({STATE_NAME}); run without --resume to start "
                         "afresh")


def check_folder(folder: Path, resume: bool) -> None:
    """Refuse to mix a new run with an old one's frames (before any work; the folder is made later)."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder; give a folder or a video file name")
    if not resume and folder.is_dir():
        if (folder / STATE_NAME).exists():
            raise UsageError(f"{folder} holds an unfinished run; continue it with --resume, or delete the folder "
                             "to start afresh")
        if any(folder.glob("frame_*.png")):
            raise UsageError(f"{folder} already holds stylised frames; delete them or choose another output")


def prepare_folder(folder: Path, resume: bool) -> None:
    """Refuse to mix a new run with an old one's frames; create the folder."""
    check_folder(folder, resume)
    output_folder(folder, "give a folder or a video file name")


class Progress:
    """Two bars on stderr: the whole run (with the time left) and the frame being optimised."""

    def __init__(self, total: int, done: int, quiet: bool):
        from tqdm import tqdm

        self.tqdm, self.quiet = tqdm, quiet
        self.overall = tqdm(total=total, initial=done, unit="it", desc="video", position=0, disable=quiet,
                            file=sys.stderr, dynamic_ncols=True, smoothing=0.05)
        self.frame = None

    def start(self, label: str, iterations: int) -> None:
        self.overall.set_description(label, refresh=False)
        self.frame = self.tqdm(total=iterations, unit="it", desc="  this frame", position=1, leave=False,
                               disable=self.quiet, file=sys.stderr, dynamic_ncols=True)

    def step(self, record: IterationRecord) -> None:
        self.frame.update(1)
        self.overall.update(1)
        self.frame.set_postfix(loss=f"{record.total:.4g}", refresh=False)

    def finish(self, planned: int, used: int, message: str) -> None:
        self.frame.close()
        if used < planned:  # a stopping rule ended the frame early: keep the time left honest
            self.overall.update(planned - used)
        if not self.quiet:
            self.tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        if self.frame is not None:
            self.frame.close()
        self.overall.close()


def _to_array(image: torch.Tensor | PIL.Image.Image) -> np.ndarray:
    if isinstance(image, PIL.Image.Image):
        return np.asarray(image, dtype=np.float32) / 255.0
    return image.detach().to("cpu", torch.float32)[0].permute(1, 2, 0).numpy().copy()


def _to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return (t.permute(2, 0, 1) if t.dim() == 3 else t[None]).unsqueeze(0).to(device)


def stylise_frames(
    frames: Sequence[ImageInput],
    style: ImageInput | Sequence[ImageInput],
    folder: str | os.PathLike,
    options: dict | None = None,
    settings: VideoSettings | None = None,
    resume: bool = False,
    quiet: bool = True,
    callback: FrameCallback | None = None,
    keep_state: bool = False,
) -> VideoResult:
    """Stylise ``frames`` in order into ``folder`` as frame_00001.png, ...; see the module's docstring.

    ``options`` are ``TransferOptions`` fields (``size`` is the long side of every frame); ``callback(frame,
    record, image)`` runs after every iteration (frame 0-based) and may raise ``KeyboardInterrupt`` or
    ``StopOptimization`` like the engine's callback. ``keep_state`` leaves the state file when every frame is
    done, for a caller with work left (encoding the video) that a resume must still reach. A Ctrl-C before the
    first frame's work starts (the network loading) writes nothing and comes through as KeyboardInterrupt.
    """
    options, frames = dict(options or {}), list(frames)
    refuse_overwriting_inputs({}, {"a frame": frames, "the style image": one_or_many(style)}
                              | input_files(options), {"the frames folder": folder}, advice="give another folder")
    settings = settings or VideoSettings()
    settings.check()
    opts = options_from(**options)
    folder = Path(folder)
    if frames:  # before the frames are resized to a size that may not fit
        check_fits(opts, frames[0], style)
    images = [resize_to_long_side(as_image(f), opts.size) for f in frames]
    if not images:
        raise UsageError("no frames to stylise")
    if len({im.size for im in images}) > 1:
        raise UsageError("the frames differ in size; give frames of one size")
    originals = [as_image(s) for s in one_or_many(style)]
    Painter(images[0], originals, opts, backbone=None)  # every option and input checked before any work

    frames_print = {"name": f"{len(images)} frames", "sha256": pixels_digest(*images)}
    description = run_identity(None, style, opts, free=RESUME_MAY_CHANGE, inputs={"frames": [frames_print]},
                               settings=dataclasses.asdict(settings))
    state = RunState(folder, description)
    done = state.load() if resume else 0
    check_folder(folder, resume)
    paths = [folder / FRAME_NAME.format(i + 1) for i in range(len(images))]
    steps = plan(len(images), settings.passes)
    stylised: list[np.ndarray | None] = [None] * len(images)
    for _, i, _ in steps[:done]:
        stylised[i] = _to_array(load_image(paths[i]))

    device = select_device(opts.device)
    seed_everything(opts.seed)
    backbone = load_network(opts, device) if done < len(steps) else None  # interruptible: nothing written yet
    prepare_folder(folder, resume)
    state.save(done)
    contents = [np.asarray(im) for im in images]
    shots = clip_shots(images, settings)
    shot_of = [k for k, shot in enumerate(shots) for _ in shot]
    offsets = LONG_TERM_OFFSETS if settings.long_term else (1,)

    def planned(p: int, i: int) -> int:
        if p == 0 and i == shots[shot_of[i]].start:  # a shot's first frame runs the engine's whole schedule
            return opts.planned_iterations()
        return opts.iterations if p == 0 else max(1, opts.iterations // 2)

    progress = Progress(sum(planned(p, i) for p, i, _ in steps), sum(planned(p, i) for p, i, _ in steps[:done]),
                        quiet)
    reports: list[FrameReport] = []
    start = time.perf_counter()
    stopped = Stop.COMPLETED
    try:
        for k in range(done, len(steps)):
            p, i, direction = steps[k]
            progress.start(f"frame {i + 1}/{len(images)}" + (f", pass {p + 1}/{settings.passes}"
                                                               if settings.passes > 1 else ""), planned(p, i))

            def on_iteration(record: IterationRecord, image: torch.Tensor, i=i) -> None:
                progress.step(record)
                if callback is not None:
                    callback(i, record, image)

            t0 = time.perf_counter()
            # The frames 1, 10, 20, 40 back in this pass's direction, of the same shot: none across a cut.
            neighbours = [i - direction * j for j in offsets if i - direction * j in shots[shot_of[i]]]
            if p == 0 and not neighbours:  # a shot's first frame: an ordinary transfer
                result = run(images[i], originals, callback=on_iteration, backbone=backbone, **options)
                picture, history, how, temporal_value = result.image, result.history, result.stopped, 0.0
            else:
                picture, history, how, temporal_value = _stylise_one(
                    p, i, neighbours, contents, stylised, opts, settings, backbone, originals, device,
                    planned(p, i), on_iteration)
            if how == Stop.INTERRUPTED:
                stopped = Stop.INTERRUPTED
                break
            save_image(picture, paths[i])
            stylised[i] = _to_array(picture)  # as saved, so that a resumed run continues from the same frames
            state.save(k + 1)
            seconds = time.perf_counter() - t0
            reports.append(FrameReport(i + 1, p + 1, len(history), seconds, history[-1].total if history else 0.0,
                                       temporal_value))
            progress.finish(planned(p, i), len(history),
                            f"frame {i + 1}/{len(images)}" + (f" (pass {p + 1})" if settings.passes > 1 else "")
                            + f": {len(history)} iterations in {seconds:.1f}s"
                            + (f", temporal error {temporal_value:.2e}" if temporal_value else ""))
    except KeyboardInterrupt:
        stopped = Stop.INTERRUPTED
    finally:
        progress.close()
    if stopped == Stop.COMPLETED and not keep_state:
        state.remove()  # every frame is in the folder; nothing is left to resume
    return VideoResult(paths, stopped, reports, time.perf_counter() - start, shots)


def _stylise_one(p, i, neighbours, contents, stylised, opts, settings, backbone, styles, device, iterations,
                 on_iteration):
    """One frame after the first, through the same painter as a still image (so every option applies): a warped
    start, and the temporal loss against the warped neighbour(s) added to the painter's objective."""
    painter = Painter(PIL.Image.fromarray(contents[i]), styles, opts, backbone=backbone)
    targets, masks = [], []
    for n in neighbours:
        flow, mask = frame_flow(contents[i], contents[n], settings.flow)
        targets.append(painter.working(_to_tensor(warp(stylised[n], flow), device)))
        masks.append(_to_tensor(mask, device))
    temporal = None
    if targets:
        weights = long_term_masks(masks) if len(masks) > 1 else masks
        temporal = TemporalLoss(targets, weights)
    current = painter.working(_to_tensor(stylised[i], device)) if stylised[i] is not None else None
    if p == 0:
        init = targets[0]
    elif targets:  # a later pass: blend the frame as it is with its warped, already updated neighbour
        init = PASS_BLEND * masks[0] * targets[0] + (1 - PASS_BLEND * masks[0]) * current
    else:
        init = current

    def extra(objective, compose):
        return with_temporal(objective, temporal, settings.temporal_weight, compose)

    outcome, image = painter.paint(opts.size, iterations, init, on_iteration, extra if temporal is not None else None)
    with torch.no_grad():
        value = float(temporal(image)) if temporal is not None else 0.0
    return painter.picture(image), outcome.history, outcome.stopped, value
