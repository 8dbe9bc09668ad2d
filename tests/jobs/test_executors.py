"""The executors beyond this process: a dead worker is replaced and its job run again; progress and cancel
reach jobs in worker processes and on Ray."""

import os
import signal
import threading

import pytest

from nstyle.jobs.executors import ProcessExecutor, RayExecutor, default_workers, make_executor
from nstyle.jobs.spec import InputImage, JobSpec, ThreadExecutor

pytestmark = pytest.mark.integration
LONG = {"size": 64, "levels": 1, "iterations": 400, "tolerance": 0}  # long enough to be caught running


@pytest.fixture(scope="module")
def spec(images) -> JobSpec:
    return JobSpec(InputImage.read(images["tubingen"]), [InputImage.read(images["starry_night"])],
                   {"size": 64, "levels": 1, "iterations": 5})


def cancel_after_progress(executor, spec: JobSpec, iterations: int = 3):
    """Submit a long job, cancel it once ``iterations`` progress reports came back; the outcome and the reports."""
    seen, cancel = [], threading.Event()

    def on_progress(progress):
        seen.append(progress)
        if len(seen) >= iterations:
            cancel.set()

    long = JobSpec(spec.content, spec.styles, LONG)
    return executor.submit(long, on_progress, cancel).result(timeout=300), seen


def test_a_killed_worker_is_replaced_and_its_job_run_again(spec):
    executor = ProcessExecutor(workers=1, retries=1)
    killed = []

    def kill_once(progress):
        if not killed:
            pid = next(iter(executor.worker_pids().values()))
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    try:
        outcome = executor.submit(spec, kill_once).result(timeout=300)
    finally:
        executor.shutdown()
    assert killed
    assert outcome.status == "done" and outcome.iterations == 5 and outcome.pil_image().size[0] == 64


def test_a_job_whose_worker_keeps_dying_fails_with_the_reason(spec):
    executor = ProcessExecutor(workers=1, retries=0)

    def kill(progress):
        pids = executor.worker_pids()
        if pids:
            os.kill(next(iter(pids.values())), signal.SIGKILL)

    try:
        outcome = executor.submit(spec, kill).result(timeout=300)
        after = executor.submit(spec).result(timeout=300)  # the pool was replaced: the next job runs
    finally:
        executor.shutdown()
    assert outcome.status == "failed" and "worker process died 1 times" in outcome.error
    assert after.status == "done"


def test_progress_and_cancel_reach_a_worker_process(spec):
    executor = ProcessExecutor(workers=1)
    try:
        outcome, seen = cancel_after_progress(executor, spec)
    finally:
        executor.shutdown()
    assert outcome.status == "cancelled" and outcome.pil_image().size[0] == 64
    assert [p.iteration for p in seen[:3]] == [1, 2, 3] and seen[0].total == 400
    assert 3 <= outcome.iterations < 400


def test_progress_comes_back_from_ray(spec, ray_local):
    executor = RayExecutor()
    seen = []
    try:
        outcome = executor.submit(spec, seen.append, preview_every=2).result(timeout=300)
    finally:
        executor.shutdown()
    assert outcome.status == "done" and outcome.iterations == 5
    assert [p.iteration for p in seen] == [1, 2, 3, 4, 5]
    assert seen[1].image is not None and seen[1].image.size[0] == 64 and seen[2].image is None
    assert ray_local.is_initialized()  # a Ray the caller started is left running


def test_cancel_stops_a_ray_task_and_keeps_its_image(spec, ray_local):
    executor = RayExecutor()
    try:
        outcome, seen = cancel_after_progress(executor, spec)
        pending = threading.Event()
        pending.set()
        before_start = executor.submit(spec, cancel=pending).result(timeout=300)
    finally:
        executor.shutdown()
    assert outcome.status == "cancelled" and outcome.pil_image().size[0] == 64
    assert len(seen) >= 3 and 3 <= outcome.iterations < 400
    assert before_start.status == "cancelled"


def test_ray_refuses_a_local_weights_file(spec, ray_local):
    executor = RayExecutor()
    try:
        local = JobSpec(spec.content, spec.styles, spec.options | {"weights": "/here/vgg19.safetensors"})
        outcome = executor.submit(local).result(timeout=60)
    finally:
        executor.shutdown()
    assert outcome.status == "failed" and "weights" in outcome.error


def test_make_executor_picks_by_arguments():
    assert isinstance(make_executor(workers=0), ThreadExecutor)
    assert default_workers(cores=16, memory=64 * 1024**3) == 8
    assert default_workers(cores=16, memory=5 * 1024**3) == 2  # 2 GB a worker
    assert default_workers(cores=1, memory=None) == 1
