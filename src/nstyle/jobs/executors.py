"""Executors beyond this process's ``nstyle.jobs.spec.ThreadExecutor``: worker processes on this machine, and
tasks on a Ray cluster; :func:`make_executor` picks one for a command's ``--workers`` and ``--ray``.

Both meet :class:`nstyle.jobs.spec.Executor`, so ``nstyle batch``, ``nstyle serve`` and ``nstyle video`` hand them
the same :class:`~nstyle.jobs.spec.JobSpec` and get the same :class:`~nstyle.jobs.spec.JobOutcome` back. A job's
own failure is an outcome, never an exception; what these executors add is surviving the loss of the process (or
the node) that ran a job: the job runs again, up to ``retries`` times, and is then reported ``failed`` with the
reason.

Progress callbacks run on a thread of the executor, not the caller's thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

from ..errors import UsageError
from .spec import LOCAL_ONLY_OPTIONS, JobOutcome, JobProgress, JobSpec, ThreadExecutor, execute
from .status import JobStatus

DEFAULT_RETRIES = 2
#: Threads one job gets by default: one image's convolutions use two cores well and more cores less well, so
#: several two-thread jobs side by side finish more pictures per hour than one job with every core.
THREADS_PER_JOB = 2
#: Memory one CPU worker may need (VGG19 at 512 px, L-BFGS history): the default never plans more workers.
WORKER_MEMORY_BYTES = 2 * 1024**3
RAY_INSTALL_HINT = "--ray needs Ray, an optional extra: pip install 'nstyle[ray]'"

ProgressCallback = Callable[[JobProgress], None]


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def default_workers(cores: int | None = None, memory: int | None = None) -> int:
    """One worker per ``THREADS_PER_JOB`` cores, no more than the free memory holds, at least one."""
    cores = cpu_count() if cores is None else cores
    memory = _available_memory() if memory is None else memory
    workers = max(1, cores // THREADS_PER_JOB)
    if memory:
        workers = min(workers, max(1, memory // WORKER_MEMORY_BYTES))
    return workers


def set_threads(threads: int) -> None:
    """Pin torch (and the OpenMP/MKL pools it starts) to ``threads`` threads, before torch does any work."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


@dataclass
class _Tracked:
    """A submitted job as the executor follows it: its caller's future, callbacks and attempts so far."""

    spec: JobSpec
    future: Future
    on_progress: ProgressCallback | None
    cancel: threading.Event | None
    preview_every: int
    attempts: int = 0
    breaks: int = 0  # pools broken under this job, started or not (bounds retries if "start" was missed)
    started: bool = False  # a worker process has taken it
    cancel_sent: bool = False  # its cancel went to the Ray task
    pid: int | None = None
    remote_cancel: object = field(default=None, repr=False)  # the worker processes' copy of ``cancel``
    handle: object = field(default=None, repr=False)  # the pool's future or the Ray ObjectRef of this attempt
    node: str = ""  # the Ray node its last progress came from
    lost: list[str] = field(default_factory=list)  # Ray nodes it was running on when they were lost


# ----------------------------------------------------------------------------------------------------------
# Worker processes on this machine


_worker_events = None  # set in each worker process by _init_worker


def _init_worker(threads: int, events, parent: int) -> None:
    import signal

    global _worker_events
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the workers itself
    threading.Thread(target=_exit_with_parent, args=(parent,), name="nstyle-parent-watch", daemon=True).start()
    set_threads(threads)
    _worker_events = events


