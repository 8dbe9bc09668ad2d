"""Stylise a sequence of frames so that it does not flicker (Ruder, Dosovitskiy and Brox, 2016): the run.

A clip is first split into shots at its cuts (``shots``; ``VideoSettings.cuts`` and ``cut_threshold``), and each
shot is painted frame by frame (``shot``): its first frame an ordinary transfer, every later one started from
its neighbour warped by the optical flow and held to it. No frame is warped from, or held to, a frame of another
shot, so the shots are independent: painted one after another here, or side by side by a ``ShotRunner`` (worker
processes or Ray tasks: ``nstyle.jobs.shots``) and joined in order.

Every finished frame is written at once (atomically) to the output folder together with a small state file,
so an interrupted run continues with ``resume=True``: each shot from its first unfinished frame (a shot that a
worker was painting, from the last frame that worker finished); the state file goes when the last frame is
written. The state file records the run's identity (the frames' pixels, every style, mask, map, ``--init`` and
``--weights`` file's sha256, every option and video setting) and the shots: a resume with any of them changed is
refused, naming what changed.
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

import PIL.Image

from ..core.engine import ImageInput, check, load_network, select_device
from ..core.feedforward import FastPainter
from ..core.identity import described_differences, fingerprint, run_identity
from ..core.memory import check_fits
from ..core.optim import IterationRecord
from ..core.options import input_files, options_from
from ..core.stops import Stop
from ..errors import NstyleError, UsageError
from ..io.atomic import remove_leftovers, write_json
from ..io.fingerprint import pixels_digest
from ..io.images import as_image, load_image, one_or_many, output_folder, resize_to_long_side, save_image
from ..io.paths import refuse_overwriting_inputs
from ..io.videofile import FRAME_NAME
from .fastshot import check_fast_settings, paints_in_one_pass
from .masks import frame_options, per_frame_files
from .settings import DEFAULT_TEMPORAL_WEIGHT, VideoSettings  # noqa: F401 (part of this module's API)
from .shot import FrameReport, ShotWork, paint_shot, plan  # noqa: F401 (plan: part of the API)
from .shots import find_cuts, shot_ranges

STATE_NAME = ".nstyle-video.json"
#: The options a resume may change: how the arithmetic is done (``auto`` precision follows the device anyway).
#: Unlike a still image's, ``iterations`` is each frame's share, not how far to go: it must stay.
RESUME_MAY_CHANGE = ("device", "precision")

FrameCallback = Callable[[int, IterationRecord, "torch.Tensor"], None]  # noqa: F821 (torch loads with the engine)


@dataclass
class VideoResult:
    paths: list[Path]  # every frame's file, in order (those not yet written too, when interrupted)
    stopped: str  # "completed" or "interrupted"
    reports: list[FrameReport] = field(default_factory=list)  # frames optimised by this call, as they finished
    seconds: float = 0.0
    shots: list[range] = field(default_factory=list)  # 0-based frame ranges, split at the cuts found


@dataclass
class ShotOutcome:
    """What a ``ShotRunner`` hands back for one shot: the steps it finished, in order, as (step, frame index,
    picture, report), and ``error`` when it failed (the steps before the failure still count)."""

    index: int
    steps: list[tuple[int, int, PIL.Image.Image, FrameReport]]
    error: str = ""
    node: str = ""  # the Ray node that painted it, if one did


#: Paints shots elsewhere: ``runner(works, on_progress, on_outcome)`` calls ``on_progress(shot, iterations)`` as a
#: shot's evaluations advance (counted from its ``done``) and ``on_outcome`` once a shot, and returns when every
#: shot has its outcome. On KeyboardInterrupt it stops the shots, hands over what they finished, and re-raises.
ShotRunner = Callable[[list[ShotWork], Callable[[int, int], None], Callable[[ShotOutcome], None]], None]


def clip_shots(frames: Sequence[ImageInput], settings: VideoSettings) -> list[range]:
    """The shots of ``frames`` (0-based ranges): split at the cuts ``shots.find_cuts`` finds, or one shot when
    ``settings.cuts`` is off."""
    images = [as_image(f) for f in frames]
    cuts = find_cuts(images, settings.cut_threshold, settings.flow) if settings.cuts and len(images) > 1 else []
    return shot_ranges(len(images), cuts)


class RunState:
    """The state file in the output folder: what the run is, and how many steps of each shot are finished."""

    def __init__(self, folder: Path, description: dict):
        self.path = folder / STATE_NAME
        self.description = json.loads(json.dumps(description))

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self, shots: int) -> list[int]:
        check_resumable(self.path.parent)
        try:
            data = json.loads(self.path.read_text())
            done, described = data["done"], data["run"]
            if isinstance(done, list):
                done = [int(d) for d in done]
        except (ValueError, KeyError, TypeError) as err:
            raise UsageError(f"--resume: {self.path} is damaged ({err}); delete the folder and start afresh") from None
        if not isinstance(described, dict) or "inputs" not in described or not isinstance(done, list):
            raise UsageError(f"--resume: {self.path} was written by an older nstyle and does not record the run's "
                             "inputs and shots; start afresh in another folder")
        changed = described_differences(described, self.description)
        if changed:
            raise UsageError(f"--resume: the unfinished run was made with {changed}; give the same input, style "
                             "and options, or start afresh in another folder")
        if len(done) != shots:
            raise UsageError(f"--resume: {self.path} is damaged (it counts {len(done)} shots, not {shots}); delete "
                             "the folder and start afresh")
        return done

    def save(self, done: list[int]) -> None:
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
        self.write(message)

    def advance(self, iterations: int) -> None:
        """Evaluations done elsewhere (a worker's shot)."""
        self.overall.update(iterations)

    def write(self, message: str) -> None:
        if not self.quiet:
            self.tqdm.write(message, file=sys.stderr)

    def close(self) -> None:
        if self.frame is not None:
            self.frame.close()
        self.overall.close()




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
    runner: ShotRunner | None = None,
    shots: list[range] | None = None,
) -> VideoResult:
    """Stylise ``frames`` in order into ``folder`` as frame_00001.png, ...; see the module's docstring.

    ``options`` are ``TransferOptions`` fields (``size`` is the long side of every frame); ``mask`` and
    ``content_map`` may name a folder of one image a frame (``video.masks``). ``callback(frame, record, image)``
    runs after every iteration (frame 0-based) and may raise ``KeyboardInterrupt`` or ``StopOptimization`` like
    the engine's callback (not with a ``runner``, whose shots run elsewhere). ``keep_state`` leaves the state
    file when every frame is done, for a caller with work left (encoding the video) that a resume must still
    reach. ``runner`` paints the shots elsewhere (``ShotRunner``); without one they are painted here in order.
    ``shots``: the clip's shots when the caller has found them already (``clip_shots``).
    A Ctrl-C before the first frame's work starts (the network loading) writes nothing and comes through as
    KeyboardInterrupt.
    """
    options, frames = dict(options or {}), list(frames)
    refuse_overwriting_inputs({}, {"a frame": frames, "the style image": one_or_many(style)}
                              | input_files(options), {"the frames folder": folder}, advice="give another folder")
    settings = settings or VideoSettings()
    settings.check()
    if not frames:
        raise UsageError("no frames to stylise")
    per_frame = per_frame_files(options, len(frames))
    opts = options_from(**frame_options(options, per_frame, 0))
    settings = settings.for_method(opts.method)
    if paints_in_one_pass(opts.method):
        check_fast_settings(settings)
    if opts.auto_maps is not None:
        raise UsageError("--auto-maps finds each picture's regions anew, and on a video they would jump from frame to "
                         "frame; give --content-map a folder of one map a frame (nstyle transfer --save-maps makes one "
                         "from a still) with --style-map")
    folder = Path(folder)
    check_fits(opts, frames[0], style)  # before the frames are resized to a size that may not fit
    images = [resize_to_long_side(as_image(f), opts.size) for f in frames]
    if len({im.size for im in images}) > 1:
        raise UsageError("the frames differ in size; give frames of one size")
    originals = [as_image(s) for s in one_or_many(style)]
    check(opts, images[0], originals)  # every option and input checked before any work

    shots = shots if shots is not None else clip_shots(images, settings)
    inputs = {"frames": [{"name": f"{len(images)} frames", "sha256": pixels_digest(*images)}]}
    inputs |= {name: [fingerprint(f) for f in files] for name, files in per_frame.items()}
    shared_options = options_from(**{k: v for k, v in options.items() if k not in per_frame})
    description = run_identity(None, style, shared_options, free=RESUME_MAY_CHANGE, inputs=inputs,
                               settings=dataclasses.asdict(settings) | {"shots": [[s.start, s.stop] for s in shots]})
    state = RunState(folder, description)
    done = state.load(len(shots)) if resume else [0] * len(shots)
    check_folder(folder, resume)
    paths = [folder / FRAME_NAME.format(i + 1) for i in range(len(images))]
    if resume:  # what a killed run could not tidy (its one writer is this run)
        for path in [state.path, *paths]:
            remove_leftovers(path)

    def work(k: int, shot: range) -> ShotWork:
        finished = {i for _, i, _ in plan(len(shot), settings.passes)[:done[k]]}
        return ShotWork(k, shot.start, images[shot.start:shot.stop], originals, options, settings,
                        {name: files[shot.start:shot.stop] for name, files in per_frame.items()}, done[k],
                        [load_image(paths[shot.start + i]) if i in finished else None for i in range(len(shot))])

    works = [work(k, shot) for k, shot in enumerate(shots)]
    planned = [[w.planned(k) for k in range(len(w.steps))] for w in works]
    progress = Progress(sum(map(sum, planned)), sum(sum(n[:d]) for n, d in zip(planned, done)), quiet)
    reports: list[FrameReport] = []
    start = time.perf_counter()
    unfinished = [w for w in works if w.done < len(w.steps)]

    def finished(shot: int, step: int, i: int, picture: PIL.Image.Image, report: FrameReport) -> None:
        save_image(picture, paths[i])
        done[shot] = step + 1
        state.save(done)
        reports.append(report)

    if runner is not None and len(unfinished) > 1:
        stopped = _run_elsewhere(runner, unfinished, planned, progress, finished, folder, resume, state, done)
    else:
        device = select_device(opts.device)
        network = FastPainter.load if paints_in_one_pass(opts.method) else lambda d: load_network(opts, d)
        backbone = network(device) if unfinished else None  # interruptible: nothing written yet
        prepare_folder(folder, resume)
        state.save(done)
        stopped = _run_here(unfinished, planned, len(images), backbone, progress, finished, callback)
    if stopped == Stop.COMPLETED and not keep_state:
        state.remove()  # every frame is in the folder; nothing is left to resume
    return VideoResult(paths, stopped, reports, time.perf_counter() - start, shots)


