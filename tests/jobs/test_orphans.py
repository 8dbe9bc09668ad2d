"""A driver killed outright (SIGKILL: no handler runs) leaves no process behind (issue 33, item 4): the worker
processes and the manager that carries cancel flags watch their parent and end within about a second."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

DRIVER = """
import os, signal, threading, time
from PIL import Image
from nstyle.jobs.executors import ProcessExecutor
from nstyle.jobs.spec import InputImage, JobSpec, encode_png

image = InputImage("a.png", encode_png(Image.new("RGB", (8, 6))))
executor = ProcessExecutor(workers=2, threads=1)
stop = threading.Event()
future = executor.submit(JobSpec(image, [image], {"size": 8, "model": "nonexistent"}), cancel=stop)
future.result(timeout=120)  # fails at once in the worker: the pool and the manager are up, the workers idle
pids = [p.pid for p in executor._pool._processes.values()] + [executor._manager._process.pid]
print(" ".join(map(str, pids)), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie (ended, not yet reaped by init) counts as gone
        return f.read().split(")")[-1].split()[0] != "Z"


def test_workers_and_the_manager_end_with_a_killed_driver(tmp_path):
    out, err = tmp_path / "out", tmp_path / "err"
    with open(out, "w") as stdout, open(err, "w") as stderr:  # files: an orphan holding a pipe would hang run()
        driver = subprocess.run([sys.executable, "-c", DRIVER], stdout=stdout, stderr=stderr, timeout=180,
                                env=os.environ | {"PYTHONPATH": str(SRC)})
    assert driver.returncode == -signal.SIGKILL, err.read_text()
    pids = [int(p) for p in out.read_text().split()]
    assert len(pids) >= 2
    deadline = time.monotonic() + 15
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for pid in left:  # tidy up before failing
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived their killed driver: {left}"
