"""The web API through FastAPI's TestClient: jobs, the worker queue, cancelling, restarts, bad uploads.

Most tests run the queue with a gated stand-in executor (no network weights: the job waits until the test
releases it, so "while it runs" is a state the test holds, not a race); the integration tests at the end run
real tiny jobs (64 px, a few iterations).
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields

import PIL.Image
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (make setup installs it)")
from fastapi.testclient import TestClient  # noqa: E402

from nstyle.core.options import TransferOptions  # noqa: E402
from nstyle.jobs.spec import InputImage, JobOutcome, JobProgress, encode_png  # noqa: E402
from nstyle.web import create_app  # noqa: E402
from nstyle.web.progress import TimeLeft  # noqa: E402
from nstyle.web.store import JobStore  # noqa: E402
from nstyle.web.uploads import Limits  # noqa: E402

WAIT_S = 60.0  # a deadline for states the test is waiting for, not a timing measurement
LOCAL = "http://127.0.0.1:8000"


def png(color: str = "red", size: tuple[int, int] = (32, 24)) -> bytes:
    return encode_png(PIL.Image.new("RGB", size, color))


class GatedExecutor:
    """Each job reports three iterations (the first with a red preview), then waits for ``release`` or its
    cancel event: cancelled keeps the red image, released gives a blue result."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=1)

    def submit(self, spec, on_progress=None, cancel=None, preview_every=0):
        def work() -> JobOutcome:
            self.started.append(spec.options.get("seed"))
            red = PIL.Image.open(io.BytesIO(png("red"))).convert("RGB")
            for i in (1, 2, 3):
                on_progress(JobProgress(i, 10, 0.5 * i, 10.0 / i, 1.0, 2.0, red if i == 1 else None))
            while not self.release.wait(0.01):
                if cancel.is_set():
                    return JobOutcome("cancelled", image=png("red"), iterations=3)
            history = [{"iteration": i, "total": 10.0 / i, "content": 1.0, "style": 2.0, "tv": 0.0}
                       for i in range(1, 11)]
            return JobOutcome("done", image=png("blue"), seconds=5.0, iterations=10, history=history,
                              losses={"total": 1.0})

        return self._pool.submit(work)

    def shutdown(self, cancel_pending: bool = False) -> None:
        self.release.set()
        self._pool.shutdown(wait=True)


def upload(content: bytes | None = None, styles: list[bytes] | None = None, options: dict | None = None,
           kind: str | None = None) -> dict:
    files = [("content", ("photo.png", content if content is not None else png("green")))]
    files += [("style", (f"painting{i}.png", s)) for i, s in enumerate(styles if styles is not None else [png("blue")])]
    data = {"options": json.dumps(options or {})}
    if kind:
        data["kind"] = kind
    return {"files": files, "data": data}


def wait_for(client: TestClient, job_id: str, condition, seconds: float = WAIT_S) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        record = client.get(f"/api/jobs/{job_id}").json()
        if condition(record):
            return record
        assert time.monotonic() < deadline, f"job never reached the state; last: {record['status']}"
        time.sleep(0.02)


def local(app) -> TestClient:
    """A client that names the server as a browser on this machine does (the app refuses TestClient's own
    ``testserver``, a name it does not serve)."""
    return TestClient(app, base_url=LOCAL)


@pytest.fixture
def gated(tmp_path):
    executor = GatedExecutor()
    with local(create_app(tmp_path, executor=executor)) as client:
        yield client, executor


def test_a_job_runs_with_progress_previews_and_a_result(gated):
    client, executor = gated
    reply = client.post("/api/jobs", **upload(options={"size": 64, "seed": 1}))
    assert reply.status_code == 201
    job_id = reply.json()["id"]
    record = wait_for(client, job_id, lambda r: r["progress"] and r["progress"]["iteration"] == 3)
    assert record["status"] == "running"
    assert record["progress"]["total"] == 10 and record["progress"]["loss"] == pytest.approx(10 / 3)
    assert record["progress"]["time_left"] > 0
    preview = client.get(f"/api/jobs/{job_id}/image")  # the picture so far
    assert preview.status_code == 200 and PIL.Image.open(io.BytesIO(preview.content)).getpixel((0, 0)) == (255, 0, 0)

    executor.release.set()
    record = wait_for(client, job_id, lambda r: r["status"] == "done")
    assert record["files"] == ["result.png"] and record["iterations"] == 10 and len(record["losses"]) == 10
    assert record["options"] == {"size": 64, "seed": 1}
    assert record["names"] == {"content": "photo.png", "styles": ["painting0.png"]}
    result = client.get(f"/api/jobs/{job_id}/image", params={"download": "true"})
    assert PIL.Image.open(io.BytesIO(result.content)).getpixel((0, 0)) == (0, 0, 255)
    assert result.headers["content-disposition"] == f'attachment; filename="nstyle-{job_id[:8]}.png"'
    listed = client.get("/api/jobs").json()["jobs"]
    assert [j["id"] for j in listed] == [job_id] and "losses" not in listed[0]


