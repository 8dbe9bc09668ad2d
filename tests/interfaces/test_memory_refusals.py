"""What will not fit is refused at every entry point with the Painter's one line, before any weights load: the
command line, the web API (400 at submission, nothing stored) and its jobs, batch jobs and video. The memory free is
mocked (``nstyle.core.memory.available_bytes``) except where a size needs more than any machine has."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import PIL.Image
import pytest

from nstyle.cli import main
from nstyle.core import memory
from nstyle.core.options import TransferOptions
from nstyle.errors import UsageError
from nstyle.jobs.spec import InputImage, JobSpec, encode_png, execute

GB = 2**30
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No weights can load: an empty cache and no downloads (a weights message would mean they were asked for)."""
    monkeypatch.setenv("NSTYLE_OFFLINE", "1")
    monkeypatch.setenv("NSTYLE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 8 * GB)


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("flags", "message"), [
    (["--size", "32768"], r"--size 32768 needs about \d+ GB of memory and 8\.0 GB is free \(a run may take 85% of "
                          r"it\); the largest --size that fits is about \d+"),
    (["--style-scale", "16"], r"--style-scale 16 needs about \d+ GB of memory and 8\.0 GB is free .*; the largest "
                              r"--style-scale that fits is about [\d.]+"),
    (["--size", "100000"], r"--size 100000: must be at most 32768"),  # the schema's bound, before the estimate
])
def test_the_command_line_refuses_in_one_line_before_any_weights_load(flags, message, offline, images, tmp_path,
                                                                      capsys):
    code = main(["transfer", str(images["tubingen"]), str(images["starry_night"]), "-o", str(tmp_path / "out.png"),
                 "-q", "--device", "cpu", *flags])
    out, err = capsys.readouterr()
    assert code == 2
    assert re.fullmatch("nstyle: error: " + message, one_line(err)), err
    assert not (tmp_path / "out.png").exists() and not (tmp_path / "empty-cache").exists()


def test_a_size_no_machine_has_is_refused_by_a_real_process(images, tmp_path):
    """Nothing mocked: --size 32768 needs hundreds of GB; the process says so and ends, weights never asked for."""
    env = os.environ | {"PYTHONPATH": str(SRC), "NSTYLE_OFFLINE": "1", "NSTYLE_CACHE": str(tmp_path / "empty")}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nstyle", "transfer", str(images["tubingen"]),
                           str(images["starry_night"]), "-o", str(tmp_path / "out.png"), "--size", "32768", "-q"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert re.fullmatch(r"nstyle: error: --size 32768 needs about \d+ GB of memory and \d+(\.\d)? GB is free .*; "
                        r"the largest --size that fits is about \d+.*", line), line
    assert time.monotonic() - start < 60


def test_a_video_is_refused_before_its_frames_are_resized(offline, tmp_path, monkeypatch):
    from nstyle.video import stylise

    frames = [PIL.Image.new("RGB", (64, 48), c) for c in ("red", "blue")]
    resized = []
    real = stylise.resize_to_long_side
    monkeypatch.setattr(stylise, "resize_to_long_side", lambda im, size: resized.append(size) or real(im, size))
    with pytest.raises(UsageError, match=r"^--size 32768 needs about .* the largest --size that fits"):
        stylise.stylise_frames(frames, PIL.Image.new("RGB", (64, 48), "green"), tmp_path / "frames",
                               {"size": 32768, "device": "cpu"})
    assert resized == []


def test_every_video_frame_goes_through_the_check(offline, monkeypatch):
    """Frames after the first are painted by a Painter of their own, with the network shared: each is checked."""
    from nstyle.core.engine import Painter

    seen = []
    monkeypatch.setattr("nstyle.core.engine.check_fits", lambda *a, **kw: seen.append(kw["loaded"]))
    Painter(PIL.Image.new("RGB", (64, 48)), PIL.Image.new("RGB", (64, 48)),
            TransferOptions(size=64, device="cpu"), backbone=SimpleNamespace(min_input_size=16))
    assert seen == [True]


