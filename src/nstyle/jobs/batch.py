"""Many transfers from one command: a job list (a CSV file, or every content with every style), run by an
executor (``nstyle.jobs.executors``), each result written atomically into one folder with ``results.csv`` beside.

Every row and column is checked before anything runs, so a mistake in the job list costs nothing (exit 2): a
wrong value in any row refuses the whole list in one line naming the row. ``results.csv`` is rewritten atomically
as jobs end (at most once a second for jobs that end at once, such as those whose files are missing, and always
after a painted one): a batch stopped at any moment keeps every finished result, and running the same command
again skips the jobs done with the same inputs and options (``JobSpec.key()``) and redoes the failed and missing
ones.
"""

from __future__ import annotations

import contextlib
import csv
import glob
import io
import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..core.options import TransferOptions, field_kinds, from_text, input_files
from ..errors import NstyleError, UsageError, WriteError
from ..exitcodes import FAILED, INTERRUPTED, OK
from ..io.atomic import remove_leftovers, replacing, write_bytes
from ..io.paths import output_folder, refuse_links_out, refuse_overwriting_inputs
from .spec import InputImage, JobOutcome, JobSpec, carried, file_options
from .status import DONE_STATES, JobStatus

RESULTS = "results.csv"
LOCK = ".nstyle-batch.lock"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".gif")
OUTPUT_SUFFIXES = (".png", ".jpg", ".jpeg")
LIST_SEPARATOR = ";"  # between the styles of a cell, and the values of any list option
RESULT_FIELDS = ("job", "content", "style", "output", "options", "key", "status", "error", "seconds", "iterations",
                 "total", "content_loss", "style_loss", "tv_loss", "node", "note", "finished")


@dataclass
class BatchJob:
    """One line of the job list, its paths resolved, its options parsed; ``output`` is relative to the folder."""

    number: int
    content: Path
    styles: list[Path]
    options: dict = field(default_factory=dict)  # TransferOptions fields, file options included (as paths)
    output: str = ""
    where: str = ""  # for messages: "jobs.csv line 3", "--contents/--styles job 2"

    def spec(self) -> JobSpec:
        """The self-contained job, its files read now (a missing file is a one-line ImageError)."""
        options, files = carried(self.options)
        return JobSpec(InputImage.read(self.content), [InputImage.read(s) for s in self.styles], options, files)

    def described_options(self) -> str:
        return json.dumps({k: _plain(v) for k, v in self.options.items()}, sort_keys=True)


def _plain(value):
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ----------------------------------------------------------------------------------------------------------
# The job list


def _transfer_fields() -> list[str]:
    return list(field_kinds())


def parse_cells(cells: dict[str, str]) -> dict:
    """Option cells (column name -> text) to typed option values by the options' schema; an empty cell is left
    out (it takes the default). Lists are separated by ``;``."""
    return {name: from_text(name, text or "", LIST_SEPARATOR) for name, text in cells.items() if (text or "").strip()}


def _paths(text: str, base: Path) -> list[Path]:
    return [base / p.strip() for p in text.split(LIST_SEPARATOR) if p.strip()]


def resolve_file_options(options: dict, base: Path) -> dict:
    """File options relative to ``base`` (the CSV's folder; the working directory on the command line)."""
    resolved = dict(options)
    for name in [*file_options(options), "weights"]:
        value = options.get(name)
        if value is None:
            continue
        resolved[name] = [base / v for v in value] if isinstance(value, (list, tuple)) else base / value
    return resolved