def test_jobs_run_one_at_a_time_and_the_server_answers_meanwhile(gated):
    client, executor = gated
    first = client.post("/api/jobs", **upload(options={"seed": 1})).json()["id"]
    wait_for(client, first, lambda r: r["progress"] and r["progress"]["iteration"] == 3)
    second = client.post("/api/jobs", **upload(options={"seed": 2})).json()["id"]
    statuses = {j["id"]: j["status"] for j in client.get("/api/jobs").json()["jobs"]}
    assert statuses == {first: "running", second: "queued"}
    assert executor.started == [1]
    executor.release.set()
    wait_for(client, second, lambda r: r["status"] == "done")
    assert executor.started == [1, 2]


def test_stop_keeps_the_image_so_far_and_a_queued_job_never_starts(gated):
    client, executor = gated
    running = client.post("/api/jobs", **upload(options={"seed": 1})).json()["id"]
    wait_for(client, running, lambda r: r["progress"] and r["progress"]["iteration"] == 3)
    queued = client.post("/api/jobs", **upload(options={"seed": 2})).json()["id"]
    assert client.delete(f"/api/jobs/{queued}").json()["status"] == "cancelled"
    client.delete(f"/api/jobs/{running}")
    record = wait_for(client, running, lambda r: r["status"] == "cancelled")
    assert record["files"] == ["result.png"]
    kept = client.get(f"/api/jobs/{running}/image").content
    assert PIL.Image.open(io.BytesIO(kept)).getpixel((0, 0)) == (255, 0, 0)
    time.sleep(0.2)  # give a wrongly started queued job the chance to show up
    assert executor.started == [1]
    assert client.get(f"/api/jobs/{queued}").json()["status"] == "cancelled"


def test_rerun_makes_a_new_job_with_the_same_images_and_options(gated, tmp_path):
    client, executor = gated
    executor.release.set()
    first = client.post("/api/jobs", **upload(content=png("yellow"), options={"size": 80})).json()["id"]
    wait_for(client, first, lambda r: r["status"] == "done")
    again = client.post(f"/api/jobs/{first}/rerun")
    assert again.status_code == 201
    second = again.json()["id"]
    record = wait_for(client, second, lambda r: r["status"] == "done")
    assert second != first and record["options"] == {"size": 80}
    assert (tmp_path / "jobs" / second / "content.png").read_bytes() == png("yellow")


