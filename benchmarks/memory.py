"""Peak memory: the per-network figures behind ``nstyle.core.memory``, and its estimate against measured runs.

``coefficients``: for each network and precision, in a fresh process per measurement on CPU, the resident memory
(RSS) of the runtime, of the weights, and per input pixel: a no-grad forward to the style layers (the style's
features; peak, Linux's high-water mark reset just before), the content targets kept, and one evaluation of the
loss, forward and backward (the highest of three, peak above what was resident before, freed memory handed back
first). A least-squares line over three sizes gives each as a constant plus bytes per pixel: the figures of
``nstyle.core.memory.NETWORKS``.

``serve``: a real ``nstyle serve``: its RSS idle, while a job runs and after the job is cancelled, and how long a
GET takes meanwhile.

``calibrate``: whole runs (``nstyle.run`` on tubingen + starry_night) in a fresh process each, their peak RSS
(``resource.getrusage``) against ``estimate_peak_bytes`` of the same options.

    python benchmarks/memory.py coefficients [--models vgg19 resnet50] [--sizes 256 512 768]
    python benchmarks/memory.py calibrate [--models vgg19 resnet50]
    python benchmarks/memory.py serve [--size 512] [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from common import IMAGES, machine_line

PRECISIONS = ("float32", "bfloat16")

MEASURE = """
import ctypes, gc, json, os, sys
libc = ctypes.CDLL('libc.so.6')
def rss():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')
def hwm():
    with open('/proc/self/status') as f:
        line = next(ln for ln in f if ln.startswith('VmHWM:'))
    return int(line.split()[1]) * 1024
def reset():
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')
def settle():  # what is freed goes back to the system, so RSS is what is alive
    gc.collect()
    libc.malloc_trim(0)
model, precision, size = json.loads(sys.argv[1])
import torch
from nstyle.core import engine
from nstyle.core.options import options_from
runtime = rss()
opts = options_from(model=model, precision=precision, device='cpu', size=size, style_loss='gram')
backbone = engine.load_network(opts, torch.device('cpu'))
weights = rss() - runtime
h, w = round(size * 3 / 4), size
content, style = torch.rand(1, 3, h, w), torch.rand(1, 3, h, w)
content_layers, style_layers = engine.loss_layers(opts, backbone)
settle(); before = rss(); reset()
with torch.no_grad():
    feats = backbone(style, list(style_layers))
style_peak = hwm() - before
del feats
settle(); before = rss(); reset()
loss = engine.build_loss(opts, backbone, content, [style])
settle()
style_kept = sum(t.target.numel() * t.target.element_size() for t in loss.style_losses.values())
content_kept = rss() - before - style_kept  # what the content costs: the style's Grams are the style phase's
content_tensors = sum(t.target.numel() * t.target.element_size() for t in loss.content_losses.values())
x = content.clone().requires_grad_(True)
settle(); before = rss(); reset()
for _ in range(3):  # the highest of three evaluations, the allocator's caches as in an optimisation
    x.grad = None
    value, parts = loss(x)
    value.backward()
    del value, parts
train_peak = hwm() - before
print(json.dumps({"runtime": runtime, "weights": weights, "pixels": h * w, "style": style_peak,
                  "content": content_kept, "content_tensors": content_tensors, "train": train_peak}))
"""


def child(code: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the measuring process failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least squares: (constant, per pixel) of ``bytes = constant + per_pixel * pixels``."""
    n = len(points)
    mx, my = sum(p for p, _ in points) / n, sum(b for _, b in points) / n
    slope = sum((p - mx) * (b - my) for p, b in points) / sum((p - mx) ** 2 for p, _ in points)
    return my - slope * mx, slope


def coefficients(models: list[str], sizes: list[int], precisions: list[str]) -> None:
    print(machine_line("memory coefficients"))
    print(f"one evaluation at {', '.join(f'{s}' for s in sizes)} px (4:3), a fresh process each; the figures as "
          "constant MB + bytes per pixel (least squares over the sizes), and the largest relative residual")
    print("| network | precision | runtime MB | weights MB | content B/px | style (no-grad forward) | "
          "train (forward + backward) |")
    print("|---|---|---|---|---|---|---|")
    table = {}
    for model in models:
        entry = table.setdefault(model, {})
        for precision in precisions:
            runs = [child(MEASURE, json.dumps([model, precision, s])) for s in sizes]
            shown = {}
            for what in ("style", "train"):
                constant, slope = fit([(r["pixels"], r[what]) for r in runs])
                worst = max(abs(constant + slope * r["pixels"] - r[what]) / r[what] for r in runs)
                entry.setdefault(what, {})[precision] = [round(constant / 2**20), round(slope)]
                shown[what] = f"{constant / 2**20:.0f} MB + {slope:.0f} B/px ({worst:.0%})"
            entry["weights"] = runs[-1]["weights"]
            entry["content"] = round(runs[-1]["content_tensors"] / runs[-1]["pixels"])
            print(f"| {model} | {precision} | {runs[-1]['runtime'] / 2**20:.0f} | "
                  f"{runs[-1]['weights'] / 2**20:.0f} | {entry['content']} | {shown['style']} | {shown['train']} |",
                  flush=True)
    print(json.dumps(table))


RUN = """
import json, resource, sys
from nstyle.core.engine import run
options = json.loads(sys.argv[1])
result = run(sys.argv[2], sys.argv[3], **options)
print(json.dumps({"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "evaluations": len(result.history)}))
"""

