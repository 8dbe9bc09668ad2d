"""The memory estimate at large sizes: ``estimate_peak_bytes`` against the measured peak of ``nstyle transfer``.

Each case is a real ``nstyle transfer`` (the command line's own ``main``) on tubingen + starry_night in a fresh
process, with the default options but for ``--size``, ``--style-loss``, ``--levels`` and ``--iterations``; its peak
is the process's resident high-water mark (``VmHWM``, which starts afresh at exec, so the benchmark's own memory is
not in it). The peak comes in the first evaluations of the finest level, so a few evaluations at one level
(``--levels 1 --iterations 2``) measure it in minutes rather than hours; ``--levels 0`` runs the coarser levels
first, as a default run does. Above ``--tile`` (1024) the finest level is evaluated tile by tile, the default style
loss (w2) from the whole image's feature moments (``tiling.TiledW2``).

    python benchmarks/memory_estimate.py [--sizes 2048 4096] [--losses w2 gram] [--levels 1] [--iterations 2]
                                         [--tile 1024]

On a shared 2-core machine (load 6-17) a 2048 px case took 12-19 minutes and a 4096 px case 28-38, in
under 6 GB each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import IMAGES, machine_line
from memory import child

TRANSFER = """
import json, sys
from nstyle.cli import main
code = main(json.loads(sys.argv[1]))
with open("/proc/self/status") as f:
    peak = int(next(line for line in f if line.startswith("VmHWM:")).split()[1]) * 1024
if code != 0:
    raise SystemExit(f"nstyle transfer ended with {code}")
print(json.dumps({"peak": peak}))
"""


def measure(content: Path, style: Path, size: int, loss: str, levels: int, iterations: int, tile: int
            ) -> tuple[int, int, float]:
    """(estimated bytes, measured peak bytes, wall seconds) of one ``nstyle transfer`` in a fresh process."""
    from nstyle.core.memory import estimate_peak_bytes, image_size
    from nstyle.core.options import options_from

    flags = {"size": size, "style_loss": loss, "levels": levels, "iterations": iterations, "tile": tile}
    estimate = estimate_peak_bytes(options_from(**flags), image_size(content), [image_size(style)])
    with tempfile.TemporaryDirectory(prefix="nstyle-memory-estimate-") as out:
        argv = ["transfer", str(content), str(style), "-o", str(Path(out) / "out.png"), "-q"]
        argv += [part for flag, value in flags.items() for part in (f"--{flag.replace('_', '-')}", str(value))]
        start = time.perf_counter()
        measured = child(TRANSFER, json.dumps(argv))["peak"]
    return estimate, measured, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--losses", nargs="+", default=["w2", "gram"], help="--style-loss values (w2: the default)")
    parser.add_argument("--levels", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--tile", type=int, default=1024, help="--tile (1024: the default)")
    parser.add_argument("--content", default="tubingen.jpg")
    parser.add_argument("--style", default="starry_night.jpg")
    args = parser.parse_args()
    print(machine_line("memory estimate at large sizes"))
    print(f"nstyle transfer {args.content} {args.style} --levels {args.levels} --iterations {args.iterations} "
          f"--tile {args.tile}, "
          "defaults otherwise, a fresh process each; measured: its VmHWM")
    print("| size | --style-loss | estimated GiB | measured GiB | estimated / measured | wall s |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        for loss in args.losses:
            estimate, measured, wall = measure(IMAGES / args.content, IMAGES / args.style, size, loss, args.levels,
                                               args.iterations, args.tile)
            print(f"| {size} | {loss} | {estimate / 2**30:.2f} | {measured / 2**30:.2f} | {estimate / measured:.2f} | "
                  f"{wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