def test_server_sent_events_follow_a_job_to_its_end(gated):
    client, executor = gated
    job_id = client.post("/api/jobs", **upload()).json()["id"]
    events = []
    with client.stream("GET", f"/api/jobs/{job_id}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
            elif line.startswith("data:") and events[-1] == "job":
                record = json.loads(line[5:])
                if record["progress"] and record["progress"]["iteration"] == 3:
                    executor.release.set()
            if events and events[-1] == "end":
                break
    assert events[-1] == "end" and events.count("job") >= 2
    assert record["status"] == "done" and "losses" not in record


def test_a_restart_marks_unfinished_jobs_interrupted_and_keeps_finished_ones(tmp_path):
    store = JobStore(tmp_path)
    image = InputImage("content.png", png("green"))
    finished = store.create("transfer", {"size": 64}, image, [image])["id"]
    store.write_file(finished, "result.png", png("blue"))
    store.update(finished, status="done", files=["result.png"], iterations=10)
    running = store.create("transfer", {}, image, [image])["id"]
    store.write_file(running, "latest.png", png("red"))
    store.update(running, status="running", preview=1)
    queued = store.create("transfer", {}, image, [image])["id"]
    before = (tmp_path / "jobs" / finished / "job.json").read_bytes()
    (tmp_path / "jobs" / ".tmp-0123").mkdir()  # a job whose creation was cut short
    (tmp_path / "jobs" / ("f" * 32)).mkdir()  # a folder without a record: skipped, not fatal

    with local(create_app(tmp_path, executor=GatedExecutor())) as client:  # the "restart"
        jobs = {j["id"]: j for j in client.get("/api/jobs").json()["jobs"]}
        assert set(jobs) == {finished, running, queued}
        assert jobs[finished]["status"] == "done"
        assert jobs[running]["status"] == "interrupted" and jobs[queued]["status"] == "interrupted"
        assert "server stopped" in jobs[running]["error"]
        assert client.get(f"/api/jobs/{finished}/image").content == png("blue")
        assert client.get(f"/api/jobs/{running}/image").content == png("red")  # the picture it had reached
    assert (tmp_path / "jobs" / finished / "job.json").read_bytes() == before  # finished records untouched
    assert not (tmp_path / "jobs" / ".tmp-0123").exists()
    on_disk = json.loads((tmp_path / "jobs" / running / "job.json").read_text())
    assert on_disk["status"] == "interrupted"


#: What the checks of an upload refuse, the same for a job and a preview (``web.uploads``): the request, the
#: limits, the status and a part of the one-line message.
UPLOAD_PROBLEMS = [
    (upload(content=b"hello, not an image"), Limits(), 400, "not a recognised image format"),
    (upload(styles=[b"\x89PNG\r\n\x1a\n" + b"\0" * 40]), Limits(), 400, "style0 image"),
    (upload(content=png(size=(400, 300))), Limits(max_file_bytes=500), 413, "larger than the limit of"),
    (upload(content=png(size=(400, 300))), Limits(max_pixels=10_000), 400, "decompression bomb"),
    (upload(styles=[png()] * 3), Limits(max_styles=2), 400, "at most 2"),
    (upload(styles=[]), Limits(), 400, "no style image"),
]


@pytest.mark.parametrize(("request_kw", "limits", "status", "message"), [
    *UPLOAD_PROBLEMS,
    (upload(options={"size": 5000}), Limits(), 400, "option size: between 16 and 1024"),
    (upload(options={"weights": "/etc/passwd"}), Limits(), 400, "unsettable option(s): weights"),
    (upload(options={"init": "/etc/passwd"}), Limits(), 400, "option init: choose from"),
    (upload(options={"iterations": "many"}), Limits(), 400, "option iterations: give a whole number"),
    (upload(options={"strength": 3}), Limits(), 400, "strength 3: must be at most 1"),
    (upload(options={"style_blend": [1, 2]}), Limits(), 400, "style_blend has 2 weight(s) for 1 style"),
    (upload(options={"model": "vgg99"}), Limits(), 400, "option model: choose from"),
    (upload(styles=[png(), png()], kind="compare"), Limits(), 400, "comparison takes one style image"),
    (upload(options={"models": ["vgg19", "nope"]}, kind="compare"), Limits(), 400, "unknown network(s) nope"),
    (upload(kind="sweep"), Limits(), 400, "kind must be one of"),
])
def test_bad_uploads_get_a_clear_4xx_and_store_nothing(tmp_path, request_kw, limits, status, message):
    with local(create_app(tmp_path, executor=GatedExecutor(), limits=limits)) as client:
        reply = client.post("/api/jobs", **request_kw)
        assert reply.status_code == status, reply.text
        assert message in reply.json()["detail"]
        assert "\n" not in reply.json()["detail"]
        assert client.get("/api/jobs").json()["jobs"] == []
    assert list((tmp_path / "jobs").iterdir()) == []


def test_options_json_must_be_an_object(gated):
    client, _ = gated
    reply = client.post("/api/jobs", files=upload()["files"], data={"options": "[1, 2]"})
    assert reply.status_code == 400 and "JSON object" in reply.json()["detail"]


def test_an_upload_larger_than_the_request_limit_is_refused_before_reading(tmp_path):
    limits = Limits(max_file_bytes=1000, max_styles=1)
    with local(create_app(tmp_path, executor=GatedExecutor(), limits=limits)) as client:
        reply = client.post("/api/jobs", **upload(content=b"x" * (limits.max_request_bytes + 1)))
        assert reply.status_code == 413 and "in all" in reply.json()["detail"]


def test_ids_and_file_names_from_a_request_never_reach_the_disk(gated):
    client, executor = gated
    executor.release.set()
    job_id = client.post("/api/jobs", **upload()).json()["id"]
    wait_for(client, job_id, lambda r: r["status"] == "done")
    assert client.get(f"/api/jobs/{job_id}/files/content.png").status_code == 200
    for path in (f"/api/jobs/{job_id}/files/job.json", f"/api/jobs/{job_id}/files/..%2Fjob.json",
                 f"/api/jobs/{job_id}/files/%2Fetc%2Fpasswd", f"/api/jobs/{'0' * 32}", "/api/jobs/..%2F..%2Fetc",
                 f"/api/jobs/{job_id.upper()}/image"):
        reply = client.get(path)
        assert reply.status_code == 404, path
        assert "root:" not in reply.text


def test_the_page_and_its_options(gated):
    client, _ = gated
    page = client.get("/")
    assert page.status_code == 200 and "Stylise" in page.text and "/static/app.js" in page.text
    assert client.get("/static/app.js").status_code == 200 and client.get("/static/style.css").status_code == 200
    schema = client.get("/api/options").json()
    by_name = {o["name"]: o for o in schema["transfer"]}
    defaults = {f.name: f.default for f in fields(TransferOptions)}
    assert all(by_name[name]["default"] == defaults[name] for name in by_name)
    assert {"weights", "device", "mask"}.isdisjoint(by_name)
    assert by_name["model"]["choices"][0] == "vgg19" and "resnet50" in [m["name"] for m in schema["models"]]
    assert schema["limits"]["max_styles"] == Limits().max_styles and schema["kinds"] == ["transfer", "compare"]


# -- safe to leave running: host names, cross-site changes, non-finite numbers, bad records -----------------


def one_line(reply, status: int) -> str:
    assert reply.status_code == status, reply.text
    detail = reply.json()["detail"]
    assert "\n" not in detail and len(detail) < 300
    return detail


@pytest.mark.parametrize("host", ["evil.example.com", "evil.example.com:8000", "localhost.evil.example.com",
                                  "127.0.0.1.nip.io:8000", "evil@localhost", "localhost:8000/x", "[::2]:8000",
                                  "testserver", ""])
def test_a_host_name_the_server_does_not_serve_gets_400(gated, host):
    """A DNS-rebinding page reaches the port under its own name: nothing is answered, the page included."""
    client, _ = gated
    for method, path in (("GET", "/api/jobs"), ("GET", "/"), ("POST", "/api/jobs")):
        reply = client.request(method, path, headers={"Host": host})
        detail = one_line(reply, 400)
        assert "this server answers only for localhost, 127.0.0.1, [::1]" in detail
    assert client.get("/api/jobs").json()["jobs"] == []


@pytest.mark.parametrize("host", ["localhost", "localhost:8000", "127.0.0.1", "127.0.0.1:8000", "[::1]",
                                  "[::1]:8000", "LocalHost:8000"])
def test_the_localhost_names_are_served_with_or_without_the_port(gated, host):
    client, _ = gated
    assert client.get("/api/jobs", headers={"Host": host}).status_code == 200


def test_the_hosts_served_are_create_apps_choice(tmp_path):
    app = create_app(tmp_path, executor=GatedExecutor(), allowed_hosts=["testserver", "mylaptop.lan"])
    with TestClient(app) as client:  # TestClient's own name, now allowed
        assert client.get("/api/jobs").status_code == 200
        assert client.post("/api/jobs", **upload()).status_code == 201
        assert client.get("/api/health", headers={"Host": "MyLaptop.lan:8000"}).status_code == 200
        assert "answers only for testserver, mylaptop.lan" in one_line(client.get("/", headers={"Host": "x.y"}), 400)


def test_the_hosts_served_for_a_listening_address():
    from nstyle.web.guard import LOCAL_HOSTS, served_hosts

    assert served_hosts("127.0.0.1") == served_hosts("localhost") == LOCAL_HOSTS
    assert served_hosts("192.168.1.5") == (*LOCAL_HOSTS, "192.168.1.5")
    assert served_hosts("::1") == LOCAL_HOSTS and "fe80::1" in served_hosts("[fe80::1]")
    machine = socket.gethostname().lower()
    for wildcard in ("0.0.0.0", "::", "[::]"):
        hosts = served_hosts(wildcard, ["MyLaptop.lan", "192.168.1.5:8000"])
        assert {*LOCAL_HOSTS, machine, "mylaptop.lan", "192.168.1.5"} <= set(hosts)
        assert wildcard.strip("[]") not in hosts  # "0.0.0.0" is not a name a page is opened by


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example.com"},
    {"Origin": "https://127.0.0.1:8000"},  # another scheme
    {"Origin": "http://127.0.0.1:8001"},  # another port: another local server's page
    {"Origin": "http://localhost:8000"},  # another name: another origin, though the same machine
    {"Origin": "null"},  # a sandboxed frame, a file:// page
    {"Referer": "http://evil.example.com/page.html"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": LOCAL},
])
def test_a_change_sent_from_another_site_gets_403_and_changes_nothing(gated, headers):
    """Any page the user visits could otherwise queue jobs, stop them or rerun them."""
    client, executor = gated
    job_id = client.post("/api/jobs", **upload()).json()["id"]
    wait_for(client, job_id, lambda r: r["status"] == "running")
    for method, path in (("POST", "/api/jobs"), ("DELETE", f"/api/jobs/{job_id}"),
                         ("POST", f"/api/jobs/{job_id}/rerun"), ("PUT", f"/api/jobs/{job_id}"),
                         ("PATCH", f"/api/jobs/{job_id}")):
        kw = upload() if path == "/api/jobs" else {}
        detail = one_line(client.request(method, path, headers=headers, **kw), 403)
        assert detail.startswith("refused a change sent") and f"the page at {LOCAL}/" in detail
    assert [j["id"] for j in client.get("/api/jobs").json()["jobs"]] == [job_id]
    assert client.get(f"/api/jobs/{job_id}").json()["status"] == "running"
    # reading is not a change: the Host check and the browser's same-origin rule guard it
    assert client.get("/api/jobs", headers=headers).status_code == 200


