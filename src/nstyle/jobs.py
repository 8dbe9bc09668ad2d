"""One style-transfer job, self-contained, and the executors that run jobs: the runner shared by
``nstyle batch`` and ``nstyle serve``.

A :class:`JobSpec` carries its images as bytes (content, styles, and any image an option names, such as a
mask), so it can travel to another process or a Ray node with no shared file system. :func:`execute` runs
one in the current process: progress goes to a callback, a cancel flag stops it with the image so far, and a
job's own failure (a bad image, bad options) never raises: the :class:`JobOutcome` says ``failed`` with
the one-line reason. Executors run many jobs and return futures of outcomes.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import PIL.Image

#: Options whose values name image files: their files travel with the job.
FILE_OPTIONS = ("mask", "content_map", "style_map", "init")
#: Options a job cannot carry to another machine.
LOCAL_ONLY_OPTIONS = ("weights",)


@dataclass(frozen=True)
class InputImage:
    """An image file's name (no directory: for messages and output names) and its bytes."""

    name: str
    data: bytes = field(repr=False)

    @classmethod
    def read(cls, path: str | Path) -> InputImage:
        """The file's bytes, or a one-line ImageError (missing, a directory, unreadable)."""
        from .errors import ImageError

        path = Path(path)
        try:
            return cls(path.name, path.read_bytes())
        except FileNotFoundError:
            raise ImageError(f"cannot read {str(path)!r}: the file does not exist; check the path and spelling") \
                from None
        except IsADirectoryError:
            raise ImageError(f"cannot read {str(path)!r}: it is a directory, not an image file") from None
        except OSError as err:
            raise ImageError(f"cannot read {str(path)!r}: {err.strerror or err}") from None

    def decode(self) -> PIL.Image.Image:
        from .images import decode_image

        return decode_image(self.data, self.name)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class JobSpec:
    """What to paint: a content image, one or more styles, ``TransferOptions`` fields by name, and the files of
    the options that name files (``FILE_OPTIONS``; a list for ``style_map``)."""

    content: InputImage
    styles: list[InputImage]
    options: dict = field(default_factory=dict)
    option_files: dict[str, InputImage | list[InputImage]] = field(default_factory=dict)

    def key(self) -> str:
        """Equal for jobs with the same input bytes and options: how a rerun knows a job is already done."""
        files = {k: [f.digest for f in v] if isinstance(v, list) else v.digest for k, v in self.option_files.items()}
        text = json.dumps({"content": self.content.digest, "styles": [s.digest for s in self.styles],
                           "options": self.options, "files": files}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


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


@dataclass
class JobOutcome:
    """How a job ended: ``done``, ``cancelled`` (with the image so far) or ``failed`` (``error`` says why)."""

    status: str
    error: str = ""
    image: bytes | None = field(default=None, repr=False)  # PNG
    seconds: float = 0.0
    iterations: int = 0
    losses: dict[str, float] = field(default_factory=dict)  # the last iteration's total/content/style/tv
    history: list[dict] = field(default_factory=list, repr=False)

    def pil_image(self) -> PIL.Image.Image | None:
        return None if self.image is None else PIL.Image.open(io.BytesIO(self.image)).convert("RGB")


class _JobError(Exception):
    """A job's options are unusable (reported as ``failed``, like a UsageError)."""


def encode_png(image: PIL.Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _materialise(spec: JobSpec, folder: Path) -> dict:
    """The options with each carried file written to ``folder`` and its option pointing there."""
    options = dict(spec.options)
    for name, value in spec.option_files.items():
        files = value if isinstance(value, list) else [value]
        paths = []
        for i, f in enumerate(files):
            path = folder / f"{name}{i}{Path(f.name).suffix.lower() or '.png'}"
            path.write_bytes(f.data)
            paths.append(str(path))
        options[name] = paths if isinstance(value, list) else paths[0]
    return options


def execute(spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
            cancel: threading.Event | None = None, preview_every: int = 0) -> JobOutcome:
    """Run one job here and now; never raises for the job's own errors (only for bugs)."""
    from .engine import options_from, run
    from .errors import NstyleError
    from .images import tensor_to_image
    from .optim import StopOptimization

    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="nstyle-job-") as tmp:
            options = _materialise(spec, Path(tmp))
            try:
                total = options_from(**options).planned_iterations()
            except TypeError as err:  # an unknown option name
                raise _JobError(str(err)) from None
            content = spec.content.decode()
            styles = [s.decode() for s in spec.styles]

            def callback(record, image) -> None:
                if cancel is not None and cancel.is_set():
                    raise StopOptimization("cancelled")
                if on_progress is not None:
                    preview = preview_every and (record.iteration % preview_every == 0 or record.iteration == 1)
                    on_progress(JobProgress(record.iteration, total, record.elapsed, record.total, record.content,
                                            record.style, tensor_to_image(image) if preview else None))

            result = run(content, styles, callback=callback, **options)
    except (NstyleError, _JobError) as err:
        return JobOutcome("failed", error=str(err), seconds=time.perf_counter() - start)
    except MemoryError:
        return JobOutcome("failed", error="out of memory; give a smaller --size or a smaller --tile",
                          seconds=time.perf_counter() - start)
    history = [r.as_dict() for r in result.history]
    last = history[-1] if history else {}
    if result.stopped == "non-finite":
        status, error = "failed", "the loss stopped being finite; try a smaller lr or another optimizer"
    elif result.stopped in ("cancelled", "interrupted"):
        status, error = "cancelled", ""
    else:
        status, error = "done", ""
    return JobOutcome(status, error, encode_png(result.image), time.perf_counter() - start, len(history),
                      {k: last[k] for k in ("total", "content", "style", "tv") if k in last}, history)


class Executor(Protocol):
    """Runs jobs; ``submit`` returns at once with a future of the outcome.

    ``on_progress`` and ``cancel`` are honoured where the executor can (in this process always; in worker
    processes or on Ray as the executor documents)."""

    def submit(self, spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
               cancel: threading.Event | None = None, preview_every: int = 0) -> Future[JobOutcome]: ...

    def shutdown(self, cancel_pending: bool = False) -> None: ...


class ThreadExecutor:
    """Jobs one at a time on a background thread of this process (the web server's default)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nstyle-job")

    def submit(self, spec: JobSpec, on_progress: Callable[[JobProgress], None] | None = None,
               cancel: threading.Event | None = None, preview_every: int = 0) -> Future[JobOutcome]:
        return self._pool.submit(execute, spec, on_progress, cancel, preview_every)

    def shutdown(self, cancel_pending: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel_pending)