@pytest.mark.parametrize("paper", [False, True])
def test_a_comparison_and_the_papers_run_are_refused_before_the_judge_or_any_network_loads(paper, offline, tmp_path):
    from nstyle.eval.compare import compare

    content, style = PIL.Image.new("RGB", (64, 48)), PIL.Image.new("RGB", (64, 48))
    with pytest.raises(UsageError, match=r"^--size \d+ needs about .* the largest --size that fits"):
        compare(content, style, tmp_path / "out", models=["squeezenet1_1", "vgg19"], size=20000, iterations=2,
                paper=paper, device="cpu", quiet=True)
    assert not (tmp_path / "empty-cache").exists()


def small_spec(**options) -> JobSpec:
    image = InputImage("content.png", encode_png(PIL.Image.new("RGB", (64, 48), "red")))
    return JobSpec(image, [InputImage("style.png", encode_png(PIL.Image.new("RGB", (64, 48), "blue")))],
                   {"device": "cpu"} | options)


def test_a_job_that_will_not_fit_fails_with_the_message(offline):
    """Batch and the web's jobs run through ``execute``: the job fails, with one line, and nothing else breaks."""
    outcome = execute(small_spec(size=32768))
    assert outcome.status == "failed"
    assert re.fullmatch(r"--size 32768 needs about .* the largest --size that fits is about \d+", outcome.error)


@pytest.mark.integration
def test_a_batch_job_that_will_not_fit_fails_and_the_others_run(offline, monkeypatch, images, tmp_path, capsys):
    monkeypatch.delenv("NSTYLE_OFFLINE")
    monkeypatch.delenv("NSTYLE_CACHE")  # the real weights, for the job that runs
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style,size,iterations,levels\n"
                    f"{images['tubingen']},{images['starry_night']},32768,2,1\n"
                    f"{images['tubingen']},{images['shipwreck']},64,2,1\n")
    code = main(["batch", str(jobs), "-o", str(tmp_path / "out"), "-q", "--workers", "0"])
    assert code == 1
    with open(tmp_path / "out" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["status"] for r in rows] == ["failed", "done"]
    assert rows[0]["error"].startswith("--size 32768 needs about ") and "\n" not in rows[0]["error"]


# -- the web API --------------------------------------------------------------------------------------------------