@pytest.mark.parametrize("headers", [
    {},  # curl, scripts: no browser page involved
    {"Origin": LOCAL},
    {"Origin": LOCAL, "Sec-Fetch-Site": "same-origin"},
    {"Referer": f"{LOCAL}/?job=1"},
    {"Sec-Fetch-Site": "none"},  # typed by the user
])
def test_a_change_from_the_page_itself_or_from_a_script_is_accepted(gated, headers):
    client, executor = gated
    executor.release.set()
    reply = client.post("/api/jobs", headers=headers, **upload())
    assert reply.status_code == 201, reply.text
    job_id = reply.json()["id"]
    wait_for(client, job_id, lambda r: r["status"] == "done")
    assert client.post(f"/api/jobs/{job_id}/rerun", headers=headers).status_code == 201
    assert client.delete(f"/api/jobs/{job_id}", headers=headers).status_code == 200


def test_the_page_is_same_origin_under_every_name_it_is_served_by(gated):
    """The origin compared is the one the request names: the page opened as localhost posts as localhost."""
    client, executor = gated
    for base in ("http://localhost:8000", "http://[::1]:8000", "http://127.0.0.1"):
        host = base.split("//")[1]
        assert client.post("/api/jobs", headers={"Host": host, "Origin": base}, **upload()).status_code == 201
        assert client.post("/api/jobs", headers={"Host": host, "Origin": LOCAL + "1"}, **upload()).status_code == 403