def jobs_from_csv(path: str | os.PathLike, defaults: dict | None = None) -> list[BatchJob]:
    """Every row of a job list, checked. A list that cannot be read as one (unknown or missing columns, a row
    without content or style, too many cells, a wrong option value) is a UsageError naming the first row at fault
    and how many more there are; nothing runs. A missing image file is the job's own failure, found when it runs."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UsageError(f"cannot read the job list {str(path)!r}: the file does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read the job list {str(path)!r}: {getattr(err, 'strerror', None) or err}") \
            from None
    reader = csv.DictReader(io.StringIO(text))
    header = [(h or "").strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    fields = _transfer_fields()
    missing = [c for c in ("content", "style") if c not in header]
    if missing:
        raise UsageError(f"{path.name}: the header has no {' or '.join(repr(c) for c in missing)} column; "
                         "it needs content and style (several styles separated by ';'), optionally output "
                         "and transfer options by name (size, iterations, ...)")
    unknown = [h for h in header if h not in ("content", "style", "output") and h not in fields]
    if unknown:
        raise UsageError(f"{path.name}: unknown column(s) {', '.join(repr(u) for u in unknown)}; columns are "
                         f"content, style, output and the transfer options: {', '.join(fields)}")
    base = path.parent
    jobs, problems = [], []
    for number, row in enumerate(reader, start=1):
        line = reader.line_num
        if None in row:
            raise UsageError(f"{path.name} line {line}: more cells than the header has columns")
        content = (row.get("content") or "").strip()
        styles = _paths(row.get("style") or "", base)
        if not content or not styles:
            raise UsageError(f"{path.name} line {line}: every job needs a content and a style image")
        cells = {k: v for k, v in row.items() if k in fields}
        try:
            options = (defaults or {}) | resolve_file_options(parse_cells(cells), base)
            TransferOptions(**options)  # checked now, not when the job's turn comes; the job carries the values
        except UsageError as err:
            problems.append(f"{path.name} line {line}: {err}")
            continue
        jobs.append(BatchJob(number, base / content, styles, options, (row.get("output") or "").strip(),
                             f"{path.name} line {line}"))
    if problems:
        more = f" (and {len(problems) - 1} more rows with a wrong value)" if len(problems) > 1 else ""
        raise UsageError(f"{problems[0]}{more}; nothing was run: correct the job list")
    if not jobs:
        raise UsageError(f"{path.name} lists no jobs (only a header)")
    return name_outputs(jobs, path.name)


def image_files(pattern: str, what: str) -> list[Path]:
    """The images in a folder, or the files a glob pattern matches, sorted."""
    folder = Path(pattern).expanduser()
    if folder.is_dir():
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    else:
        files = sorted(Path(p) for p in glob.glob(str(folder), recursive=True) if Path(p).is_file())
    if not files:
        raise UsageError(f"{what} {pattern!r} matches no image files; give a folder of images or a glob such as "
                         "'photos/*.jpg'")
    return files


def jobs_from_globs(contents: str, styles: str, defaults: dict | None = None) -> list[BatchJob]:
    """One job for every content with every style, all with the command line's options: checked now, so that a
    wrong one is one usage error before any work, not a failure of every job."""
    TransferOptions(**(defaults or {}))  # the jobs carry them as values to their worker processes
    content_files, style_files = image_files(contents, "--contents"), image_files(styles, "--styles")
    jobs = [BatchJob(n, c, [s], dict(defaults or {}), where=f"--contents/--styles job {n}")
            for n, (c, s) in enumerate(((c, s) for c in content_files for s in style_files), start=1)]
    return name_outputs(jobs, "--contents/--styles")


def name_outputs(jobs: list[BatchJob], source: str) -> list[BatchJob]:
    """Give every job its own output name in the folder: the ``output`` cell, or content_style.png."""
    taken: dict[str, int] = {}
    for job in jobs:
        if job.output:
            name = Path(job.output)
            if name.is_absolute() or ".." in name.parts:
                raise UsageError(f"{source} job {job.number}: output {job.output!r} must be a name inside the "
                                 "output folder")
            if not name.suffix:
                name = name.with_suffix(".png")
            if name.suffix.lower() not in OUTPUT_SUFFIXES:
                raise UsageError(f"{source} job {job.number}: output {job.output!r} must end in "
                                 f"{', '.join(OUTPUT_SUFFIXES)}")
            job.output = name.as_posix()
            if job.output in taken:
                raise UsageError(f"{source}: jobs {taken[job.output]} and {job.number} both write {job.output}")
        else:
            stem = f"{job.content.stem}_{'+'.join(s.stem for s in job.styles)}"
            job.output = f"{stem}.png" if f"{stem}.png" not in taken else f"{stem}-{job.number}.png"
        taken[job.output] = job.number
    return jobs


# ----------------------------------------------------------------------------------------------------------
# results.csv


class ResultsTable:
    """``DIR/results.csv``: one row per job of this batch, rewritten atomically as jobs end: at once after a job
    that painted, at most once every ``EVERY`` seconds otherwise (10,000 rows failing at once rewrote and fsynced
    the table 10,000 times, gigabytes for nothing), and always at the end (``flush``)."""

    EVERY = 1.0  # seconds

    def __init__(self, folder: Path, jobs: list[BatchJob]):
        self.path = folder / RESULTS
        self.written = 0.0  # time.monotonic() of the last write; 0: rows not written yet
        self.unwritten = False
        self.previous = self._read()
        self.rows: dict[str, dict] = {j.output: self.previous[j.output] for j in jobs if j.output in self.previous}
        self.order = [j.output for j in jobs]

    def _read(self) -> dict[str, dict]:
        try:
            with open(self.path, newline="", encoding="utf-8") as f:
                return {row["output"]: row for row in csv.DictReader(f) if row.get("output")}
        except (OSError, csv.Error, KeyError):
            return {}

    def is_done(self, job: BatchJob, key: str, folder: Path) -> bool:
        row = self.previous.get(job.output)
        return bool(row and row.get("status") in DONE_STATES and row.get("key") == key
                    and (folder / job.output).is_file())

    def record(self, job: BatchJob, status: str, key: str = "", outcome: JobOutcome | None = None,
               error: str = "") -> None:
        row = {"job": job.number, "content": str(job.content), "style": LIST_SEPARATOR.join(map(str, job.styles)),
               "output": job.output, "options": job.described_options(), "key": key, "status": status,
               "error": error, "finished": time.strftime("%Y-%m-%d %H:%M:%S")}
        if status == JobStatus.SKIPPED:  # keep what the run that made the file measured
            old = self.previous.get(job.output, {})
            row |= {k: old.get(k, "") for k in ("seconds", "iterations", "total", "content_loss", "style_loss",
                                                 "tv_loss", "node", "note", "finished")}
        elif outcome is not None:
            losses = outcome.losses
            row |= {"seconds": f"{outcome.seconds:.1f}", "iterations": outcome.iterations,
                    "total": _g(losses.get("total")), "content_loss": _g(losses.get("content")),
                    "style_loss": _g(losses.get("style")), "tv_loss": _g(losses.get("tv")),
                    "error": error or outcome.error, "node": outcome.node, "note": outcome.note}
        row["error"] = " ".join(str(row["error"]).split())  # one line, whatever the message
        self.rows[job.output] = row
        self.unwritten = True
        if status == JobStatus.DONE or time.monotonic() - self.written >= self.EVERY:
            self.write()

    def flush(self) -> None:
        """Write the rows recorded since the last write, if any."""
        if self.unwritten:
            self.write()

    def write(self) -> None:
        with replacing(self.path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, RESULT_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(self.rows[o] for o in self.order if o in self.rows)
        self.written, self.unwritten = time.monotonic(), False

    def count(self, status: str) -> int:
        return sum(1 for o in self.order if self.rows.get(o, {}).get("status") == status)


def _g(value) -> str:
    return "" if value is None else f"{value:.6g}"


# ----------------------------------------------------------------------------------------------------------
# Running


def map_sidecar(output: Path, name: str) -> Path:
    """Where a batch job's found map goes: out.png and content_map.png -> out.content_map.png."""
    return output.with_name(f"{output.stem}.{name}")