def _run_here(works, planned, count, backbone, progress, finished, callback) -> str:
    """Every unfinished shot in order, in this process, with one network."""
    try:
        for w in works:
            def on_iteration(i: int, record: IterationRecord, image) -> None:
                progress.step(record)
                if callback is not None:
                    callback(i, record, image)

            def on_step(k: int, i: int, picture, report: FrameReport, w=w) -> None:
                finished(w.index, k, i, picture, report)
                progress.finish(planned[w.index][k], report.iterations, _frame_line(report, count, w.settings))
                if k + 1 < len(w.steps):
                    progress.start(_label(w.steps[k + 1], count, w.settings), planned[w.index][k + 1])

            progress.start(_label(w.steps[w.done], count, w.settings), planned[w.index][w.done])
            how = paint_shot(w, on_step, on_iteration, backbone=backbone)
            if how != Stop.COMPLETED:
                return Stop.INTERRUPTED
    except KeyboardInterrupt:
        return Stop.INTERRUPTED
    finally:
        progress.close()
    return Stop.COMPLETED


def _run_elsewhere(runner, works, planned, progress, finished, folder, resume, state, done) -> str:
    """The unfinished shots side by side through ``runner``; their frames are written here as each shot returns."""
    prepare_folder(folder, resume)
    state.save(done)
    counted = {w.index: 0 for w in works}
    errors = []

    def on_progress(shot: int, iterations: int) -> None:
        progress.advance(max(0, iterations - counted[shot]))
        counted[shot] = max(counted[shot], iterations)

    def on_outcome(outcome: ShotOutcome) -> None:
        for k, i, picture, report in outcome.steps:
            finished(outcome.index, k, i, picture, report)
        owed = sum(planned[outcome.index][done[outcome.index] - len(outcome.steps):done[outcome.index]])
        progress.advance(max(0, owed - counted[outcome.index]))  # early stops, and progress not yet reported
        counted[outcome.index] = max(counted[outcome.index], owed)
        if outcome.error:
            errors.append(outcome.error)
        elif not progress.quiet:
            shot = next(w for w in works if w.index == outcome.index).shot
            where = f" on Ray node {outcome.node.split()[0]}" if outcome.node else ""
            progress.write(f"shot {outcome.index + 1} (frames {shot.start + 1}-{shot.stop}): "
                           f"{len(outcome.steps)} frames in {sum(s[3].seconds for s in outcome.steps):.0f}s{where}")

    try:
        runner(works, on_progress, on_outcome)
    except KeyboardInterrupt:
        return Stop.INTERRUPTED
    finally:
        progress.close()
    if errors:
        raise NstyleError(f"a shot failed: {errors[0]}")
    return Stop.COMPLETED if all(d == len(p) for d, p in zip(done, planned)) else Stop.INTERRUPTED


def _label(step: tuple[int, int, int], count: int, settings: VideoSettings) -> str:
    p, i, _ = step
    return f"frame {i + 1}/{count}" + (f", pass {p + 1}/{settings.passes}" if settings.passes > 1 else "")


def _frame_line(report: FrameReport, count: int, settings: VideoSettings) -> str:
    return (f"frame {report.frame}/{count}" + (f" (pass {report.pass_})" if settings.passes > 1 else "")
            + f": {report.iterations} iterations in {report.seconds:.1f}s"
            + (f", temporal error {report.temporal:.2e}" if report.temporal else ""))
