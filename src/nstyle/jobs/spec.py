"""A job, self-contained, and how one runs in this process: what ``nstyle batch``, ``nstyle serve`` and
``nstyle video`` hand to an executor.

A :class:`JobSpec` carries its images as bytes (content, styles, and any image an option names, such as a
mask) and its options as plain values, so it can travel to another process or a Ray node with no shared file
system. :func:`execute` runs one in the current process: progress goes to a callback, a cancel flag stops it
with the image so far, and a job's own failure (a bad image, bad options) never raises: the :class:`JobOutcome`
says ``failed`` (``nstyle.jobs.status``) with the one-line reason. An :class:`Executor` runs many jobs and returns
futures of outcomes: :class:`ThreadExecutor` here, one at a time on a thread of this process; worker processes
and Ray in ``nstyle.jobs.executors``.

A job is a transfer (``kind="transfer"``, the default), a backbone comparison (``kind="compare"``: the content and
one style through ``nstyle.eval.compare`` on ``options["models"]``; its grid, plots and tables come back as bytes in
``JobOutcome.files``), or one shot of a video (``kind="shot"``: ``JobSpec.shot`` carries its frames, and its
stylised frames come back in ``JobOutcome.files``; ``nstyle.jobs.shots``), so each travels to an executor like any
other job.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import PIL.Image

from ..core.stops import Stop
from ..io.fingerprint import bytes_digest, file_digest
from .status import JobStatus

T = TypeVar("T")

#: Options whose values name image files: their files travel with the job.
FILE_OPTIONS = ("mask", "content_map", "style_map", "init")
#: Options a job cannot carry to another machine.
LOCAL_ONLY_OPTIONS = ("weights",)
#: What a job can be: one transfer, or the same transfer on several backbones (``nstyle.eval.compare``).
JOB_KINDS = ("transfer", "compare", "shot")
#: What a request may ask for (a shot job is made by ``nstyle video`` only, from a clip it has read).
REQUEST_KINDS = ("transfer", "compare")
STEPS_FILE = "steps.json"  # in a shot job's files: each finished step, its frame and report, in order


@dataclass(frozen=True)
class InputImage:
    """An image file's name (no directory: for messages and output names) and its bytes."""

    name: str
    data: bytes = field(repr=False)

    @classmethod
    def read(cls, path: str | Path) -> InputImage:
        """The file's bytes, or a one-line ImageError (missing, a directory, empty, unreadable)."""
        from ..errors import ImageError
        from ..io.images import checked_image_path

        path = Path(path)
        name = checked_image_path(path)
        try:
            return cls(path.name, path.read_bytes())
        except OSError as err:
            raise ImageError(f"cannot read {name}: {err.strerror or err}") from None

    def decode(self) -> PIL.Image.Image:
        from ..io.images import decode_image

        return decode_image(self.data, self.name)

    @property
    def digest(self) -> str:
        return bytes_digest(self.data)


@dataclass
class ShotJob:
    """One shot of a video (``nstyle.video.shot.ShotWork``) as bytes: its frames, the per-frame files (masks,
    content maps) and the frames already stylised, with the video settings and the steps already done."""

    index: int
    start: int
    frames: list[InputImage]
    settings: dict
    per_frame: dict[str, list[InputImage]] = field(default_factory=dict)
    done: int = 0
    stylised: list[InputImage | None] = field(default_factory=list)


@dataclass
class JobSpec:
    """What to paint: a content image, one or more styles, ``TransferOptions`` fields by name, and the files of
    the options that name files (``FILE_OPTIONS``; a list for ``style_map``). A ``compare`` job's options are
    ``nstyle.eval.compare``'s keywords (``models``, ``size``, ``iterations``, ``seed`` and transfer options)."""

    content: InputImage
    styles: list[InputImage]
    options: dict = field(default_factory=dict)
    option_files: dict[str, InputImage | list[InputImage]] = field(default_factory=dict)
    kind: str = "transfer"
    shot: ShotJob | None = None  # a shot job's frames

    def key(self) -> str:
        """Equal for jobs with the same input bytes and options: how a rerun knows a job is already done. A file
        that stays on this machine (``--weights``) counts by its bytes too, not by its name."""
        files = {k: [f.digest for f in v] if isinstance(v, list) else v.digest for k, v in self.option_files.items()}
        options = dict(self.options)
        for name in LOCAL_ONLY_OPTIONS:
            value = options.get(name)
            if isinstance(value, (str, os.PathLike)) and os.path.isfile(value):
                options[name] = {"sha256": file_digest(value)}
        described = {"content": self.content.digest, "styles": [s.digest for s in self.styles],
                     "options": options, "files": files}
        if self.kind != "transfer":  # transfer keys stay as they were before job kinds
            described["kind"] = self.kind
        text = json.dumps(described, sort_keys=True, default=str)
        return bytes_digest(text.encode())[:16]


