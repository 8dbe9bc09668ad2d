"""The web API's answers to oversized or overdeep requests (issue 33, items 4 and 6): a 4 MB options field and
options nested 100,000 deep get a 4xx that says what was wrong, and uploads are decoded by the memory they take,
not by their count. No network runs."""

from __future__ import annotations

import io
import json
import threading
import time

import PIL.Image
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed (make setup installs it)")

from nstyle.web import create_app  # noqa: E402
from nstyle.web.uploads import DECODE_BYTES_PER_PIXEL, DecodeBudget, Limits, RequestProblem, check_image  # noqa: E402
from tests.disks import fsync_fails_for  # noqa: E402
from tests.interfaces.test_web_api import GatedExecutor, local, upload  # noqa: E402


def post_options(tmp_path, text: str):
    request = upload()
    request["data"]["options"] = text
    with local(create_app(tmp_path, executor=GatedExecutor())) as client:
        reply = client.post("/api/jobs", **request)
        assert client.get("/api/jobs").json()["jobs"] == []
    assert list((tmp_path / "jobs").iterdir()) == []
    return reply


def test_a_4_mb_options_field_is_told_so_not_to_send_fewer_images(tmp_path):
    reply = post_options(tmp_path, json.dumps({"size": 256, "note": "x" * 4 * 2**20}))
    detail = reply.json()["detail"]
    assert reply.status_code == 413 and "\n" not in detail
    assert detail.startswith("Part exceeded maximum size of 1024KB: a form field other than an image is too large")
    assert "style images" not in detail


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_options_nested_deep_are_a_400_not_a_500(tmp_path, depth):
    reply = post_options(tmp_path, "[" * depth + "]" * depth)
    assert reply.status_code == 400 and "nested too deeply" in reply.json()["detail"]
    reply = post_options(tmp_path, '{"a":' * depth + "1" + "}" * depth)
    assert reply.status_code == 400 and "nested too deeply" in reply.json()["detail"]


def big_png(side: int) -> bytes:
    """A picture of side x side pixels in a small file (one colour compresses well)."""
    buffer = io.BytesIO()
    PIL.Image.new("RGB", (side, side), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_upload_waits_for_memory_held_by_others_and_is_a_503_past_the_wait():
    data = big_png(2000)
    cost = DECODE_BYTES_PER_PIXEL * 2000 * 2000 + len(data)
    budget = DecodeBudget(total=cost + 1000, wait=0.2)
    with budget.reserve(2000):  # another request decoding now
        started = time.monotonic()
        with pytest.raises(RequestProblem) as refused:
            check_image(data, "content", "big.png", Limits(), budget)
        assert time.monotonic() - started >= 0.2
    assert refused.value.status == 503 and "try again in a moment" in refused.value.message
    assert budget.held == 0
    image, _ = check_image(data, "content", "big.png", Limits(), budget)  # the memory is free again
    assert image.name == "content.png" and budget.held == 0


def test_concurrent_reservations_never_hold_more_than_the_budget():
    budget = DecodeBudget(total=100, wait=5.0)
    peak, lock = [0], threading.Lock()

    def decode(cost: int) -> None:
        with budget.reserve(cost):
            with lock:
                peak[0] = max(peak[0], budget.held)
            time.sleep(0.01)

    threads = [threading.Thread(target=decode, args=(cost,)) for cost in [30, 60, 90, 250, 10, 45] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 0 < peak[0] <= 100 and budget.held == 0  # the 250 one ran alone, as 100


def test_a_job_the_disk_cannot_hold_is_a_507_naming_the_file(tmp_path, monkeypatch):
    """ENOSPC while a job's files are stored: one line and 507 Insufficient Storage, not a 500."""
    with local(create_app(tmp_path, executor=GatedExecutor())) as client:
        fsync_fails_for(monkeypatch, "/jobs/")
        reply = client.post("/api/jobs", **upload())
        detail = reply.json()["detail"]
        assert reply.status_code == 507 and "(No space left on device): free some space" in detail
        assert "\n" not in detail
        monkeypatch.undo()  # the disk has room again: the refused job left nothing behind
        assert client.get("/api/jobs").json()["jobs"] == []