def _exit_with_parent(parent: int) -> None:
    """A worker whose driver was killed outright (no chance to stop it) ends itself instead of computing on."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _watched_manager(context):
    """A multiprocessing manager whose server process ends with this one: after a SIGKILL of ``nstyle video
    --workers 2`` the plain manager (and the resource tracker it kept open) stayed orphaned for minutes."""
    from multiprocessing.managers import SyncManager

    manager = SyncManager(ctx=context)
    manager.start(_init_manager, (os.getpid(),))
    return manager


def _init_manager(parent: int) -> None:
    threading.Thread(target=_exit_with_parent, args=(parent,), name="nstyle-parent-watch", daemon=True).start()


def _run_in_worker(job_id: int, spec: JobSpec, want_progress: bool, cancel, preview_every: int) -> JobOutcome:
    _worker_events.put(("start", job_id, os.getpid()))
    report = (lambda p: _worker_events.put(("progress", job_id, p))) if want_progress else None
    return execute(spec, report, cancel, preview_every)


class ProcessExecutor:
    """Jobs in ``workers`` processes of this machine, the cores shared among them (``threads`` each).

    Processes are started with ``spawn`` (no inherited torch state), and ignore Ctrl-C: the driver decides.
    A worker that dies (killed, out of memory) breaks the pool; it is replaced and the jobs that were running
    in it run again, each up to ``retries`` times, then report ``failed``. ``on_progress`` is honoured (from a
    thread of this process); ``cancel`` too, through a multiprocessing manager started on first use.
    """

    def __init__(self, workers: int | None = None, retries: int = DEFAULT_RETRIES, threads: int | None = None):
        import multiprocessing

        self.workers = workers or default_workers()
        self.threads = threads or max(1, cpu_count() // self.workers)
        self.retries = retries
        self.capacity = self.workers
        self._context = multiprocessing.get_context("spawn")
        self._events = self._context.Queue()
        self._lock = threading.Lock()
        self._jobs: dict[int, _Tracked] = {}
        self._ids = itertools.count()
        self._manager = None
        self._closed = False
        self._pool = self._new_pool()
        self._listener = threading.Thread(target=self._listen, name="nstyle-worker-events", daemon=True)
        self._listener.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self._context, initializer=_init_worker,
                                   initargs=(self.threads, self._events, os.getpid()))

    def submit(self, spec: JobSpec, on_progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None, preview_every: int = 0) -> Future[JobOutcome]:
        job_id = next(self._ids)
        tracked = _Tracked(spec, Future(), on_progress, cancel, preview_every)
        tracked.future.set_running_or_notify_cancel()
        with self._lock:
            self._jobs[job_id] = tracked
        self._start(job_id)
        return tracked.future

    def _remote_cancel(self, cancel: threading.Event | None):
        """A cancel flag a worker process can see, mirroring ``cancel`` (set by the listener thread)."""
        if cancel is None:
            return None
        with self._lock:
            if self._manager is None:
                self._manager = _watched_manager(self._context)
        return self._manager.Event()

    def _start(self, job_id: int) -> None:
        tracked = self._jobs[job_id]
        if tracked.cancel is not None and tracked.cancel.is_set():
            self._finish(job_id, JobOutcome(JobStatus.CANCELLED))
            return
        tracked.started = False
        tracked.attempts += 1
        tracked.remote_cancel = remote = tracked.remote_cancel or self._remote_cancel(tracked.cancel)
        with self._lock:
            pool = self._pool
        try:
            handle = pool.submit(_run_in_worker, job_id, tracked.spec, tracked.on_progress is not None, remote,
                                 tracked.preview_every)
        except BrokenProcessPool:
            self._replace_pool(pool)
            tracked.attempts -= 1
            self._start(job_id)
            return
        except RuntimeError:  # shut down meanwhile
            self._finish(job_id, JobOutcome(JobStatus.CANCELLED))
            return
        tracked.handle = handle
        handle.add_done_callback(lambda f: self._ended(job_id, f, pool))

    def _replace_pool(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken and not self._closed:
                self._pool = self._new_pool()
        broken.shutdown(wait=False, cancel_futures=True)

    def _ended(self, job_id: int, handle: Future, pool: ProcessPoolExecutor) -> None:
        tracked = self._jobs.get(job_id)
        if tracked is None:
            return
        if handle.cancelled() or (self._closed and handle.exception() is not None):
            self._finish(job_id, JobOutcome(JobStatus.CANCELLED))
            return
        error = handle.exception()
        if error is None:
            self._finish(job_id, handle.result())
            return
        if not isinstance(error, BrokenProcessPool):
            self._finish(job_id, JobOutcome(JobStatus.FAILED, error=f"the worker process failed: {error}"))
            return
        tracked.breaks += 1
        if not tracked.started and tracked.breaks <= 2 * (self.retries + 1):
            tracked.attempts -= 1  # queued behind the job that broke the pool: not an attempt of its own
        elif tracked.attempts > self.retries:
            self._finish(job_id, JobOutcome(JobStatus.FAILED, error=f"the worker process died {tracked.attempts} "
                                                                     "times running this job (killed, or out of "
                                                                     "memory?)"))
            return
        # Not on the pool's own management thread: it is the one being replaced.
        threading.Thread(target=self._retry, args=(job_id, pool), daemon=True).start()

    def _retry(self, job_id: int, broken: ProcessPoolExecutor) -> None:
        self._replace_pool(broken)
        self._start(job_id)

    def _finish(self, job_id: int, outcome: JobOutcome) -> None:
        with self._lock:
            tracked = self._jobs.pop(job_id, None)
        if tracked is not None and not tracked.future.done():
            tracked.future.set_result(outcome)

    def _listen(self) -> None:
        """Start and progress messages from the workers; mirrors cancel flags into the workers' copies."""
        while True:
            try:
                message = self._events.get(timeout=0.2)
            except queue.Empty:
                message = None
            except (EOFError, OSError, ValueError):  # the queue was closed at shutdown
                return
            if message is None:
                if self._closed:
                    return
            elif message[0] == "start":
                tracked = self._jobs.get(message[1])
                if tracked is not None:
                    tracked.started, tracked.pid = True, message[2]
            elif message[0] == "progress":
                tracked = self._jobs.get(message[1])
                if tracked is not None and tracked.on_progress is not None:
                    with contextlib.suppress(Exception):  # a caller's bug must not stop the listener
                        tracked.on_progress(message[2])
            for tracked in list(self._jobs.values()):
                remote = tracked.remote_cancel
                if remote is not None and tracked.cancel.is_set() and not remote.is_set():
                    remote.set()
                    if tracked.handle is not None:
                        tracked.handle.cancel()  # not started yet: never starts

    def worker_pids(self) -> dict[int, int]:
        """The process id running each started job (for tests and diagnostics)."""
        return {i: t.pid for i, t in list(self._jobs.items()) if t.started and t.pid is not None}

    def _stop_workers(self, grace: float, cancel_futures: bool) -> None:
        """Shut the pool down, give each worker ``grace`` seconds to leave, then terminate it.

        Not ``shutdown(wait=True)``: after a pool was replaced it once hung for good joining its manager thread
        (seen in `make test`)."""
        with self._lock:
            pool = self._pool
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=cancel_futures)
        for process in processes:
            process.join(grace)
            if process.is_alive():
                with contextlib.suppress(Exception):
                    process.terminate()
                process.join(5)

    def shutdown(self, cancel_pending: bool = False) -> None:
        """Wait for the jobs (or, with ``cancel_pending``, stop them: the workers are terminated)."""
        if cancel_pending:
            self._closed = True
            self._stop_workers(grace=0.0, cancel_futures=True)
            for job_id in list(self._jobs):
                self._finish(job_id, JobOutcome(JobStatus.CANCELLED))
        else:
            while self._jobs:  # retries may replace the pool while we wait
                time.sleep(0.1)
            self._closed = True
            self._stop_workers(grace=10.0, cancel_futures=False)  # no job runs now: idle workers leave by themselves
        self._listener.join(2)
        if self._manager is not None:
            self._manager.shutdown()
        self._events.close()