@dataclass
class JobProgress:
    """One iteration of a running job; ``image`` (the picture so far) only every ``preview_every`` iterations."""

    iteration: int
    total: int  # planned evaluations over all levels (the run may stop earlier on convergence)
    elapsed: float
    loss: float
    content: float
    style: float
    image: PIL.Image.Image | None = None
    stage: str = ""  # a compare job: the backbone now running
    node: str = ""  # the Ray node computing it ("IP node-id"), empty on this machine
    rerun_of: str = ""  # set by the Ray executor on the first progress of a rerun: the node that was lost


@dataclass
class JobOutcome:
    """How a job ended: ``DONE``, ``CANCELLED`` (with the image so far) or ``FAILED`` (``error`` says why)."""

    status: JobStatus
    error: str = ""
    image: bytes | None = field(default=None, repr=False)  # PNG
    seconds: float = 0.0
    iterations: int = 0
    losses: dict[str, float] = field(default_factory=dict)  # the last iteration's total/content/style/tv
    history: list[dict] = field(default_factory=list, repr=False)
    files: dict[str, bytes] = field(default_factory=dict, repr=False)  # a compare job's grid.png, table.md, ...;
    # a transfer's maps found by --auto-maps (content_map.png, style_map.png); a shot's frames
    node: str = ""  # the Ray node that ran it ("IP node-id"), empty for this machine's processes
    note: str = ""  # what happened on the way, e.g. a lost node and the rerun

    def pil_image(self) -> PIL.Image.Image | None:
        return None if self.image is None else PIL.Image.open(io.BytesIO(self.image)).convert("RGB")


class _JobError(Exception):
    """A job's options are unusable (reported as ``failed``, like a UsageError)."""