def test_a_real_server_refuses_other_hosts_and_other_sites(tmp_path):
    """`nstyle serve` itself (its own socket, uvicorn, the hosts it computes), not only the app."""
    import urllib.error
    import urllib.request

    from .web_server import running_server

    def status(url: str, **headers) -> int:
        method = "POST" if "Origin" in headers else "GET"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers), timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as err:
            return err.code

    with running_server(tmp_path / "data") as url:
        port = url.rsplit(":", 1)[1]
        assert status(f"{url}/api/jobs") == 200
        assert status(f"{url}/api/jobs", Host=f"localhost:{port}") == 200
        assert status(f"{url}/api/jobs", Host=f"evil.example.com:{port}") == 400
        assert status(f"{url}/api/jobs", Origin="http://evil.example.com") == 403


@pytest.mark.parametrize(("text", "option", "written"), [
    ('{"lr": NaN}', "lr", "NaN"),
    ('{"tv_weight": Infinity}', "tv_weight", "Infinity"),
    ('{"content_weight": -Infinity}', "content_weight", "-Infinity"),
    ('{"style_weight": 1e400}', "style_weight", "1e400"),
    ('{"smoothing": -1E+999}', "smoothing", "-1E+999"),
    ('{"size": 64, "style_layer_weights": [1, 2, NaN]}', "style_layer_weights[2]", "NaN"),
    ('{"strength": NaN}', "strength", "NaN"),  # caught before the engine's own range check says "nan"
])
def test_a_non_finite_option_gets_422_naming_it_and_stores_nothing(tmp_path, text, option, written):
    """Python's json reads NaN, Infinity and 1e400; stored, they made every later GET /api/jobs a 500."""
    with local(create_app(tmp_path, executor=GatedExecutor())) as client:
        reply = client.post("/api/jobs", files=upload()["files"], data={"options": text})
        assert one_line(reply, 422) == f"option {option}: {written} is not a finite number; give an ordinary one"
        listed = client.get("/api/jobs")
        assert listed.status_code == 200 and listed.json()["jobs"] == []
    assert list((tmp_path / "jobs").iterdir()) == []


def test_the_words_nan_and_infinity_as_text_are_not_numbers(gated):
    client, _ = gated
    reply = client.post("/api/jobs", files=upload()["files"], data={"options": '{"lr": "NaN"}'})
    assert "option lr: give a number" in one_line(reply, 400)


def broken_records(good: dict) -> dict[str, str]:
    """job.json texts that cannot be served, each as one folder of its own (named by the record's id)."""
    def like(**changes) -> str:
        return json.dumps(good | changes)

    raw = json.dumps(good)
    return {"not json": "{this is not json", "empty": "", "a list": "[1, 2]",
            "NaN inside": raw.replace('"size": 64', '"size": NaN'),
            "Infinity inside": raw.replace('"progress": null', '"progress": {"loss": Infinity}'),
            "1e400 inside": raw.replace('"preview": 0', '"preview": 1e400'),
            "created as text": like(created="yesterday"), "files null": like(files=None),
            "a path as input": like(inputs={"content": "../../../etc/passwd", "styles": []}),
            "no status": json.dumps({k: v for k, v in good.items() if k != "status"}),
            "unknown status": like(status="exploded"), "options a list": like(options=[1]),
            "preview a bool": like(preview=True), "another job's id": like(id="e" * 32),
            "deeply nested": "[" * 100_000 + "]" * 100_000, "not UTF-8": "\udcff{"}


def test_a_record_that_cannot_be_served_is_skipped_and_logged_not_a_500(tmp_path, caplog):
    """Written into the store folder by hand (or by an older server that stored NaN), then a restart."""
    store = JobStore(tmp_path)
    image = InputImage("content.png", png("green"))
    good = store.create("transfer", {"size": 64}, image, [image])
    store.update(good["id"], status="done")
    record = json.loads((tmp_path / "jobs" / good["id"] / "job.json").read_text())
    broken = {}
    for i, (what, text) in enumerate(broken_records(record).items()):
        job_id = f"{i:032x}"
        (tmp_path / "jobs" / job_id).mkdir()
        (tmp_path / "jobs" / job_id / "job.json").write_bytes(text.replace(good["id"], job_id).encode(
            errors="surrogateescape"))
        broken[job_id] = what

    with caplog.at_level("WARNING", logger="nstyle.web"), local(create_app(tmp_path, executor=GatedExecutor())) as c:
        listed = c.get("/api/jobs")
        assert listed.status_code == 200 and [j["id"] for j in listed.json()["jobs"]] == [good["id"]]
        assert c.get("/").status_code == 200 and c.get(f"/api/jobs/{good['id']}").status_code == 200
        for job_id in broken:
            assert c.get(f"/api/jobs/{job_id}").status_code == 404
            assert c.get(f"/api/jobs/{job_id}/image").status_code == 404
    warned = {r.getMessage().split()[3].rstrip(":") for r in caplog.records if r.name == "nstyle.web"}
    assert warned == set(broken)