def refuse_overwriting(jobs: list[BatchJob], folder: str | os.PathLike, job_list: str | os.PathLike | None = None):
    """Before the folder is made: a one-line UsageError, naming the row, when a job's output or results.csv would
    replace an input of any job (content, styles, option files) or the job list itself."""
    folder = Path(folder)
    advice = "give another -o, or the row another output name"
    outputs: dict[str, object] = {f"the results table {RESULTS} in -o": folder / RESULTS}
    inputs: dict[str, object] = {"the job list": job_list}
    refuse_overwriting_inputs(outputs, inputs, advice="give another -o")
    for job in jobs:
        where = job.where or f"job {job.number}"
        own = {"its content image": job.content, "its style image": job.styles}
        own |= {f"its {flag}": path for flag, path in input_files(job.options).items()}
        image, *maps = job_outputs(job, folder)
        output = {f"{where}: the output": image}
        if maps:
            output[f"{where}: its found maps"] = maps
        refuse_overwriting_inputs(output, own | {"the job list": job_list}, advice=advice)  # the likely mistake
        outputs |= output
        inputs |= {label.replace("its ", "the ", 1) + f" of {where}": path for label, path in own.items()}
    refuse_overwriting_inputs(outputs, inputs, advice=advice)  # one row's output over another row's input
    refuse_links_out(folder, [p for job in jobs for p in job_outputs(job, folder)])


