"""Jobs and the gallery on disk: one folder per job, named by a server-made id, holding ``job.json``, the
uploaded images under server-made names, the latest preview and the result.

Every write is atomic (a temporary file in the same folder, then a rename), and a job's folder appears only
once it is complete, so a crash or a restart never leaves a half-written record or image. Opening a store
marks the jobs that were queued or running as ``interrupted`` and leaves finished ones untouched.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import re
import shutil
import threading
import time
import uuid
from pathlib import Path

from ..io import atomic
from ..jobs.spec import REQUEST_KINDS, InputImage, JobSpec
from ..jobs.status import FINISHED, UNFINISHED, JobStatus

log = logging.getLogger("nstyle.web")

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
#: Names of files a job folder may hold: all made by the server, never taken from a request.
FILE_NAME = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.(png|jpg|gif|bmp|tiff|webp|csv|md)$")
RECORD, LATEST, RESULT = "job.json", "latest.png", "result.png"
_TMP_PREFIX = ".tmp-"


class JobNotFound(KeyError):
    """No job with this id (or an id that is not one of ours)."""


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part."""
    atomic.write_bytes(path, data, prefix=f"{_TMP_PREFIX}{path.name}.", mode=0o600)  # the server's files are its own


class JobStore:
    """Job records in memory (for fast status reads while a job runs) and on disk (for the gallery)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.jobs_dir = self.root / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._records: dict[str, dict] = {}
        self._load()

    # -- opening -------------------------------------------------------------------------------------------

    def _load(self) -> None:
        for folder in sorted(self.jobs_dir.iterdir()):
            if folder.name.startswith(_TMP_PREFIX):  # a job whose creation never finished
                shutil.rmtree(folder, ignore_errors=True)
                continue
            if not (folder.is_dir() and JOB_ID.match(folder.name)):
                continue
            for stale in folder.glob(f"{_TMP_PREFIX}*"):  # an atomic write cut short
                stale.unlink(missing_ok=True)
            try:
                record = json.loads((folder / RECORD).read_text())
            except (OSError, ValueError, RecursionError) as err:
                log.warning("skipping job folder %s: unreadable %s (%s)", folder.name, RECORD, err)
                continue
            problem = record_problem(record, folder.name)
            if problem:
                log.warning("skipping job folder %s: its %s is not a job record (%s)", folder.name, RECORD, problem)
                continue
            record["version"] = 0
            if record.get("status") in UNFINISHED:
                record.update(status=JobStatus.INTERRUPTED, finished=time.time(),
                              error="the server stopped before this job finished; run it again")
                self._persist(record)
            self._records[record["id"]] = record

    # -- creating ------------------------------------------------------------------------------------------

    def create(self, kind: str, options: dict, content: InputImage, styles: list[InputImage],
               names: dict | None = None) -> dict:
        """A new queued job; the images are stored as ``content.EXT``, ``style0.EXT``, ... (server-made names,
        ``EXT`` from the decoded format). ``names`` (the uploads' own names) is for display only."""
        job_id = uuid.uuid4().hex
        building = self.jobs_dir / f"{_TMP_PREFIX}{job_id}"
        building.mkdir()
        try:
            inputs = {"content": self._write_input(building, "content", content),
                      "styles": [self._write_input(building, f"style{i}", s) for i, s in enumerate(styles)]}
            now = time.time()
            record = {"id": job_id, "kind": kind, "status": JobStatus.QUEUED, "created": now, "started": None,
                      "finished": None, "options": options, "inputs": inputs, "names": names or {}, "files": [],
                      "progress": None, "losses": [], "final": {}, "seconds": None, "iterations": None,
                      "error": "", "preview": 0, "version": 0}
            write_atomic(building / RECORD, _dump(record))
            os.rename(building, self.jobs_dir / job_id)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        with self._lock:
            self._records[job_id] = record
        return copy.deepcopy(record)

    @staticmethod
    def _write_input(folder: Path, stem: str, image: InputImage) -> str:
        suffix = Path(image.name).suffix.lower()  # InputImage.name here is server-made: "content.png"
        name = f"{stem}{suffix}"
        if not FILE_NAME.match(name):
            raise ValueError(f"not a server-made file name: {name!r}")
        write_atomic(folder / name, image.data)
        return name

    # -- reading -------------------------------------------------------------------------------------------

    def _folder(self, job_id: str) -> Path:
        if not JOB_ID.match(job_id or ""):
            raise JobNotFound(job_id)
        return self.jobs_dir / job_id

    def get(self, job_id: str) -> dict:
        """A copy of the job's record; JobNotFound for an unknown or malformed id."""
        self._folder(job_id)
        with self._lock:
            if job_id not in self._records:
                raise JobNotFound(job_id)
            return copy.deepcopy(self._records[job_id])

    def version(self, job_id: str) -> int:
        """Grows with every change of the job (progress included): how a live view knows to send an update."""
        with self._lock:
            if job_id not in self._records:
                raise JobNotFound(job_id)
            return self._records[job_id]["version"]

    def list(self) -> list[dict]:
        """Every job, newest first, without the per-iteration losses."""
        with self._lock:
            records = sorted(self._records.values(), key=lambda r: r["created"], reverse=True)
            return [{k: copy.deepcopy(v) for k, v in r.items() if k != "losses"} for r in records]

    def file_path(self, job_id: str, name: str) -> Path:
        """The path of one of the job's own files (an input, the preview, the result, a compare output), or
        JobNotFound / FileNotFoundError. Only names the server wrote into the record are served."""
        folder = self._folder(job_id)
        record = self.get(job_id)
        known = {record["inputs"]["content"], *record["inputs"]["styles"], *record["files"]}
        if record["preview"]:
            known.add(LATEST)
        if not FILE_NAME.match(name or "") or name not in known:
            raise FileNotFoundError(name)
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(name)
        return path

    def image_path(self, job_id: str) -> Path:
        """The result if there is one, else the latest preview; FileNotFoundError before the first."""
        folder = self._folder(job_id)
        record = self.get(job_id)
        for name in (RESULT, LATEST) if RESULT in record["files"] else (LATEST,):
            if (folder / name).is_file():
                return folder / name
        raise FileNotFoundError(RESULT)

    def spec(self, job_id: str) -> JobSpec:
        """The job as ``nstyle.jobs.spec`` runs it, read back from its folder."""
        record = self.get(job_id)
        folder = self._folder(job_id)
        inputs = record["inputs"]
        content = InputImage(inputs["content"], (folder / inputs["content"]).read_bytes())
        styles = [InputImage(name, (folder / name).read_bytes()) for name in inputs["styles"]]
        return JobSpec(content, styles, dict(record["options"]), kind=record["kind"])

    # -- changing ------------------------------------------------------------------------------------------

    def update(self, job_id: str, persist: bool = True, **changes) -> dict:
        """Change fields of the record; ``persist=False`` keeps a change in memory only (frequent progress)."""
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                raise JobNotFound(job_id)
            record.update(finite(changes))
            record["version"] += 1
            if persist:
                self._persist(record)
            return copy.deepcopy(record)

    def add_loss(self, job_id: str, point: list[float]) -> None:
        with self._lock:
            self._records[job_id]["losses"].append(finite(point))

    def write_file(self, job_id: str, name: str, data: bytes) -> None:
        """Write one of the job's files (``latest.png``, ``result.png``, a compare output) atomically."""
        if not FILE_NAME.match(name):
            raise ValueError(f"not a server-made file name: {name!r}")
        write_atomic(self._folder(job_id) / name, data)

    def _persist(self, record: dict) -> None:
        write_atomic(self.jobs_dir / record["id"] / RECORD, _dump(record))


def _dump(record: dict) -> bytes:
    return json.dumps({k: v for k, v in record.items() if k != "version"}, indent=1, allow_nan=False).encode()


def finite(value):
    """``value`` with NaN and infinite floats as None: a diverging run's loss must not make the record
    unreadable as JSON (the API's replies and ``job.json`` are strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _names(v) -> bool:
    return isinstance(v, list) and all(isinstance(n, str) and FILE_NAME.match(n) for n in v)


def _maybe(check):
    return lambda v: v is None or check(v)


#: What each field of a record must be for the routes, the worker and the page to use it.
_FIELDS = {"kind": lambda v: v in REQUEST_KINDS, "status": lambda v: v in UNFINISHED + FINISHED,
           "created": _number, "started": _maybe(_number), "finished": _maybe(_number),
           "options": lambda v: isinstance(v, dict), "names": lambda v: isinstance(v, dict),
           "inputs": lambda v: isinstance(v, dict) and _names([v.get("content")]) and _names(v.get("styles")),
           "files": _names, "progress": _maybe(lambda v: isinstance(v, dict)),
           "losses": lambda v: isinstance(v, list), "final": lambda v: isinstance(v, dict),
           "seconds": _maybe(_number), "iterations": _maybe(_whole),
           "error": lambda v: isinstance(v, str), "preview": _whole}


def record_problem(record, job_id: str) -> str:
    """Why a ``job.json`` read back cannot be served ("" if it can): not this job's, a field missing or of the
    wrong type, or NaN/Infinity inside (Python reads them, the API's strict JSON cannot send them)."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    if record.get("id") != job_id:
        return "its id is not the folder's name"
    try:
        json.dumps(record, allow_nan=False)
    except ValueError:
        return "a NaN or infinite number inside"
    for name, ok in _FIELDS.items():
        if name not in record:
            return f"no {name!r}"
        if not ok(record[name]):
            return f"{name!r} is {json.dumps(record[name])[:40]}"
    return ""