#: (what, options): the cases of docs/BENCHMARKS.md, small enough for a shared 2-core machine.
CASES = [
    ("128 px", {"size": 128}),
    ("256 px", {"size": 256}),
    ("384 px", {"size": 384}),
    ("384 px, float32", {"size": 384, "precision": "float32"}),
    ("384 px, 100 evaluations at one level", {"size": 384, "iterations": 100, "levels": 1}),
    ("256 px, --style-scale 2", {"size": 256, "style_scale": 2.0}),
    ("1300 px, --tile 512, 2 evaluations at 1300", {"size": 1300, "tile": 512, "iterations": 2}),
]


def calibrate(models: list[str], content: str, style: str, cases: list[int] | None = None) -> None:
    from nstyle.core.memory import estimate_peak_bytes, image_size
    from nstyle.core.options import options_from

    print(machine_line("peak memory, estimated and measured"))
    print(f"nstyle.run on {content} + {style}, CPU, a fresh process each, --tolerance 0 (every evaluation runs), "
          "20 evaluations at the final size unless given")
    print("| network | case | evaluations | estimated MB | measured MB | estimated / measured |")
    print("|---|---|---|---|---|---|")
    sizes = image_size(IMAGES / content), [image_size(IMAGES / style)]
    for model in models:
        for what, case in [c for i, c in enumerate(CASES) if cases is None or i in cases]:
            options = {"model": model, "device": "cpu", "tolerance": 0.0} | case
            estimate = estimate_peak_bytes(options_from(**options), *sizes)
            measured = child(RUN, json.dumps(options), str(IMAGES / content), str(IMAGES / style))
            print(f"| {model} | {what} | {measured['evaluations']} | {estimate / 2**20:.0f} | "
                  f"{measured['peak'] / 2**20:.0f} | {estimate / measured['peak']:.2f} |", flush=True)


def resident(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln for ln in f if ln.startswith("VmRSS:")).split()[1]) * 1024


def serve(content: str, style: str, size: int, seconds: float) -> None:
    """A real ``nstyle serve``: its RSS idle, while a job runs, and after the job is cancelled; GET latency."""
    import os
    import socket
    import tempfile
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    data = tempfile.mkdtemp(prefix="nstyle-serve-memory-")
    server = subprocess.Popen([sys.executable, "-m", "nstyle", "serve", "--port", str(port), "--data", data],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    print(machine_line("web server memory"))
    try:
        client = httpx.Client(base_url=url, timeout=30)
        for _ in range(300):
            try:
                if client.get("/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        client.get("/api/options")
        idle = resident(server.pid)
        files = [("content", (content, (IMAGES / content).read_bytes())),
                 ("style", (style, (IMAGES / style).read_bytes()))]
        options = json.dumps({"size": size, "levels": 1, "iterations": 1000, "tolerance": 0})
        job = client.post("/api/jobs", files=files, data={"options": options}).json()["id"]
        start, during, latencies = time.monotonic(), 0, []
        while time.monotonic() - start < seconds:
            t0 = time.monotonic()
            record = client.get(f"/api/jobs/{job}").json()
            client.get("/")
            latencies.append(time.monotonic() - t0)
            during = max(during, resident(server.pid))
            if record["status"] not in ("queued", "running"):
                raise SystemExit(f"the job ended early: {record['status']} {record.get('error')}")
            time.sleep(0.5)
        iterations = (record.get("progress") or {}).get("iteration", 0)
        client.delete(f"/api/jobs/{job}")
        while client.get(f"/api/jobs/{job}").json()["status"] in ("queued", "running"):
            time.sleep(0.2)
        time.sleep(2.0)
        after = resident(server.pid)
        print(f"{size} px job, {iterations} evaluations in {seconds:.0f} s, then cancelled")
        print("| RSS idle MB | RSS while running (highest) MB | RSS 2 s after the cancel MB | "
              "GET job + page, slowest s |")
        print("|---|---|---|---|")
        print(f"| {idle / 2**20:.0f} | {during / 2**20:.0f} | {after / 2**20:.0f} | {max(latencies):.2f} |")
    finally:
        server.send_signal(2)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("coefficients")
    c.add_argument("--models", nargs="+", default=["vgg19", "vgg16", "resnet50", "inception_v3", "squeezenet1_1",
                                                    "alexnet"])
    c.add_argument("--sizes", nargs="+", type=int, default=[256, 512, 768])
    c.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    k = sub.add_parser("calibrate")
    k.add_argument("--models", nargs="+", default=["vgg19", "resnet50"])
    k.add_argument("--content", default="tubingen.jpg")
    k.add_argument("--style", default="starry_night.jpg")
    k.add_argument("--cases", type=int, nargs="+", help="only these cases (0-based, in the order of CASES)")
    w = sub.add_parser("serve")
    w.add_argument("--size", type=int, default=512)
    w.add_argument("--seconds", type=float, default=30.0, help="how long the job runs before it is cancelled")
    w.add_argument("--content", default="tubingen.jpg")
    w.add_argument("--style", default="starry_night.jpg")
    args = parser.parse_args()
    if args.what == "serve":
        serve(args.content, args.style, args.size, args.seconds)
    elif args.what == "coefficients":
        coefficients(args.models, args.sizes, args.precisions)
    else:
        calibrate(args.models, args.content, args.style, args.cases)


if __name__ == "__main__":
    main()