def encode_png(image: PIL.Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def file_options(options: dict) -> list[str]:
    """The options whose values are files to carry (``init`` only when it names a file)."""
    from ..core.options import INIT_KEYWORDS

    return [k for k in FILE_OPTIONS if options.get(k) is not None
            and not (k == "init" and options[k] in INIT_KEYWORDS)]


def carried(options: dict, read: Callable[[object], InputImage] = InputImage.read) -> tuple[dict, dict]:
    """``options`` split into those that travel as values and the files they name, read by ``read`` (a list
    for a list of files): a job's ``options`` and ``option_files``."""
    names = file_options(options)
    files = {name: [read(v) for v in options[name]] if isinstance(options[name], (list, tuple))
             else read(options[name]) for name in names}
    return {k: v for k, v in options.items() if k not in names}, files


def write_files(name: str, files: list[InputImage], folder: Path) -> list[str]:
    """``files`` written into ``folder`` as NAME0.png, NAME1.jpg, ... (each keeps its suffix); their paths."""
    paths = []
    for i, f in enumerate(files):
        path = folder / f"{name}{i}{Path(f.name).suffix.lower() or '.png'}"
        path.write_bytes(f.data)
        paths.append(str(path))
    return paths


def _materialise(spec: JobSpec, folder: Path) -> dict:
    """The options with each carried file written to ``folder`` and its option pointing there."""
    options = dict(spec.options)
    for name, value in spec.option_files.items():
        paths = write_files(name, value if isinstance(value, list) else [value], folder)
        options[name] = paths if isinstance(value, list) else paths[0]
    return options


def execute(spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
            cancel: threading.Event | None = None, preview_every: int = 0) -> JobOutcome:
    """Run one job here and now; never raises for the job's own errors (only for bugs)."""
    if spec.kind == "compare":
        return _execute_compare(spec, on_progress, cancel, preview_every)
    if spec.kind == "shot":
        return _execute_shot(spec, on_progress, cancel)
    if spec.kind != "transfer":
        return JobOutcome(JobStatus.FAILED, error=f"unknown job kind {spec.kind!r}; use one of {', '.join(JOB_KINDS)}")
    from ..core.engine import run
    from ..core.optim import StopOptimization
    from ..core.options import options_from
    from ..io.images import tensor_to_image

    start = time.perf_counter()

    def paint():
        with tempfile.TemporaryDirectory(prefix="nstyle-job-") as tmp:
            options = _materialise(spec, Path(tmp))
            total = options_from(**options).planned_iterations()  # a bad or unknown option: a UsageError
            content = spec.content.decode()
            styles = [s.decode() for s in spec.styles]

            def callback(record, image) -> None:
                if cancel is not None and cancel.is_set():
                    raise StopOptimization(Stop.CANCELLED)
                if on_progress is not None:
                    preview = preview_every and (record.iteration % preview_every == 0 or record.iteration == 1)
                    on_progress(JobProgress(record.iteration, total, record.elapsed, record.total, record.content,
                                            record.style, tensor_to_image(image) if preview else None))

            return run(content, styles, callback=callback, **options)

    result = _guarded(paint, start, "give a smaller --size or a smaller --tile")
    if isinstance(result, JobOutcome):
        return result
    history = [r.as_dict() for r in result.history]
    last = history[-1] if history else {}
    if result.stopped == Stop.NON_FINITE:
        status, error = JobStatus.FAILED, "the loss stopped being finite; try a smaller lr or another optimizer"
    elif result.stopped in (Stop.CANCELLED, Stop.INTERRUPTED):
        status, error = JobStatus.CANCELLED, ""
    else:
        status, error = JobStatus.DONE, ""
    maps = {} if result.maps is None else {n: encode_png(m) for n, m in result.maps.named_images().items()}
    return JobOutcome(status, error, encode_png(result.image), time.perf_counter() - start, len(history),
                      {k: last[k] for k in ("total", "content", "style", "tv") if k in last}, history, files=maps)


def _execute_compare(spec: JobSpec, on_progress: Callable[[JobProgress], None] | None,
                     cancel: threading.Event | None, preview_every: int) -> JobOutcome:
    """``nstyle.eval.compare`` as a job: iterations count on across the backbones; a cancel keeps the finished ones
    (and the current one's image so far) in the grid and tables."""
    from ..core.optim import StopOptimization
    from ..eval.compare import DEFAULT_MODELS, compare
    from ..io.images import tensor_to_image

    start = time.perf_counter()
    options = dict(spec.options)
    models = list(options.pop("models", DEFAULT_MODELS))
    if spec.option_files:
        return JobOutcome(JobStatus.FAILED, error="a comparison takes no mask or map files")
    if len(spec.styles) != 1:
        return JobOutcome(JobStatus.FAILED, error=f"a comparison takes one style image, not {len(spec.styles)}")
    if not models:
        return JobOutcome(JobStatus.FAILED, error="a comparison needs at least one backbone")
    iterations = int(options.get("iterations", _compare_default("iterations")))
    total = iterations * len(models)

    def callback(model: str, record, image) -> None:
        if cancel is not None and cancel.is_set():
            raise StopOptimization(Stop.CANCELLED)
        if on_progress is not None:
            done = models.index(model) * iterations + record.iteration
            preview = preview_every and image is not None and (
                record.iteration % preview_every == 0 or record.iteration == 1)
            on_progress(JobProgress(done, total, time.perf_counter() - start, record.total, record.content,
                                    record.style, tensor_to_image(image) if preview else None, stage=model))

    def paint():
        with tempfile.TemporaryDirectory(prefix="nstyle-compare-") as tmp:
            try:
                runs = compare(spec.content.decode(), spec.styles[0].decode(), tmp, models=models, quiet=True,
                               log=lambda _line: None, callback=callback, **options)
            except TypeError as err:  # one of compare's own keywords given again (quiet, log, ...)
                raise _JobError(str(err)) from None
            return runs, {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.is_file()}

    outcome = _guarded(paint, start, "give a smaller size")
    if isinstance(outcome, JobOutcome):
        return outcome
    runs, files = outcome
    history = [{"model": r.model} | h.as_dict() for r in runs for h in r.history]
    last = runs[-1].history[-1].as_dict() if runs and runs[-1].history else {}
    stopped = len(runs) < len(models) or any(r.stopped in (Stop.CANCELLED, Stop.INTERRUPTED) for r in runs)
    return JobOutcome(JobStatus.CANCELLED if stopped else JobStatus.DONE, "", files.get("grid.png"),
                      time.perf_counter() - start, sum(len(r.history) for r in runs),
                      {k: last[k] for k in ("total", "content", "style", "tv") if k in last}, history, files)


def _execute_shot(spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
                 cancel: threading.Event | None = None) -> JobOutcome:
    """Paint a shot job here (in a worker): its finished frames come back as ``{step}-{frame}.png`` files and
    ``steps.json``, also when it is cancelled part way."""
    from ..core.optim import StopOptimization
    from ..video.settings import VideoSettings
    from ..video.shot import ShotWork, paint_shot

    start, shot = time.perf_counter(), spec.shot
    files: dict[str, bytes] = {}
    steps: list[dict] = []
    count = [0]

    def paint():
        with tempfile.TemporaryDirectory(prefix="nstyle-shot-") as tmp:
            options = _materialise(spec, Path(tmp))
            per_frame = {name: write_files(f"{name}-frame", images, Path(tmp))
                         for name, images in shot.per_frame.items()}
            work = ShotWork(shot.index, shot.start, [f.decode() for f in shot.frames],
                            [s.decode() for s in spec.styles], options, VideoSettings(**shot.settings), per_frame,
                            shot.done, [s.decode() if s is not None else None for s in shot.stylised])

            def on_iteration(i, record, image) -> None:
                if cancel is not None and cancel.is_set():
                    raise StopOptimization(Stop.CANCELLED)
                count[0] += 1
                if on_progress is not None:
                    on_progress(JobProgress(count[0], 0, time.perf_counter() - start, record.total, record.content,
                                            record.style))

            def on_step(k, i, picture, report) -> None:
                files[f"{k:05d}-{i:05d}.png"] = encode_png(picture)
                steps.append({"step": k, "frame": i, "report": dataclasses.asdict(report)})

            return paint_shot(work, on_step, on_iteration)

    how = _guarded(paint, start, "give a smaller --size")
    files[STEPS_FILE] = json.dumps(steps).encode()
    if isinstance(how, JobOutcome):  # failed: the frames finished before the failure still come back
        return dataclasses.replace(how, files=files)
    status = JobStatus.DONE if how == Stop.COMPLETED else JobStatus.CANCELLED
    return JobOutcome(status, seconds=time.perf_counter() - start, iterations=count[0], files=files)


def _guarded(work: Callable[[], T], start: float, memory_hint: str) -> T | JobOutcome:
    """``work()``, or the failed outcome of a job's own error (a bad option or input, or too little memory):
    those end the job, not the worker."""
    from ..errors import NstyleError

    try:
        return work()
    except (NstyleError, _JobError) as err:
        return JobOutcome(JobStatus.FAILED, error=str(err), seconds=time.perf_counter() - start)
    except MemoryError:
        return JobOutcome(JobStatus.FAILED, error=f"out of memory; {memory_hint}", seconds=time.perf_counter() - start)


def _compare_default(name: str):
    from ..core.options import signature_defaults

    return signature_defaults("nstyle.eval.compare:compare", name)[name]


class Executor(Protocol):
    """Runs jobs; ``submit`` returns at once with a future of the outcome.

    ``on_progress`` and ``cancel`` are honoured where the executor can (in this process always; in worker
    processes or on Ray as the executor documents)."""

    def submit(self, spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
               cancel: threading.Event | None = None, preview_every: int = 0) -> Future[JobOutcome]: ...

    def shutdown(self, cancel_pending: bool = False) -> None: ...


class _EitherSet:
    """A cancel flag set when the caller's is, or when the executor stops its jobs."""

    def __init__(self, *events: threading.Event | None) -> None:
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


class ThreadExecutor:
    """Jobs one at a time on a background thread of this process (the web server's default, ``--workers 0``).
    ``shutdown(cancel_pending=True)`` also stops the running job (with its image so far), as the worker processes'
    executor does, instead of waiting for it: a Ctrl-C or SIGTERM of ``nstyle batch`` ends at once."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nstyle-job")
        self._stop = threading.Event()

    def submit(self, spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
               cancel: threading.Event | None = None, preview_every: int = 0) -> Future[JobOutcome]:
        return self._pool.submit(execute, spec, on_progress, _EitherSet(cancel, self._stop), preview_every)

    def shutdown(self, cancel_pending: bool = False) -> None:
        if cancel_pending:
            self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=cancel_pending)
