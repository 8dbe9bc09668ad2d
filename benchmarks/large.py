"""Large outputs in bounded memory: 2048 and 4096 px transfers with tiled evaluation, peak memory, seams.

Each size runs in a fresh process (so its peak resident memory is its own) on tubingen + starry_night
(../shared/images): nstyle's coarse-to-fine schedule from 128 px (the levels up to 512 px as in a 512 px
run, each larger level with half the iterations of the one before), the levels above --tile evaluated tile
by tile. Reports
wall time, evaluations, peak memory (RSS on CPU, allocated memory on CUDA), and the seam score at the
tile lines (``nstyle.core.tiling.seam_score``: about 1 when the lines do not stand out) next to the same score at
control lines half a tile away. Writes each result, a half-size preview and a 1:1 crop across a tile
corner to -o.

    python benchmarks/large.py [--sizes 2048 4096] [--iterations 4 2] [--tile 1024] [--untiled] [-o DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from common import IMAGES, machine_line

CHILD = """
import json, resource, sys, time, torch
from nstyle.core.engine import run, tile_overlap
from nstyle.io.images import image_to_tensor, save_image
from nstyle.core.tiling import seam_score, tile_grid
size, iterations, tile, levels, device, out = json.loads(sys.argv[1])
start = time.perf_counter()
result = run(sys.argv[2], sys.argv[3], size=size, iterations=iterations, levels=levels, tile=tile, device=device)
wall = time.perf_counter() - start
save_image(result.image, out)
x = image_to_tensor(result.image)
grid_tile = tile or 1024
tiles = tile_grid(x.shape[-2], x.shape[-1], grid_tile, tile_overlap(grid_tile))
shift = grid_tile // 2
control = [t.__class__(t.top + shift, t.left + shift, t.height, t.width,
                       (t.own_rows[0] + shift, t.own_rows[1] + shift), (t.own_cols[0] + shift, t.own_cols[1] + shift))
           for t in tiles]
peak_cuda = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
print(json.dumps({"wall": wall, "evaluations": len(result.history), "width": x.shape[-1], "height": x.shape[-2],
                  "seam": seam_score(x, tiles), "seam_control": seam_score(x, control),
                  "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "peak_cuda": peak_cuda,
                  "tiles": len(tiles) if tile and size > tile else 1,
                  "corner": [tiles[-1].own_rows[0], tiles[-1].own_cols[0]] if len(tiles) > 1 else [0, 0]}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--iterations", type=int, nargs="+", default=[4, 2],
                        help="evaluations at the final size, one per --sizes (coarser levels run twice as many)")
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--untiled", action="store_true",
                        help="also run each size without tiles (may run out of memory)")
    parser.add_argument("-o", "--output", type=Path, default=Path("large-results"))
    args = parser.parse_args()
    if len(args.iterations) != len(args.sizes):
        parser.error("give one --iterations value per --sizes value")
    args.output.mkdir(parents=True, exist_ok=True)
    print(machine_line("large images"))
    print("| size | pixels | tile | tiles at the final size | evaluations | wall s | peak memory GB | seam score "
          "(tile lines / control) |")
    print("|---|---|---|---|---|---|---|---|")
    runs = [(s, i, args.tile) for s, i in zip(args.sizes, args.iterations, strict=True)]
    if args.untiled:
        runs += [(s, i, 0) for s, i in zip(args.sizes, args.iterations, strict=True)]
    for size, iterations, tile in runs:
        out = args.output / f"tubingen_starry_{size}{'' if tile else '_untiled'}.png"
        spec = json.dumps([size, iterations, tile, 0, args.device, str(out)])
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, spec, str(IMAGES / "tubingen.jpg"),
                               str(IMAGES / "starry_night.jpg")], capture_output=True, text=True)
        if proc.returncode != 0:
            reason = "killed (out of memory?)" if proc.returncode < 0 else proc.stderr.strip().splitlines()[-1]
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
            print(f"| {size} | | {tile or 'none'} | | | {time.perf_counter() - start:.0f} | {peak:.1f}? | "
                  f"failed: {reason} |", flush=True)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        peak = (r["peak_cuda"] or r["peak_rss"]) / 2**30
        print(f"| {size} | {r['width']}x{r['height']} | {tile or 'none'} | {r['tiles']} | {r['evaluations']} | "
              f"{r['wall']:.0f} | {peak:.2f} | {r['seam']:.2f} / {r['seam_control']:.2f} |", flush=True)
        _previews(out, r["corner"])


def _previews(path: Path, corner: list[int]) -> None:
    """A half-size JPEG of the whole picture and a 1:1 512 px crop centred on a tile corner."""
    from PIL import Image

    with Image.open(path) as img:
        img.reduce(2).save(path.with_name(path.stem + "_half.jpg"), quality=88)
        top, left = max(0, corner[0] - 256), max(0, corner[1] - 256)
        img.crop((left, top, left + 512, top + 512)).save(path.with_name(path.stem + "_corner.jpg"), quality=90)


if __name__ == "__main__":
    main()
