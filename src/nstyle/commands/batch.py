"""``nstyle batch``: many transfers from a CSV job list or folders, in worker processes or on Ray."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .options import add_transfer_options, defaults_of, given_options


def add(sub) -> None:
    retries = defaults_of("nstyle.jobs.executors:make_executor", "retries")["retries"]  # read, not imported

    b = sub.add_parser("batch", help="many transfers from a CSV job list or folders, here or on a Ray cluster",
                       description="Run every job of JOBS.csv (columns content, style (several separated by ';'), "
                                   "optionally output and any transfer option by name: size, iterations, model, "
                                   "style_weight, ...; an empty cell takes the default; paths relative to the CSV), "
                                   "or every --contents image with every --styles image, and write each result and "
                                   "results.csv to DIR. Transfer options given here apply to every job (a CSV cell "
                                   "overrides them). Running the same command again skips the jobs already done.")
    b.add_argument("jobs", nargs="?", metavar="JOBS.csv", help="the job list")
    b.add_argument("--contents", metavar="DIR_OR_GLOB", help="content images: a folder or a glob ('photos/*.jpg')")
    b.add_argument("--styles", metavar="DIR_OR_GLOB", help="style images: every content is painted in each")
    b.add_argument("-o", "--output", required=True, metavar="DIR", help="folder for the results and results.csv")
    b.add_argument("--workers", type=int, metavar="N",
                   help="worker processes on this machine, the cores shared among them (default: one per 2 cores, "
                        "as many as the free memory holds at 2 GB each; 0: in this process)")
    b.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run the jobs as Ray tasks: alone, on RAY_ADDRESS's cluster or a local Ray instance; with "
                        "an address, on that cluster (needs pip install 'nstyle[ray]')")
    b.add_argument("--retries", type=int, default=retries, metavar="N",
                   help="run a job again this many times when its worker or node is lost (default: %(default)s)")
    b.add_argument("--cpus-per-job", type=float, metavar="N", help="with --ray: cores each job asks for "
                   "(default: 2, or 1 beside a GPU)")
    b.add_argument("--gpus-per-job", type=float, metavar="F", help="with --ray: GPUs each job asks for, "
                   "0.5 shares one GPU between two jobs (default: 1 when the cluster has GPUs, else 0)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_transfer_options(b)
    b.set_defaults(func=cmd_batch)


def cmd_batch(args: argparse.Namespace) -> int:
    from ..jobs.batch import jobs_from_csv, jobs_from_globs, resolve_file_options, run_batch
    from ..jobs.executors import (
        check_workers,
        default_workers,
        import_ray,
        make_executor,
        refuse_local_weights_on_ray,
    )

    if args.jobs is None and args.ray and Path(args.ray).suffix.lower() == ".csv":
        args.jobs, args.ray = args.ray, ""  # `--ray JOBS.csv`: the job list, not an address
    if args.jobs and (args.contents or args.styles):
        raise UsageError("give a job list JOBS.csv or --contents and --styles, not both")
    if not args.jobs and not (args.contents and args.styles):
        raise UsageError("give a job list JOBS.csv, or both --contents and --styles")
    if args.retries < 0:
        raise UsageError(f"--retries must be 0 or more, not {args.retries}")
    check_workers(args.workers)  # before any work; the executor is made once the jobs are read
    defaults = resolve_file_options(given_options(args), Path.cwd())
    jobs = jobs_from_csv(args.jobs, defaults) if args.jobs else jobs_from_globs(args.contents, args.styles, defaults)
    if args.ray is not None:
        refuse_local_weights_on_ray(any(job.options.get("weights") for job in jobs))
        if args.workers is not None:
            raise UsageError("--workers counts processes on this machine; with --ray use --cpus-per-job")
        import_ray()  # before any work, with its one-line hint
    elif args.cpus_per_job is not None or args.gpus_per_job is not None:
        raise UsageError("--cpus-per-job and --gpus-per-job apply to --ray; on this machine use --workers")
    ray_options = {k: v for k, v in (("num_cpus", args.cpus_per_job), ("num_gpus", args.gpus_per_job))
                   if v is not None}

    def executor_for(count: int):  # no more workers than jobs left to run
        workers = args.workers
        if workers is None and args.ray is None:
            workers = min(default_workers(), count)
        return make_executor(workers, args.ray, args.retries, **ray_options)

    return run_batch(jobs, args.output, executor_for, quiet=args.quiet, job_list=args.jobs)
