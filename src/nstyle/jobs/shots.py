"""A video's shots painted side by side on the batch executors: worker processes, or Ray tasks across a cluster.

No frame of a shot is warped from another shot (``nstyle.video.shots``), so each shot is a job of its own
(``JobSpec.kind == "shot"``, painted by ``spec.execute``) that carries its frames as bytes and brings its
stylised frames back as PNGs;
``executor_runner`` makes a ``nstyle.video.stylise.ShotRunner`` of any executor, and the video run writes each
shot's frames into its folder, in order, as the shot comes back. A stopped shot (Ctrl-C, SIGTERM) brings back
the frames it finished, so a resume continues each shot from there.
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait

import PIL.Image

from .spec import STEPS_FILE, InputImage, JobOutcome, JobSpec, ShotJob, carried, encode_png
from .status import JobStatus


def _image(value) -> InputImage:
    """A file option's value (a path, or an image in memory) as bytes that travel."""
    if isinstance(value, PIL.Image.Image):
        return InputImage("image.png", encode_png(value))
    return InputImage.read(value)


def shot_spec(work) -> JobSpec:
    """``work`` (a ``ShotWork``) as a job: every image as bytes, the files its options name with it."""
    options, files = carried({k: v for k, v in work.options.items() if k not in work.per_frame}, _image)
    frames = [InputImage(f"frame{i}.png", encode_png(f)) for i, f in enumerate(work.frames)]
    shot = ShotJob(work.index, work.start, frames, dataclasses.asdict(work.settings),
                   {name: [_image(f) for f in paths] for name, paths in work.per_frame.items()}, work.done,
                   [InputImage(f"done{i}.png", encode_png(s)) if s is not None else None
                    for i, s in enumerate(work.stylised)])
    styles = [InputImage(f"style{i}.png", encode_png(s)) for i, s in enumerate(work.styles)]
    return JobSpec(frames[0], styles, options, files, kind="shot", shot=shot)


def shot_outcome(index: int, outcome: JobOutcome):
    """A shot job's outcome as the video run takes it (``ShotOutcome``)."""
    from ..video.shot import FrameReport
    from ..video.stylise import ShotOutcome

    steps = []
    for entry in json.loads(outcome.files.get(STEPS_FILE, b"[]")):
        k, i = entry["step"], entry["frame"]
        picture = PIL.Image.open(io.BytesIO(outcome.files[f"{k:05d}-{i:05d}.png"])).convert("RGB")
        steps.append((k, i, picture, FrameReport(**entry["report"])))
    return ShotOutcome(index, steps, outcome.error if outcome.status == JobStatus.FAILED else "", outcome.node)


def executor_runner(executor) -> Callable:
    """A ``ShotRunner`` that paints each shot as a job of ``executor`` (``jobs.executors``), all submitted at once
    (the executor runs as many side by side as it has workers). A KeyboardInterrupt cancels every shot, waits for
    each to hand back the frames it finished, and goes on up."""

    def runner(works, on_progress, on_outcome) -> None:
        stop = threading.Event()
        pending = {}
        for work in works:
            def report(progress, shot=work.index) -> None:
                on_progress(shot, progress.iteration)

            pending[executor.submit(shot_spec(work), on_progress=report, cancel=stop)] = work.index
        try:
            while pending:
                finished, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    on_outcome(shot_outcome(pending.pop(future), future.result()))
        except KeyboardInterrupt:
            stop.set()
            for future, index in pending.items():
                on_outcome(shot_outcome(index, future.result()))
            raise

    return runner