class NaNExecutor(GatedExecutor):
    """A run whose loss diverges: NaN and infinite losses in progress, history and the final losses."""

    def submit(self, spec, on_progress=None, cancel=None, preview_every=0):
        def work() -> JobOutcome:
            on_progress(JobProgress(1, 2, 0.1, float("nan"), float("inf"), float("-inf"), None))
            history = [{"iteration": 1, "total": float("nan"), "content": 1.0, "style": float("inf"), "tv": 0.0}]
            return JobOutcome("done", image=png("blue"), seconds=float("nan"), iterations=1, history=history,
                              losses={"total": float("nan")})

        return self._pool.submit(work)


def test_a_diverging_run_keeps_the_record_readable(tmp_path):
    with local(create_app(tmp_path, executor=NaNExecutor())) as client:
        job_id = client.post("/api/jobs", **upload()).json()["id"]
        record = wait_for(client, job_id, lambda r: r["status"] == "done")
        assert record["losses"] == [[1, None, 1.0, None]] and record["final"] == {"total": None}
        assert record["progress"]["loss"] is None and record["seconds"] is None
        assert client.get("/api/jobs").status_code == 200
    on_disk = (tmp_path / "jobs" / job_id / "job.json").read_text()
    json.loads(on_disk, parse_constant=lambda c: pytest.fail(f"{c} in job.json"))
    with local(create_app(tmp_path, executor=GatedExecutor())) as client:  # and after a restart
        assert [j["id"] for j in client.get("/api/jobs").json()["jobs"]] == [job_id]


def test_time_left_weights_each_iteration_by_its_pixels():
    time_left = TimeLeft([(128, 2), (256, 1)])  # costs 1, 1, 4 (in units of 128 px)
    assert time_left(0, 0.0) is None
    assert time_left(1, 1.0) == pytest.approx(5.0)
    assert time_left(2, 2.0) == pytest.approx(4.0)
    assert time_left(3, 6.0) == 0.0


# -- real tiny jobs ------------------------------------------------------------------------------------------


@pytest.fixture
def real(tmp_path):
    with local(create_app(tmp_path, preview_every=2)) as client:
        yield client


def real_upload(images, options: dict, kind: str | None = None) -> dict:
    request = upload(images["tubingen"].read_bytes(), [images["starry_night"].read_bytes()], options, kind)
    request["files"][0] = ("content", ("tubingen.jpg", images["tubingen"].read_bytes()))
    return request


@pytest.mark.integration
def test_a_real_tiny_transfer(real, images):
    reply = real.post("/api/jobs", **real_upload(images, {"size": 64, "iterations": 6, "levels": 1}))
    assert reply.status_code == 201, reply.text
    record = wait_for(real, reply.json()["id"], lambda r: r["status"] not in ("queued", "running"))
    assert record["status"] == "done", record["error"]
    assert record["iterations"] == 6 and [p[0] for p in record["losses"]] == list(range(1, 7))
    assert record["progress"]["time_left"] == 0.0 and record["preview"] >= 3
    image = PIL.Image.open(io.BytesIO(real.get(f"/api/jobs/{record['id']}/image").content))
    assert max(image.size) == 64


@pytest.mark.integration
def test_a_real_transfer_with_auto_maps_lists_the_regions_it_found(real, images):
    reply = real.post("/api/jobs", **real_upload(images, {"size": 64, "iterations": 2, "levels": 1,
                                                          "auto_maps": "2"}))
    assert reply.status_code == 201, reply.text
    record = wait_for(real, reply.json()["id"], lambda r: r["status"] not in ("queued", "running"))
    assert record["status"] == "done", record["error"]
    assert {"content_map.png", "style_map.png"} <= set(record["files"])
    content_map = PIL.Image.open(io.BytesIO(real.get(f"/api/jobs/{record['id']}/files/content_map.png").content))
    assert max(content_map.size) == 64 and len(content_map.getcolors()) == 2


def test_a_wrong_auto_maps_value_is_refused_with_its_option_named(gated):
    client, executor = gated
    reply = client.post("/api/jobs", **upload(options={"auto_maps": "12"}))
    assert reply.status_code == 400, reply.text
    assert reply.json()["detail"] == "option auto_maps: choose from auto, 2, 3, 4, 5, 6, 7, 8, not '12'"
    assert not executor.started


@pytest.mark.integration
def test_stopping_a_real_run_keeps_its_image(real, images):
    job_id = real.post("/api/jobs", **real_upload(images, {"size": 64, "iterations": 1000, "levels": 1,
                                                             "tolerance": 0})).json()["id"]
    wait_for(real, job_id, lambda r: r["progress"] and r["progress"]["iteration"] >= 3)
    real.delete(f"/api/jobs/{job_id}")
    record = wait_for(real, job_id, lambda r: r["status"] not in ("queued", "running"))
    assert record["status"] == "cancelled" and 3 <= record["iterations"] < 1000
    image = PIL.Image.open(io.BytesIO(real.get(f"/api/jobs/{job_id}/image").content))
    assert max(image.size) == 64