# ----------------------------------------------------------------------------------------------------------
# Ray


def import_ray():
    """The ``ray`` module, or a one-line UsageError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(RAY_INSTALL_HINT) from None
    return ray


def ray_node() -> str:
    """The Ray node this task runs on, as ``IP node-id`` (the id's first 12 hex digits): results.csv's ``node``."""
    import ray

    return f"{ray.util.get_node_ip_address()} {ray.get_runtime_context().get_node_id()[:12]}"


def fetch_weights_once(model: str) -> None:
    """Fetch ``model``'s weights into this node's cache unless already there; concurrent tasks on one node wait
    for the first one's download instead of each downloading (a file lock in the cache)."""
    from ..models.registry import cache_dir, get_record
    from ..models.weights import fetch, is_cached

    record = get_record(model)
    if is_cached(record):
        return
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: fetch's own temporary folders keep concurrent downloads apart
        fetch(model)
        return
    with open(folder / f".{model}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            fetch(model)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class _CancelBoard:
    """A Ray actor holding the ids of cancelled jobs: ``ray.cancel`` alone can miss a task that is busy in native
    code when it arrives (seen once in the suite: the job ran to its end), so each task also reads this."""

    def __init__(self) -> None:
        self.cancelled: set[int] = set()

    def cancel(self, job_id: int) -> None:
        self.cancelled.add(job_id)

    def is_cancelled(self, job_id: int) -> bool:
        return job_id in self.cancelled


class _RemoteCancel:
    """The ``threading.Event`` face of a job's entry on the board, asked at most every ``every`` seconds."""

    def __init__(self, board, job_id: int, every: float = 0.25) -> None:
        self.board, self.job_id, self.every = board, job_id, every
        self._asked, self._set = 0.0, False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now - self._asked >= self.every:
            import ray

            self._asked = now
            self._set = bool(ray.get(self.board.is_cancelled.remote(self.job_id)))
        return self._set


def _ray_job(job_id: int, spec: JobSpec, threads: int, events, preview_every: int, board=None) -> JobOutcome:
    """One job as a Ray task: weights into this node's cache first, then ``execute`` with progress sent to the
    driver through ``events`` (a ``ray.util.queue.Queue``); Ray's cancel arrives as a KeyboardInterrupt, which
    the engine turns into a stop that keeps the image so far."""
    from ..core.options import TransferOptions
    from ..errors import NstyleError

    set_threads(threads)
    if spec.kind != "compare":  # a transfer or a shot: one network, named in the options as they travelled
        try:
            fetch_weights_once(spec.options.get("model", TransferOptions.model))
        except NstyleError:
            pass  # execute reports an unknown network or unreachable weights as this job's failure
    report = None
    node = ray_node()
    if events is not None:
        def report(progress: JobProgress) -> None:
            events.put_nowait(("progress", job_id, dataclasses.replace(progress, node=node)))
    outcome = execute(spec, report, None if board is None else _RemoteCancel(board, job_id), preview_every)
    outcome = dataclasses.replace(outcome, node=node)
    if events is not None:  # a cancelled task's own return value may be dropped by Ray; this copy is not
        events.put_nowait(("outcome", job_id, outcome))
    return outcome


def _noting_lost_nodes(outcome: JobOutcome, tracked: _Tracked) -> JobOutcome:
    """The outcome with a note of the nodes lost under the job, if any (seen from its progress moving node)."""
    if not tracked.lost:
        return outcome
    lost = ", ".join(n.split()[0] for n in tracked.lost)
    where = f"; rerun from the start on {outcome.node.split()[0]}" if outcome.node else ""
    return dataclasses.replace(outcome, note=f"the node running it ({lost}) was lost{where}")


class RayExecutor:
    """Each job a Ray task that asks for ``num_cpus`` cores (and ``num_gpus`` GPUs), so jobs spread over every
    node of a cluster. Inputs travel inside the JobSpec and the PNG comes back, so nodes share no file system;
    weights are fetched once per node into its cache. Tasks lost with a worker or a node are retried
    ``retries`` times by Ray. ``on_progress`` and ``cancel`` are honoured: progress comes back through a Ray
    queue, cancel is ``ray.cancel`` (a running job stops and returns its image so far).

    ``address=None`` joins ``RAY_ADDRESS`` if set, else starts a local Ray instance; an address joins that
    cluster. A Ray already initialised in this process is used as it is (and left running at shutdown).
    """

    def __init__(self, address: str | None = None, retries: int = DEFAULT_RETRIES, num_cpus: float | None = None,
                 num_gpus: float | None = None, init_options: dict | None = None):
        self.ray = ray = import_ray()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            address = address or os.environ.get("RAY_ADDRESS") or None
            options = {"include_dashboard": False, "log_to_driver": False, "logging_level": "ERROR"} \
                | (init_options or {})
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = f"the Ray cluster at {address}" if address else "a local Ray instance"
                raise UsageError(f"cannot start or join {where}: {' '.join(str(err).split())[:300]}") from None
        resources = ray.cluster_resources()
        if num_gpus is None:
            num_gpus = 1.0 if resources.get("GPU", 0) > 0 else 0.0
        if num_cpus is None:  # no more than the largest node has: a task asking more would wait for ever
            largest = max((n.get("Resources", {}).get("CPU", 0) for n in ray.nodes() if n.get("Alive")), default=1)
            num_cpus = 1.0 if num_gpus else float(min(THREADS_PER_JOB, max(1, int(largest))))
        self.num_cpus, self.num_gpus, self.retries = num_cpus, num_gpus, retries
        share = resources.get("GPU", 0) / num_gpus if num_gpus else resources.get("CPU", 1) / max(num_cpus, 1e-3)
        self.capacity = max(1, int(share))
        self._task = ray.remote(_ray_job).options(num_cpus=num_cpus, num_gpus=num_gpus, max_retries=retries,
                                                  retry_exceptions=False)
        self._lock = threading.Lock()
        self._jobs: dict[int, _Tracked] = {}
        self._ids = itertools.count()
        self._events = None
        self._board = None
        self._closed = False
        self._pump = threading.Thread(target=self._run_pump, name="nstyle-ray", daemon=True)
        self._pump.start()

    def _here(self):
        """Scheduling on the driver's own node: the executor's helper actors (the progress queue, the cancel board)
        must not live on a worker node, whose loss would take every job's messages with it."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        return NodeAffinitySchedulingStrategy(node_id=self.ray.get_runtime_context().get_node_id(), soft=False)

    def _event_queue(self):
        if self._events is None:
            from ray.util.queue import Queue

            self._events = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": self._here()})
        return self._events

    def _cancel_board(self):
        if self._board is None:
            self._board = self.ray.remote(num_cpus=0)(_CancelBoard).options(scheduling_strategy=self._here()).remote()
        return self._board

    def submit(self, spec: JobSpec, on_progress: ProgressCallback | None = None,
               cancel: threading.Event | None = None, preview_every: int = 0) -> Future[JobOutcome]:
        tracked = _Tracked(spec, Future(), on_progress, cancel, preview_every)
        tracked.future.set_running_or_notify_cancel()
        local = sorted(set(spec.options) & set(LOCAL_ONLY_OPTIONS))
        if local:
            tracked.future.set_result(JobOutcome(JobStatus.FAILED, error=f"{', '.join(local)} names a file on this "
                                                 "machine, which a Ray node cannot read; leave it out"))
            return tracked.future
        events = self._event_queue() if on_progress is not None or cancel is not None else None
        job_id = next(self._ids)
        threads = max(1, int(self.num_cpus))
        board = self._cancel_board() if cancel is not None else None
        tracked.handle = self._task.remote(job_id, spec, threads, events, preview_every, board)
        with self._lock:
            self._jobs[job_id] = tracked
        return tracked.future

    def _run_pump(self) -> None:
        """One thread for every job: progress messages, cancel requests, and completions."""
        ray = self.ray
        outcomes: dict[int, JobOutcome] = {}  # sent through the queue, for tasks whose return Ray drops
        while not (self._closed and not self._jobs):
            with self._lock:
                jobs = dict(self._jobs)
            self._drain(jobs, outcomes)
            for job_id, tracked in jobs.items():
                if tracked.cancel is not None and tracked.cancel.is_set() and not tracked.cancel_sent:
                    tracked.cancel_sent = True
                    with contextlib.suppress(Exception):  # the board is read by the task between iterations
                        self._board.cancel.remote(job_id)
                    with contextlib.suppress(Exception):  # finished meanwhile
                        ray.cancel(tracked.handle)
            if not jobs:
                time.sleep(0.05)
                continue
            refs = {t.handle: i for i, t in jobs.items()}
            ready, _ = ray.wait(list(refs), num_returns=len(refs), timeout=0.2, fetch_local=True)
            if ready:
                self._drain(jobs, outcomes)  # the last progress and any outcome copy, before the futures resolve
            for ref in ready:
                job_id = refs[ref]
                outcome = self._result(ref, outcomes.pop(job_id, None))
                with self._lock:
                    tracked = self._jobs.pop(job_id)
                tracked.future.set_result(_noting_lost_nodes(outcome, tracked))

    def _drain(self, jobs: dict[int, _Tracked], outcomes: dict[int, JobOutcome]) -> None:
        if self._events is None:
            return
        try:
            messages = self._events.get_nowait_batch(self._events.qsize())
        except Exception:  # the queue actor is gone (shutdown): nothing more will come
            return
        for kind, job_id, payload in messages:
            tracked = jobs.get(job_id)
            if kind == "outcome":
                outcomes[job_id] = payload
            elif tracked is not None:
                if tracked.node and payload.node and payload.node != tracked.node:  # Ray reran it elsewhere
                    tracked.lost.append(tracked.node)
                    payload = dataclasses.replace(payload, rerun_of=tracked.node)
                tracked.node = payload.node or tracked.node
                if tracked.on_progress is not None:
                    with contextlib.suppress(Exception):  # a caller's bug must not stop the pump
                        tracked.on_progress(payload)

    def _result(self, ref, sent: JobOutcome | None) -> JobOutcome:
        ray = self.ray
        try:
            return ray.get(ref)
        except ray.exceptions.TaskCancelledError:
            return sent or JobOutcome(JobStatus.CANCELLED)
        except Exception as err:  # the worker or node was lost more often than retried, out of memory, ...
            if sent is not None:
                return sent
            reason = " ".join(str(err).split())[:200]
            return JobOutcome(JobStatus.FAILED, error=f"lost on Ray ({type(err).__name__}, after up to "
                                                       f"{self.retries} retries): {reason}")

    def shutdown(self, cancel_pending: bool = False) -> None:
        if cancel_pending:
            with self._lock:
                jobs = list(self._jobs.values())
            for tracked in jobs:
                with contextlib.suppress(Exception):
                    self.ray.cancel(tracked.handle, force=True)
        self._closed = True
        self._pump.join()
        if self._events is not None:
            with contextlib.suppress(Exception):
                self._events.shutdown()
        if self._owns_ray:
            self.ray.shutdown()


def refuse_local_weights_on_ray(weights) -> None:
    """``--weights`` with ``--ray``: a file on this machine, which the nodes cannot read."""
    if weights:
        raise UsageError("--weights names a file on this machine, which Ray nodes cannot read; leave it out "
                         "with --ray (each node fetches the weights into its own cache)")


def check_workers(workers: int | None) -> None:
    """``--workers``: None (the default), 0 (in the caller's process) or a count."""
    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be 0 (in this process) or more, not {workers}")


def make_executor(workers: int | None = None, ray: str | None = None, retries: int = DEFAULT_RETRIES,
                  **ray_options):
    """The executor a command asked for: ``ray`` None = this machine, "" = Ray (``RAY_ADDRESS`` or a local
    instance), an address = that cluster; on this machine ``workers`` 0 runs jobs in this process, one at a
    time, and None picks ``default_workers()``."""
    if ray is not None:
        return RayExecutor(ray or None, retries=retries, **ray_options)
    check_workers(workers)
    if workers == 0:
        return ThreadExecutor()
    return ProcessExecutor(workers, retries=retries)