def job_outputs(job: BatchJob, folder: Path) -> list[Path]:
    """Every file a job writes: its image, and the maps ``--auto-maps`` found."""
    from ..core.regions import map_names

    output = folder / job.output
    if job.options.get("auto_maps") is None:
        return [output]
    return [output] + [map_sidecar(output, name) for name in map_names(len(job.styles))]


@contextlib.contextmanager
def holding(folder: Path):
    """The folder to this batch alone while it runs: two batches in one folder would undo each other's rows of
    results.csv. Yields whether the lock is held (not on systems without ``fcntl``). The lock file is removed at
    the end; a run that locked a file another run had just removed tries again on the new one."""
    try:
        import fcntl
    except ImportError:
        yield False
        return
    path = folder / LOCK
    while True:
        try:  # not through a link at the lock's name: a dangling one would make a file elsewhere
            lock = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                                     0o666), "a")
        except OSError as err:
            if path.is_symlink():
                raise UsageError(f"-o {folder}: {LOCK} is a symbolic link; nstyle writes nothing through a link it "
                                 "did not make: remove it") from None
            raise UsageError(f"-o {folder}: cannot write there ({err.strerror})") from None
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise UsageError(f"-o {folder}: another nstyle batch is running in this folder; wait for it to end, "
                             "or give another -o") from None
        try:
            if os.stat(path).st_ino == os.fstat(lock.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        lock.close()
    try:
        yield True
    finally:
        path.unlink(missing_ok=True)  # while still locked: a run waiting on this file then tries the next one
        lock.close()


def run_batch(jobs: list[BatchJob], folder: str | os.PathLike, make_executor: Callable[[int], object],
              quiet: bool = False, job_list: str | os.PathLike | None = None) -> int:
    """Run the jobs not done yet; returns OK (all done), FAILED (some failed) or INTERRUPTED (``nstyle.exitcodes``).

    ``make_executor(n)`` gives the executor for ``n`` jobs to run; it is not called when none is left. No output
    may replace an input (``job_list``, the CSV the jobs came from, included)."""
    refuse_overwriting(jobs, folder, job_list)
    folder = output_folder(folder, "choose another folder for the results")
    with holding(folder) as alone:
        if alone:  # a batch killed mid-write (SIGKILL) leaves its temporary files: nobody else is writing now
            for path in [folder / RESULTS] + [p for job in jobs for p in job_outputs(job, folder)]:
                remove_leftovers(path)
        return _run_batch(jobs, folder, make_executor, quiet)


def _run_batch(jobs: list[BatchJob], folder: Path, make_executor: Callable[[int], object], quiet: bool) -> int:
    from tqdm import tqdm

    table = ResultsTable(folder, jobs)
    bar = executor = None
    try:  # a Ctrl-C or SIGTERM at any point keeps every finished row; results.csv is only ever replaced whole
        todo: list[tuple[BatchJob, str]] = []
        for job in jobs:
            try:
                key = job.spec().key()
            except NstyleError as err:  # a missing file or a wrong value: this job fails, the others run
                table.record(job, JobStatus.FAILED, error=str(err))
                if not quiet:
                    print(f"nstyle batch: {err}; the other jobs run", file=sys.stderr)
                continue
            if table.is_done(job, key, folder):
                table.record(job, JobStatus.SKIPPED, key)
            else:
                todo.append((job, key))
        table.write()
        finished = len(jobs) - len(todo)
        bar = tqdm(total=len(jobs), initial=finished, unit="job", desc="nstyle batch", disable=quiet,
                   file=sys.stderr, dynamic_ncols=True)
        executor = make_executor(len(todo)) if todo else None
        running: dict[Future, tuple[BatchJob, str]] = {}
        window = 2 * max(1, getattr(executor, "capacity", 1))  # queued a little ahead, not the whole list in memory
        pending = list(reversed(todo))
        while pending or running:
            while pending and len(running) < window:
                job, _ = pending.pop()
                try:
                    spec = job.spec()
                except NstyleError as err:  # removed or changed since the check above
                    table.record(job, JobStatus.FAILED, error=str(err))
                    bar.update(1)
                    continue
                running[executor.submit(spec)] = (job, spec.key())
            if not running:
                continue
            ended, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in ended:
                job, key = running.pop(future)
                _store(job, key, future.result(), folder, table)
                bar.set_postfix(done=table.count(JobStatus.DONE), failed=table.count(JobStatus.FAILED),
                                skipped=table.count(JobStatus.SKIPPED), refresh=False)
                bar.update(1)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        if executor is not None:
            executor.shutdown(cancel_pending=True)
        table.flush()
        done = table.count(JobStatus.DONE) + table.count(JobStatus.SKIPPED)
        print(f"nstyle batch: interrupted; {done} of {len(jobs)} jobs done and kept in {folder}; run the same "
              "command again to finish the rest", file=sys.stderr)
        return INTERRUPTED
    except NstyleError:  # results.csv cannot be written (a full disk): stop the workers, say it in one line
        if bar is not None:
            bar.close()
        if executor is not None:
            executor.shutdown(cancel_pending=True)
        raise
    bar.close()
    if executor is not None:
        executor.shutdown()
    table.flush()
    counts = {s: table.count(s) for s in (JobStatus.DONE, JobStatus.SKIPPED, JobStatus.FAILED)}
    print(f"nstyle batch: {counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed; "
          f"results in {folder / RESULTS}")
    if counts[JobStatus.FAILED]:
        print(f"nstyle batch: {counts['failed']} of {len(jobs)} jobs failed; their errors are in "
              f"{folder / RESULTS}", file=sys.stderr)
        return FAILED
    return OK


def _store(job: BatchJob, key: str, outcome: JobOutcome, folder: Path, table: ResultsTable) -> None:
    """Write a finished job's image atomically, then its row; a cancelled job leaves its old row."""
    from ..io.images import save_image

    if outcome.status == JobStatus.DONE:
        target = folder / job.output
        try:
            refuse_links_out(folder, job_outputs(job, folder))  # again: a link may have been made since the start
            target.parent.mkdir(parents=True, exist_ok=True)
            save_image(outcome.pil_image(), target)
            for name, data in outcome.files.items():  # the maps --auto-maps found, PNG already: out.content_map.png
                write_bytes(map_sidecar(target, name), data)
        except WriteError as err:  # a full disk: every job after this one would be painted for nothing
            table.record(job, JobStatus.FAILED, key, outcome, error=str(err))
            raise
        except (NstyleError, OSError) as err:
            table.record(job, JobStatus.FAILED, key, outcome, error=str(err))
            return
        table.record(job, JobStatus.DONE, key, outcome)
    elif outcome.status == JobStatus.FAILED:
        table.record(job, JobStatus.FAILED, key, outcome, error=outcome.error)
