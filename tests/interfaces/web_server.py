"""A real `nstyle serve` on a free port, for the browser test and the README's screenshot."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(server: subprocess.Popen, url: str, deadline_s: float = 60.0) -> bool:
    """True once ``GET /api/health`` answers 200; False when the process ends or the deadline passes first."""
    start = time.monotonic()
    while server.poll() is None and time.monotonic() - start < deadline_s:
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as reply:
                if reply.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


@contextmanager
def running_server(data_dir: Path, deadline_s: float = 60.0):
    """``nstyle serve`` in a child process; yields its base URL and stops it (Ctrl-C, as a person would)."""
    port = free_port()
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}
    log = open(data_dir.parent / f"serve-{port}.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "nstyle", "serve", "--port", str(port), "--data", str(data_dir)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_serving(server, url, deadline_s):
            log.flush()
            raise RuntimeError("nstyle serve did not start: "
                               + (data_dir.parent / f"serve-{port}.log").read_text()[-2000:])
        yield url
    finally:
        server.send_signal(2)  # SIGINT: uvicorn's graceful shutdown
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@contextmanager
def page_with_pictures(browser, data_dir: Path, content: Path, style: Path, viewport: tuple[int, int] = (1200, 900)):
    """A served page, ready, with ``content`` and ``style`` chosen as a person does: what every browser scenario and
    the README's screenshots start from. Yields the page; the server stops after."""
    with running_server(data_dir) as url:
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#content-input", str(content))
        page.set_input_files("#style-input", str(style))
        yield page
