"""Batch throughput: the same 8 jobs at 256 px with 1 worker, with the default local workers, and on a local Ray
instance, in one process; jobs per hour for each.

The 8 jobs: tubingen, shipwreck and hoovertowernight, each in the style of starry_night,
woman-with-hat-matisse and shipwreck (less shipwreck in its own style), nstyle's default settings at 256 px
(128 then 256 px, 80 + 20 evaluations). Each configuration writes into a fresh folder through
``nstyle.jobs.batch.run_batch``, as ``nstyle batch`` does, so the wall time includes starting the workers and
loading the network in each; Ray's own start-up is measured apart (a cluster is already running in real use).

    python benchmarks/batch.py [--size 256] [--configs one,default,ray,cores] [-o DIR]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from pathlib import Path

from common import IMAGES, machine_line

from nstyle.jobs.batch import BatchJob, name_outputs, run_batch
from nstyle.jobs.executors import THREADS_PER_JOB, ProcessExecutor, RayExecutor, cpu_count, default_workers

CONTENTS = ("tubingen", "shipwreck", "hoovertowernight")
STYLES = ("starry_night", "woman-with-hat-matisse", "shipwreck")


def the_jobs(size: int) -> list[BatchJob]:
    pairs = [(c, s) for c in CONTENTS for s in STYLES if c != s]
    return name_outputs([BatchJob(n, IMAGES / f"{c}.jpg", [IMAGES / f"{s}.jpg"], {"size": size})
                         for n, (c, s) in enumerate(pairs, start=1)], "benchmark")


def measure(name: str, jobs: list[BatchJob], folder: Path, make) -> dict:
    start = time.perf_counter()
    code = run_batch(jobs, folder, make, quiet=True)
    wall = time.perf_counter() - start
    with open(folder / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if code != 0 or any(r["status"] != "done" for r in rows):
        raise SystemExit(f"{name}: the batch did not finish cleanly (exit {code}); see {folder / 'results.csv'}")
    seconds = [float(r["seconds"]) for r in rows]
    return {"name": name, "wall": wall, "jobs_per_hour": len(jobs) * 3600 / wall,
            "job_median": statistics.median(seconds), "job_sum": sum(seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--configs", default="one,default,ray,cores",
                        help="one (1 worker), default (default workers), cores (one worker per core, 1 thread "
                             "each), ray (a local Ray instance with every core)")
    parser.add_argument("-o", "--output", type=Path, help="keep the results here (default: a temporary folder)")
    args = parser.parse_args()
    cores = cpu_count()
    jobs = the_jobs(args.size)
    workers = min(default_workers(), len(jobs))
    configs = {
        "one": (f"1 worker x {cores} threads", lambda n: ProcessExecutor(1)),
        "default": (f"default: {workers} worker(s) x {max(1, cores // workers)} threads",
                    lambda n: ProcessExecutor(workers)),
        "cores": (f"{cores} workers x 1 thread", lambda n: ProcessExecutor(cores, threads=1)),
    }
    root = args.output or Path(tempfile.mkdtemp(prefix="nstyle-batch-bench-"))
    print(machine_line("benchmarks/batch.py"))
    print(f"{len(jobs)} jobs at {args.size} px, {cores} cores; results under {root}")
    results = []
    for key in args.configs.split(","):
        if key == "ray":
            import ray

            start = time.perf_counter()
            ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
            started = time.perf_counter() - start
            per_task = min(THREADS_PER_JOB, cores)
            result = measure(f"Ray, local instance, {cores} CPUs, {per_task} CPUs a task", jobs, root / key,
                             lambda n: RayExecutor())
            result["note"] = f"ray.init {started:.1f} s, not counted"
            ray.shutdown()
        elif key == "default" and workers == 1 and results and results[0]["name"].startswith("1 worker"):
            result = dict(results[0], name=configs[key][0], note="the same configuration as 1 worker here: "
                                                                  "not run twice")
        elif key == "cores" and cores == workers:
            continue  # the default configuration already is one worker per core
        else:
            name, make = configs[key]
            result = measure(name, jobs, root / key, make)
        results.append(result)
        print(f"  {result['name']}: {result['wall']:.0f} s, {result['jobs_per_hour']:.0f} jobs/hour", flush=True)
    print()
    print("| configuration | wall time | jobs / hour | median job | sum of job times | note |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['wall']:.0f} s | {r['jobs_per_hour']:.0f} | {r['job_median']:.1f} s "
              f"| {r['job_sum']:.0f} s | {r.get('note', '')} |")


if __name__ == "__main__":
    main()