@pytest.mark.integration
def test_a_real_tiny_comparison(real, images):
    options = {"models": ["squeezenet1_1", "alexnet"], "size": 64, "iterations": 3}
    reply = real.post("/api/jobs", **real_upload(images, options, kind="compare"))
    assert reply.status_code == 201, reply.text
    record = wait_for(real, reply.json()["id"], lambda r: r["status"] not in ("queued", "running"))
    assert record["status"] == "done", record["error"]
    assert {"grid.png", "losses.png", "losses_normalised.png", "table.md", "table.csv", "report.md",
            "squeezenet1_1.png", "alexnet.png"} <= set(record["files"])
    assert record["progress"]["total"] == 6 and record["progress"]["stage"] == "alexnet"
    table = real.get(f"/api/jobs/{record['id']}/files/table.csv").text.splitlines()
    assert table[0].startswith("model,") and [row.split(",")[0] for row in table[1:]] == ["squeezenet1_1", "alexnet"]
    grid = PIL.Image.open(io.BytesIO(real.get(f"/api/jobs/{record['id']}/image").content))
    assert grid.width > 3 * grid.height  # content, style and two results side by side


@pytest.mark.integration
def test_the_page_hands_its_jobs_to_ray_with_live_progress(ray_local, tmp_path, images):
    """`nstyle serve --ray`: the batch command's RayExecutor behind the same queue; previews still arrive."""
    from nstyle.jobs.executors import make_executor

    with local(create_app(tmp_path, executor=make_executor(ray=""), preview_every=2)) as client:
        reply = client.post("/api/jobs", **real_upload(images, {"size": 64, "iterations": 6, "levels": 1}))
        # Ray's first task starts a worker process and imports torch: a deadline for a loaded machine
        record = wait_for(client, reply.json()["id"], lambda r: r["status"] not in ("queued", "running"), 300)
    assert record["status"] == "done", record["error"]
    assert [p[0] for p in record["losses"]] == list(range(1, 7)) and record["preview"] >= 3


def test_serve_takes_ray_with_or_without_an_address():
    from nstyle.cli import build_parser

    parse = build_parser().parse_args
    assert parse(["serve"]).ray is None and parse(["serve", "--ray"]).ray == ""
    assert parse(["serve", "--ray", "10.0.0.5:6379"]).ray == "10.0.0.5:6379"


def test_serve_refuses_a_bad_port_in_one_line(capsys):
    from nstyle.cli import main

    assert main(["serve", "--port", "70000"]) == 2
    assert capsys.readouterr().err.strip() == "nstyle: error: --port must be between 1 and 65535, not 70000"


def test_serve_listens_on_localhost_by_default():
    from nstyle.cli import build_parser

    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", 8000)



def test_a_whole_number_too_large_for_a_float_is_a_422_not_a_500(tmp_path):
    """JSON allows integers of any length; as a float option one overflows, and that is the request's fault."""
    with local(create_app(tmp_path, executor=GatedExecutor())) as client:
        reply = client.post("/api/jobs", files=upload()["files"], data={"options": '{"lr": 1' + "0" * 400 + "}"})
        assert "option lr: 100000000000... is not a finite number" in one_line(reply, 422)
        assert client.get("/api/jobs").json()["jobs"] == []


# -- the instant preview (POST /api/preview) ------------------------------------------------------------------


def preview_upload(images, options: dict | None = None, styles: tuple[str, ...] = ("starry_night",)) -> dict:
    return {"files": [("content", ("tubingen.jpg", images["tubingen"].read_bytes()))]
            + [("style", (f"{name}.jpg", images[name].read_bytes())) for name in styles],
            "data": {"options": json.dumps(options or {})}}


def jpeg(reply) -> PIL.Image.Image:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "image/jpeg" and reply.headers["cache-control"] == "no-store"
    image = PIL.Image.open(io.BytesIO(reply.content))
    assert image.format == "JPEG"
    return image.convert("RGB")


def mean_change(a: PIL.Image.Image, b: PIL.Image.Image) -> float:
    import numpy as np

    return float(np.abs(np.asarray(a, dtype=np.float32) - np.asarray(b, dtype=np.float32)).mean())


@pytest.mark.integration
def test_a_preview_is_the_fast_networks_picture_at_the_pages_size_and_stores_nothing(gated, images, tmp_path):
    client, executor = gated
    plain = jpeg(client.post("/api/preview", **preview_upload(images)))
    assert plain.size == (384, 288)  # tubingen is 1024 x 768: the long side at the preview size
    assert float(client.post("/api/preview", **preview_upload(images)).headers["x-preview-seconds"]) > 0
    stronger = jpeg(client.post("/api/preview", **preview_upload(images, {"strength": 0.95})))
    again = jpeg(client.post("/api/preview", **preview_upload(images, {"strength": 0.95})))
    assert mean_change(stronger, again) == 0  # deterministic
    assert mean_change(plain, stronger) > 5  # the strength is the network's own, not ignored
    kept = jpeg(client.post("/api/preview", **preview_upload(images, {"preserve_color": "luminance"})))
    assert mean_change(plain, kept) > 5
    two = preview_upload(images, {"style_blend": [1, 0]}, styles=("starry_night", "shipwreck"))
    assert mean_change(plain, jpeg(client.post("/api/preview", **two))) < 2  # all of the first style
    turned = io.BytesIO()  # a camera's picture stored sideways, its EXIF saying "turn it": turned, as for a job
    exif = PIL.Image.Exif()
    exif[0x0112] = 6
    PIL.Image.open(images["tubingen"]).save(turned, "JPEG", exif=exif)
    sideways = preview_upload(images)
    sideways["files"][0] = ("content", ("turned.jpg", turned.getvalue()))
    assert jpeg(client.post("/api/preview", **sideways)).size == (288, 384)
    assert client.get("/api/jobs").json()["jobs"] == [] and not executor.started
    assert list((tmp_path / "jobs").iterdir()) == []


