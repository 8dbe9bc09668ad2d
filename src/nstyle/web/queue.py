"""The worker: queued jobs run one at a time through an ``nstyle.jobs.spec.Executor`` (a thread of this process
by default), their progress, previews and results written to the store.

Requests never wait on a job: they queue it and return, and read its state from the store while it runs.
A stop request sets the running job's cancel event, and the job ends ``cancelled`` with the image so far;
a server shutdown does the same but records the job as ``interrupted``.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time

from ..core.memory import release_freed_memory, resident_bytes
from ..jobs.spec import Executor, JobOutcome, JobProgress, ThreadExecutor, encode_png
from ..jobs.status import JobStatus
from .options import option_names
from .progress import TimeLeft, compare_plan, transfer_plan
from .store import FILE_NAME, LATEST, RESULT, JobStore

log = logging.getLogger("nstyle.web")

#: Write the running job's record to disk at most this often (memory has every update).
PERSIST_EVERY_S = 2.0


def released() -> None:
    """After a job (done, failed or cancelled), its memory goes back to the system: the tensors are freed when the
    job returns, but glibc keeps freed heap pages (a cancelled 512 px job left 580 MB, 110 MB with this)."""
    gc.collect()
    release_freed_memory()


class JobQueue:
    def __init__(self, store: JobStore, executor: Executor | None = None, preview_every: int = 5) -> None:
        self.store = store
        self.executor = executor if executor is not None else ThreadExecutor()
        self.preview_every = preview_every
        self._pending: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._current: tuple[str, threading.Event] | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._idle = 0  # the server's resident memory before the running job started

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="nstyle-web-queue", daemon=True)
        self._thread.start()

    def submit(self, job_id: str) -> None:
        self._pending.put(job_id)

    def cancel(self, job_id: str) -> dict:
        """Stop a job: a queued one never starts, a running one stops with its image so far."""
        with self._lock:
            record = self.store.get(job_id)
            if record["status"] == JobStatus.QUEUED:
                return self.store.update(job_id, status=JobStatus.CANCELLED, finished=time.time())
            if record["status"] == JobStatus.RUNNING and self._current and self._current[0] == job_id:
                self._current[1].set()
                return self.store.update(job_id, persist=False, stopping=True)
            return record

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down: the running job stops (recorded as interrupted, its image kept), queued ones are marked
        interrupted, and the executor is shut down."""
        with self._lock:
            self._stopping = True
            if self._current:
                self._current[1].set()
        self._pending.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        for record in self.store.list():
            if record["status"] == JobStatus.QUEUED:
                self.store.update(record["id"], status=JobStatus.INTERRUPTED, finished=time.time(),
                                  error="the server stopped before this job started; run it again")
        self.executor.shutdown(cancel_pending=True)

    # -- the worker thread ---------------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            job_id = self._pending.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except Exception as err:  # a bug must not stop the queue: the job fails, the next one runs
                log.exception("job %s failed", job_id)
                self.store.update(job_id, status=JobStatus.FAILED, finished=time.time(), error=f"internal error: {err}")

    def held_bytes(self) -> int:
        """Memory the running job holds above the idle server: free again before the next job starts."""
        with self._lock:
            running = self._current is not None
        return max(0, resident_bytes() - self._idle) if running else 0

    def _run(self, job_id: str) -> None:
        self._idle = resident_bytes()
        with self._lock:
            if self._stopping or self.store.get(job_id)["status"] != JobStatus.QUEUED:
                return  # cancelled while queued, or left for stop() to mark interrupted
            cancel = threading.Event()
            self._current = (job_id, cancel)
            self.store.update(job_id, status=JobStatus.RUNNING, started=time.time())
        try:
            spec = self.store.spec(job_id)
            time_left = TimeLeft(self._plan(spec.kind, spec.options))
            last_persist = [time.monotonic()]

            def on_progress(p: JobProgress) -> None:
                self._progress(job_id, p, time_left, last_persist)

            future = self.executor.submit(spec, on_progress=on_progress, cancel=cancel,
                                          preview_every=self.preview_every)
            try:
                outcome = future.result()
            except Exception as err:  # the executor itself failed (a bug, a lost worker)
                log.exception("job %s: the executor failed", job_id)
                outcome = JobOutcome(JobStatus.FAILED, error=f"internal error: {err}")
            self._finish(job_id, outcome)
        finally:
            with self._lock:
                self._current = None
            released()

    @staticmethod
    def _plan(kind: str, options: dict) -> list[tuple[int, int]]:
        if kind == "compare":
            from .options import compare_defaults

            d = compare_defaults()
            return compare_plan(options, d["models"], d["size"], d["iterations"])
        return transfer_plan(options)

    def _progress(self, job_id: str, p: JobProgress, time_left: TimeLeft, last_persist: list[float]) -> None:
        changes = {"progress": {"iteration": p.iteration, "total": p.total, "elapsed": round(p.elapsed, 3),
                                "loss": p.loss, "content": p.content, "style": p.style,
                                "time_left": time_left(p.iteration, p.elapsed), "stage": p.stage}}
        if p.node:
            changes["node"] = p.node.split()[0]
        if p.rerun_of:  # the Ray node running it was lost and Ray started it again on another
            changes["note"] = (f"the node running it ({p.rerun_of.split()[0]}) was lost; rerun from the start on "
                               f"{p.node.split()[0]}")
        if p.image is not None:
            self.store.write_file(job_id, LATEST, encode_png(p.image))
            changes["preview"] = self.store.get(job_id)["preview"] + 1
        self.store.add_loss(job_id, [p.iteration, p.loss, p.content, p.style])
        persist = p.image is not None or time.monotonic() - last_persist[0] > PERSIST_EVERY_S
        if persist:
            last_persist[0] = time.monotonic()
        self.store.update(job_id, persist=persist, **changes)

    def _finish(self, job_id: str, outcome: JobOutcome) -> None:
        files = []
        if outcome.image is not None:
            self.store.write_file(job_id, RESULT, outcome.image)
            files.append(RESULT)
        for name, data in outcome.files.items():
            if FILE_NAME.match(name) and name != RESULT:
                self.store.write_file(job_id, name, data)
                files.append(name)
        status, error = outcome.status, option_names(outcome.error)
        with self._lock:
            if self._stopping and status == JobStatus.CANCELLED:
                status, error = JobStatus.INTERRUPTED, "the server stopped during this job; the image so far is kept"
        record = self.store.get(job_id)
        losses = [[h["iteration"], h["total"], h["content"], h["style"]] for h in outcome.history] \
            if outcome.history and record["kind"] == "transfer" else record["losses"]
        progress = record["progress"] or {}
        if outcome.iterations and record["kind"] == "transfer":
            progress = progress | {"iteration": outcome.iterations, "time_left": 0.0}
        where = {"node": outcome.node.split()[0]} if outcome.node else {}
        where |= {"note": outcome.note} if outcome.note else {}
        self.store.update(job_id, **where, status=status, error=error, finished=time.time(), files=files,
                          seconds=round(outcome.seconds, 2), iterations=outcome.iterations, final=outcome.losses,
                          losses=losses, progress=progress or None, stopping=False)