fastapi = pytest.importorskip("fastapi", reason="the web extra is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from nstyle.web import create_app  # noqa: E402
from nstyle.web.uploads import Limits  # noqa: E402


def post(client, options: dict, kind: str = "transfer", size=(400, 300)):
    image = encode_png(PIL.Image.new("RGB", size, "red"))
    return client.post("/api/jobs", files=[("content", ("c.png", image)), ("style", ("s.png", image))],
                       data={"options": json.dumps(options), "kind": kind})


class IdleExecutor:
    """Runs nothing (each job ends at once, cancelled): these tests are about what is refused before a job is
    stored."""

    def submit(self, spec, on_progress=None, cancel=None, preview_every=0):
        from concurrent.futures import Future

        from nstyle.jobs.spec import JobOutcome

        future = Future()
        future.set_result(JobOutcome("cancelled"))
        return future

    def shutdown(self, cancel_pending=False):
        pass


@pytest.fixture
def client(tmp_path, offline):
    def make(limits: Limits | None = None) -> TestClient:
        return TestClient(create_app(tmp_path / "data", executor=IdleExecutor(), limits=limits),
                          base_url="http://127.0.0.1:8000")
    return make


@pytest.mark.parametrize(("options", "message"), [
    ({"style_scale": 3}, "option style_scale: more than 0 and at most 2 on this server, not 3"),
    ({"tile": 256}, "option tile: 0 (never tile) or at least 512 on this server, not 256"),
    ({"levels": 7}, "option levels: between 0 and 6, not 7"),
    ({"size": 2048}, "option size: between 16 and 1024 pixels on this server, not 2048"),
])
def test_the_server_bounds_every_option_that_scales_work_or_memory(options, message, client):
    with client() as c:
        reply = post(c, options)
        assert (reply.status_code, reply.json()["detail"]) == (400, message)
        assert c.get("/api/jobs").json()["jobs"] == []
        assert c.get("/api/options").json()["limits"]["max_style_scale"] == 2


@pytest.mark.parametrize(("kind", "options", "start"), [
    ("transfer", {"size": 1024}, "size 1024 needs about "),
    ("transfer", {"style_scale": 16}, "style_scale 16 needs about "),
    ("compare", {"size": 1024, "models": ["squeezenet1_1", "vgg19"]}, "size 1024 needs about "),
])
def test_a_job_that_will_not_fit_is_a_400_at_submission_and_nothing_is_stored(kind, options, start, client,
                                                                                monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 2 * GB)
    with client(Limits(max_style_scale=16)) as c:
        reply = post(c, options, kind)
        assert reply.status_code == 400
        detail = reply.json()["detail"]
        assert detail.startswith(start) and "2.0 GB is free" in detail and "--" not in detail, detail
        assert c.get("/api/jobs").json()["jobs"] == []
        assert not any(c.app.state.store.jobs_dir.iterdir())
        assert post(c, {"size": 256}).status_code == 201  # what fits is taken


def test_what_the_running_job_holds_counts_as_free_for_the_next(client, monkeypatch):
    need = memory.needed_bytes(TransferOptions(size=1024, device="cpu"), (400, 300), [(400, 300)])
    monkeypatch.setattr(memory, "available_bytes", lambda device=None: int(need / memory.USABLE_SHARE) - 100 * 2**20)
    with client() as c:
        assert post(c, {"size": 1024}).status_code == 400
        monkeypatch.setattr(c.app.state.jobs, "held_bytes", lambda: 200 * 2**20)
        assert post(c, {"size": 1024}).status_code == 201


@pytest.mark.integration
def test_a_cancelled_job_gives_its_memory_back_and_the_api_answers_meanwhile(images, tmp_path):
    """A real server: its RSS idle, while a 512 px job runs and after it is cancelled; GETs meanwhile."""
    import httpx

    sys.path.insert(0, str(Path(__file__).parent))
    from web_server import free_port

    port = free_port()
    env = os.environ | {"PYTHONPATH": str(SRC)}
    server = subprocess.Popen([sys.executable, "-m", "nstyle", "serve", "--port", str(port), "--data",
                               str(tmp_path / "data")], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        client.get("/api/options")
        idle = _rss(server.pid)
        files = [("content", ("c.jpg", images["tubingen"].read_bytes())),
                 ("style", ("s.jpg", images["starry_night"].read_bytes()))]
        options = {"size": 512, "levels": 1, "iterations": 500, "tolerance": 0}
        job = client.post("/api/jobs", files=files, data={"options": json.dumps(options)}).json()["id"]
        running, slowest = 0, 0.0
        deadline = time.monotonic() + 300
        while (client.get(f"/api/jobs/{job}").json().get("progress") or {}).get("iteration", 0) < 3:
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.5)
        for _ in range(6):  # while the job computes
            t0 = time.monotonic()
            assert client.get("/api/jobs").status_code == 200 and client.get("/").status_code == 200
            slowest = max(slowest, time.monotonic() - t0)
            running = max(running, _rss(server.pid))
            time.sleep(0.5)
        client.delete(f"/api/jobs/{job}")
        while client.get(f"/api/jobs/{job}").json()["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        time.sleep(1.0)
        after = _rss(server.pid)
        assert running > idle + 300 * 2**20  # the job really held memory
        assert after < idle + 200 * 2**20, (idle / 2**20, running / 2**20, after / 2**20)
        assert slowest < 1.0
    finally:
        server.send_signal(2)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln for ln in f if ln.startswith("VmRSS:")).split()[1]) * 1024