@pytest.mark.parametrize(("request_kw", "limits", "status", "message"), [
    *UPLOAD_PROBLEMS,
    (upload(options={"size": 64}), Limits(), 400, "a preview takes only the options strength, preserve_color"),
    (upload(options={"weights": "/etc/passwd"}), Limits(), 400, "unsettable option(s): weights"),
    (upload(options={"strength": 3}), Limits(), 400, "strength 3: must be at most 1"),
    (upload(options={"preserve_color": "sepia"}), Limits(), 400, "option preserve_color: choose from"),
    (upload(options={"style_blend": [1, 2]}), Limits(), 400, "style_blend has 2 weight(s) for 1 style"),
])
def test_a_bad_preview_request_gets_a_one_line_4xx_before_any_painting(tmp_path, request_kw, limits, status, message):
    app = create_app(tmp_path, executor=GatedExecutor(), limits=limits)
    with local(app) as client:
        assert message in one_line(client.post("/api/preview", **request_kw), status)
    assert app.state.previews._painter is None  # refused before the network was even loaded


def test_a_preview_answers_only_its_own_hosts_and_pages(tmp_path):
    app = create_app(tmp_path, executor=GatedExecutor())
    with local(app) as client:
        assert "answers only for localhost" in one_line(
            client.post("/api/preview", headers={"Host": "evil.example.com"}, **upload()), 400)
        for headers in ({"Origin": "http://evil.example.com"}, {"Sec-Fetch-Site": "cross-site"}):
            assert one_line(client.post("/api/preview", headers=headers, **upload()), 403).startswith(
                "refused a change sent")
    assert app.state.previews._painter is None


class GatedNetwork:
    """Stands in for the fast network in the scheduling test: each painting waits for ``release``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.painted: list[float] = []

    def stylise(self, content, styles, size, blend, strength, preserve_color):
        self.painted.append(strength)
        assert self.release.wait(WAIT_S)
        return content


def test_previews_are_painted_one_at_a_time_and_the_newest_waiting_one_wins():
    from nstyle.web.preview import MAX_WAITING, PreviewPainter, Superseded
    from nstyle.web.uploads import RequestProblem

    previews = PreviewPainter()
    network = previews._painter = GatedNetwork()
    picture = PIL.Image.new("RGB", (48, 32), "green")
    answers: dict[float, object] = {}

    def ask(strength: float) -> None:
        try:
            answers[strength] = previews.paint(picture, [picture], None, strength, None)
        except (Superseded, RequestProblem) as err:
            answers[strength] = err

    first = threading.Thread(target=ask, args=(0.1,))
    first.start()
    deadline = time.monotonic() + WAIT_S
    while not network.painted:  # the first is painting; the next ones wait for it
        assert time.monotonic() < deadline
        time.sleep(0.01)
    waiting = [threading.Thread(target=ask, args=(s,)) for s in (0.2, 0.3, 0.4)]
    for t in waiting:
        t.start()
        time.sleep(0.05)  # in this order
    ask(0.5)  # one more than may wait: refused at once, not queued
    assert isinstance(answers[0.5], RequestProblem) and answers[0.5].status == 503
    assert f"{MAX_WAITING} previews are waiting" in answers[0.5].message
    network.release.set()
    for t in [first, *waiting]:
        t.join(WAIT_S)
    assert network.painted == [0.1, 0.4]  # the one painting, then only the newest of those that waited
    assert all(isinstance(answers[s], Superseded) for s in (0.2, 0.3))
    assert answers[0.4].size == (48, 32) and answers[0.4].jpeg.startswith(b"\xff\xd8")
    assert previews.paint(picture, [picture], None, 0.6, None).size == (48, 32)  # nothing left waiting


@pytest.mark.integration
def test_a_preview_with_remembered_style_vectors_is_the_fast_networks_own_picture(images):
    from nstyle.core.feedforward import FastPainter
    from nstyle.web.preview import JPEG_QUALITY, STYLE_SIDE, PreviewPainter, shrunk

    previews = PreviewPainter()
    content = shrunk(images["tubingen"].read_bytes(), previews.size, None)
    style = shrunk(images["starry_night"].read_bytes(), STYLE_SIDE, None)
    for strength, preserve_color in ((0.9, None), (0.2, None), (0.9, "luminance"), (0.9, None)):
        got = previews.paint(content, [style], None, strength, preserve_color)
        want = io.BytesIO()
        FastPainter.load("cpu").stylise(content, [style], size=384, strength=strength,
                                        preserve_color=preserve_color).save(want, "JPEG", quality=JPEG_QUALITY)
        assert got.jpeg == want.getvalue(), (strength, preserve_color)
    # kept: the style and the content as they are, and both as the luminance option turns them
    assert len(previews._painter.kept) == 4
