"""A run's peak memory, estimated before it starts, and the refusal of a run that will not fit.

A run that outgrows the machine is no error Python sees: the kernel kills the process, and with a web server
every job in it. So the ``Painter`` estimates each run from the sizes it will use, before any image is resized
or any weights load, and refuses one that needs more than the memory free now, naming the largest ``--size``
(or ``--style-scale``) that fits.

The peak is the runtime, the network's weights, the pictures, and the largest level, each level the larger of:

* the style phase: every style image at its scale and its features at the style layers, computed once per level
  (one style tile at a time when the level is tiled, as ``tiling.style_targets_of`` does);
* the optimisation: the image-sized tensors (the image, its gradient, the best so far, the optimiser's state:
  for L-BFGS up to 100 pairs of image-sized history, ``optim.py``), the content targets, and one evaluation's
  forward and backward, of the whole image or, above ``--tile``, of one tile (with the whole-image tensors alive
  during a tile's pass, fewer than between evaluations: docs/BENCHMARKS.md, "Memory estimate at 2048 and 4096 px").

Each network's figures per input pixel (``NETWORKS``) were measured with ``benchmarks/memory.py coefficients``
(resident memory on CPU, a fresh process each); the whole estimate against measured runs is in
docs/BENCHMARKS.md ("Peak memory"); the distribution style losses add a measured share (``catalog``'s records).
Not counted: layers other than the network's defaults, ``--smoothing``, masks and maps, video's temporal terms;
what a process already holds (earlier frames, a server) is out of what is free when each run starts. On CUDA
the same figures are compared with the GPU's free memory; they were not measured there.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..errors import UsageError
from .catalog import bytes_per_pixel
from .options import MIN_LEVEL_SIZE, MIN_SIZE, MIN_TILE, TransferOptions
from .pyramid import level_iterations, level_sizes

if TYPE_CHECKING:
    import torch

#: Resident memory of Python with torch and nstyle imported, before any work (measured: 233 MB).
RUNTIME_BYTES = 240 * 2**20
#: One [1, 3, H, W] float32 image, per pixel.
IMAGE_BYTES = 12
#: Image-sized tensors alive while a level optimises, besides L-BFGS's history: the image and its gradient, the
#: start, the best so far, the content, and the optimiser's own (L-BFGS: the flat gradient, the direction, the
#: previous gradient, a temporary; Adam: two moments; SGD: the momentum). Counted in a run (``gc``'s tensors at
#: the callback: 8 for L-BFGS, besides its history), with the gradient that is freed before each evaluation.
RESIDENT_IMAGES = {"lbfgs": 9, "adam": 7, "sgd": 6}
#: A tiled evaluation's whole-image gradient, held by autograd and scaled once more.
TILED_IMAGES = 3
#: Image-sized tensors alive while one tile is forwarded and differentiated, the peak of a tiled evaluation: the
#: content, the start, the image, the best so far and the gradient summed tile by tile (counted by ``gc`` during a
#: tile's pass; the optimiser's own tensors of the end of a step are not alive then); besides the optimiser's state.
TILED_PASS_IMAGES = 5
#: The optimiser's state in image-sized tensors during any evaluation after the first: L-BFGS's direction and
#: previous gradient (and its history: one pair fewer than the evaluations before, counted apart), Adam's two
#: moments, SGD's momentum.
OPTIMIZER_STATE = {"lbfgs": 2, "adam": 2, "sgd": 1}
#: glibc's largest mmap threshold: a block this large is mapped on its own and goes back to the system when freed; a
#: smaller one comes from the heap, whose freed pieces the process keeps. So below it a tiled pass still holds the
#: memory of the image-sized tensors freed at the end of each step (VGG19, ResNet50, Inception-v3 at 1300 px with
#: --tile 512: the estimate 0.81-0.92 of the measured peak without them), above it only the live ones.
MMAP_THRESHOLD = 32 * 2**20
LBFGS_HISTORY = 100  # pairs, each two image-sized tensors (core/optim.py's history_size)
#: The pictures at the output size a run keeps (the content as given and as painted, colour-prepared copies).
PICTURE_BYTES = 16
#: A style image being resized and turned into a tensor, per pixel (Pillow's RGBX, NumPy's copy).
STYLE_LOAD_BYTES = 8
#: Loading a network holds its weights twice for a moment (the network made, then the file read into it).
LOADING = 2
#: What a run adds besides its tensors (the modules and kernels it loads, oneDNN's caches), and the resident memory
#: over the tensors counted here, as a factor (freed memory that glibc keeps, in pieces the next level's tensors do
#: not fit): both fitted to whole runs of VGG19 and ResNet50 at 128-1300 px (docs/BENCHMARKS.md, "Peak memory").
RUN_BYTES = 60 * 2**20
ALLOCATOR_SLACK = 1.35
#: Of the memory free when a run starts, the share it may take; the rest is left to the system, other programs,
#: the allocator's slack and the estimate's error.
USABLE_SHARE = 0.85


@dataclass(frozen=True)
class NetworkMemory:
    """One network's figures at its default layers: its weights' bytes, the content targets' bytes per input pixel,
    and per precision, as (MB, bytes per input pixel), the peak of a no-grad forward to the style layers (the
    features kept) and of one evaluation, forward and backward."""

    weights: int
    content: float
    style: dict[str, tuple[float, float]]
    train: dict[str, tuple[float, float]]

    def cost(self, what: str, precision: str, pixels: int) -> float:
        megabytes, per_pixel = getattr(self, what)[precision]
        return megabytes * 2**20 + per_pixel * pixels


#: Measured with ``benchmarks/memory.py coefficients`` (docs/BENCHMARKS.md, "Peak memory").
NETWORKS: dict[str, NetworkMemory] = {
    "vgg19": NetworkMemory(86_822_912, 32, {"float32": (19, 752), "bfloat16": (15, 791)},
                           {"float32": (56, 2438), "bfloat16": (62, 1896)}),
    "vgg16": NetworkMemory(65_581_056, 32, {"float32": (17, 766), "bfloat16": (18, 744)},
                           {"float32": (7, 2939), "bfloat16": (47, 1931)}),
    "resnet50": NetworkMemory(108_658_688, 16, {"float32": (0, 560), "bfloat16": (21, 312)},
                              {"float32": (115, 1195), "bfloat16": (131, 841)}),
    "inception_v3": NetworkMemory(105_906_176, 16, {"float32": (25, 182), "bfloat16": (13, 275)},
                                  {"float32": (12, 913), "bfloat16": (18, 701)}),
    "squeezenet1_1": NetworkMemory(12_582_912, 15, {"float32": (15, 216), "bfloat16": (13, 198)},
                                   {"float32": (9, 829), "bfloat16": (8, 612)}),
    "alexnet": NetworkMemory(15_732_736, 6, {"float32": (13, 58), "bfloat16": (17, 34)},
                             {"float32": (16, 204), "bfloat16": (15, 246)}),
}


def network_memory(model: str) -> NetworkMemory:
    """The network's figures; a network without its own (one registered later) gets the largest of each."""
    if model in NETWORKS:
        return NETWORKS[model]
    known = NETWORKS.values()

    def largest(what: str) -> dict[str, tuple[float, float]]:
        return {p: (max(getattr(n, what)[p][0] for n in known), max(getattr(n, what)[p][1] for n in known))
                for p in ("float32", "bfloat16")}

    return NetworkMemory(max(n.weights for n in known), max(n.content for n in known), largest("style"),
                         largest("train"))


@dataclass(frozen=True)
class _Shape:
    """What the estimate reads of the options, so the search for what fits varies it without re-validating."""

    model: str
    precision: str  # float32 or bfloat16, as the network will compute
    size: int
    levels: int
    iterations: int
    style_scale: float
    tile: int
    optimizer: str
    style_bytes: int = 0  # what the style loss adds per pixel (``catalog.bytes_per_pixel``)
    parametrization: str = "pixels"

    @classmethod
    def of(cls, options: TransferOptions, device: torch.device | None) -> _Shape:
        from ..models.precision import compute_dtype

        dtype = compute_dtype(options.precision, _device(options, device))
        return cls(options.model, "float32" if dtype is None else "bfloat16", options.size, options.levels,
                   options.iterations, options.style_scale, options.tile, options.optimizer,
                   bytes_per_pixel(options.method, options.resolved().style_loss), options.parametrization)

    def peak(self, content: tuple[int, int], styles: Sequence[tuple[int, int]], loaded: bool = False) -> int:
        net = network_memory(self.model)
        sizes = level_sizes(self.size, self.levels, min_size=MIN_LEVEL_SIZE)
        levels = zip(sizes, level_iterations(self.iterations, len(sizes), sizes), strict=True)
        work = max(self._level(net, s, n, content, styles) for s, n in levels)
        work += PICTURE_BYTES * _pixels(content, self.size)
        weights = 0 if loaded else net.weights
        return round(RUNTIME_BYTES + max(LOADING * weights, weights + RUN_BYTES + ALLOCATOR_SLACK * work))

    def _level(self, net: NetworkMemory, size: int, iterations: int, content: tuple[int, int],
               styles: Sequence[tuple[int, int]]) -> float:
        width, height = _scaled(content, size)
        pixels = width * height
        style_size = max(1, round(size * self.style_scale))
        style_dims = [_scaled(s, style_size) for s in styles]
        style_pixels = sum(w * h for w, h in style_dims)
        image = IMAGE_BYTES * pixels
        held = IMAGE_BYTES * style_pixels  # the styles' tensors, alive through the level
        tiled = bool(self.tile) and size > self.tile
        if tiled:
            overlap = max(64, self.tile // 8)  # engine.tile_overlap
            tile, tiles = _tiles(width, height, self.tile, overlap)
            style_tile = max(_tiles(w, h, self.tile, overlap)[0] for w, h in style_dims)
            targets = net.content * tiles
            style_phase = net.cost("style", self.precision, style_tile)
            evaluation = net.cost("train", self.precision, tile)
        else:
            targets = net.content * pixels
            style_phase = net.cost("style", self.precision, style_pixels)
            evaluation = net.cost("train", self.precision, pixels)
        if self.style_bytes and not tiled:  # tiled, a style loss works from the whole image's moments or Grams
            # (tiling.TiledW2: C x C per layer, a few MB, nothing per pixel)
            evaluation += self.style_bytes * pixels * net.train["float32"][1] / \
                NETWORKS["vgg19"].train["float32"][1]
        history = 2 * min(iterations, LBFGS_HISTORY) if self.optimizer == "lbfgs" else 0
        bands = 4 / 3 if self.parametrization == "laplacian" else 1  # the bands hold a third more values than the
        history *= bands  # image, and so does every copy the optimiser keeps of them
        styles_made = held + STYLE_LOAD_BYTES * max(w * h for w, h in style_dims) + style_phase + 2 * image
        if tiled:  # the peak is a tile's pass (the last evaluation's), unless the whole-image tensors of the end of
            # a step outweigh a tile's activations
            state = 0 if iterations < 2 else OPTIMIZER_STATE[self.optimizer]
            if self.optimizer == "lbfgs":
                state += 2 * min(iterations - 2, LBFGS_HISTORY) if iterations > 2 else 0
            between = RESIDENT_IMAGES[self.optimizer] + history + TILED_IMAGES
            passing = TILED_PASS_IMAGES + bands * state if image >= MMAP_THRESHOLD else between
            optimising = held + targets + max(image * passing + evaluation, image * between)
        else:
            optimising = held + targets + image * (RESIDENT_IMAGES[self.optimizer] + history) + evaluation
        return max(styles_made + targets, optimising)


def _device(options: TransferOptions, device) -> torch.device:
    import torch

    if device is not None:
        return torch.device(device)
    if options.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(options.device)


def _scaled(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Width and height of an image of ``size`` resized to ``long_side`` (as ``io.images.resize_to_long_side``)."""
    width, height = size
    scale = long_side / max(width, height)
    if width >= height:
        return long_side, max(1, round(height * scale))
    return max(1, round(width * scale)), long_side


def _pixels(size: tuple[int, int], long_side: int) -> int:
    width, height = _scaled(size, long_side)
    return width * height


def _tiles(width: int, height: int, tile: int, overlap: int) -> tuple[int, int]:
    """Pixels of the largest tile and of all tiles together, from the tiling's own spans (no tile list made)."""
    from .tiling import _spans

    rows, cols = _spans(height, tile, overlap), _spans(width, tile, overlap)
    largest = max(r[1] for r in rows) * max(c[1] for c in cols)
    return largest, sum(r[1] for r in rows) * sum(c[1] for c in cols)


def estimate_peak_bytes(options: TransferOptions, content_size: tuple[int, int],
                        style_sizes: Sequence[tuple[int, int]], device=None, loaded: bool = False) -> int:
    """The peak resident memory of a process making this run, in bytes: ``content_size`` and ``style_sizes`` are
    (width, height) of the images as given; ``loaded``: the network is already in memory (not counted)."""
    return _Shape.of(options, device).peak(content_size, style_sizes, loaded)


def needed_bytes(options: TransferOptions, content_size: tuple[int, int], style_sizes: Sequence[tuple[int, int]],
                 device=None, loaded: bool = False) -> int:
    """What the run adds to a process that is already running (its runtime is in memory)."""
    return estimate_peak_bytes(options, content_size, style_sizes, device, loaded) - RUNTIME_BYTES


# -- what is free ---------------------------------------------------------------------------------------------


def available_bytes(device=None) -> int | None:
    """Memory a run may still take: on CUDA the GPU's free memory, else the system's available memory (psutil, else
    /proc/meminfo's MemAvailable), no more than a cgroup limit leaves; None where neither can be read."""
    if device is not None and getattr(device, "type", str(device).split(":")[0]) == "cuda":
        import torch

        return int(torch.cuda.mem_get_info(device)[0])
    free = [value for value in (_system_available(), _cgroup_available()) if value is not None]
    return min(free) if free else None


def _system_available() -> int | None:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_available() -> int | None:
    """What a container's memory limit still allows (its limit less its usage, less reclaimable file pages)."""
    for limit_file, usage_file, stat_file, inactive in (
            ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory.stat",
             "inactive_file"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes",
             "/sys/fs/cgroup/memory/memory.stat", "total_inactive_file")):
        try:
            with open(limit_file) as f:
                text = f.read().strip()
            if text == "max" or int(text) >= 2**60:
                return None
            with open(usage_file) as f:
                usage = int(f.read())
            with open(stat_file) as f:
                stats = dict(line.split() for line in f if line.strip())
            return max(0, int(text) - usage + int(stats.get(inactive, 0)))
        except (OSError, ValueError):
            continue
    return None


def resident_bytes() -> int:
    """This process's resident memory now (0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def release_freed_memory() -> None:
    """Hand memory the process has freed back to the system (glibc keeps freed heap pages for reuse), so that what
    is free is what the system reports, and a finished or cancelled job's memory is the machine's again."""
    name = ctypes.util.find_library("c")
    if not name or os.name != "posix":
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS)
        return
    trim(0)


# -- the refusal ----------------------------------------------------------------------------------------------


def check_fits(options: TransferOptions, content, style, device=None, loaded: bool = False,
               reclaimable: int = 0) -> None:
    """A ``UsageError`` naming the largest size (or style scale) that fits, if the run needs more than
    ``USABLE_SHARE`` of the memory free now and ``reclaimable`` (what this process holds now and frees before the
    run: a running web job's). ``content`` and ``style``: the run's images (paths or images); where their sizes
    cannot be read, the Painter's own checks say why, so nothing is refused here."""
    content_size = image_size(content)
    style_sizes = [image_size(s) for s in ([style] if _is_one(style) else list(style))]
    if content_size is None or not style_sizes or None in style_sizes:
        return
    release_freed_memory()
    free = available_bytes(_device(options, device))
    if free is None:
        return
    free += reclaimable
    shape = _Shape.of(options, device)
    budget = int(free * USABLE_SHARE)

    def need(s: _Shape) -> int:
        return s.peak(content_size, style_sizes, loaded) - RUNTIME_BYTES

    needed = need(shape)
    if needed <= budget:
        return
    fits = lambda s: need(s) <= budget  # noqa: E731
    if shape.style_scale > 1 and 2 * need(replace(shape, style_scale=1.0)) <= needed:  # the style is most of it
        flag, value = "--style-scale", f"{shape.style_scale:g}"
        best = next((v for v in _nicer(shape.style_scale, 0.1) if fits(replace(shape, style_scale=v))), None)
        largest = (f"the largest --style-scale that fits is about {best:g}" if best is not None else
                   "no --style-scale fits in the memory free now; give a smaller --size too")
    else:
        flag, value = "--size", str(shape.size)
        best = next((v for v in _nicer(shape.size, MIN_SIZE) if fits(replace(shape, size=int(v)))), None)
        largest = (f"the largest --size that fits is about {int(best)}" if best is not None else
                   "no --size fits in the memory free now; close other programs or wait for other runs to end")
    raise UsageError(f"{flag} {value} needs about {_amount(needed)} of memory and {_amount(free)} is free "
                     f"(a run may take {USABLE_SHARE:.0%} of it); {largest}{_alternative(shape, fits)}")


def _alternative(shape: _Shape, fits) -> str:
    """Another way to make the run fit as it is: smaller tiles, else Adam (no L-BFGS history)."""
    for tile in (1024, 768, 512, 384, MIN_TILE):
        if tile < shape.size and (not shape.tile or tile < shape.tile) and fits(replace(shape, tile=tile)):
            return f" (or give --tile {tile})"
    if shape.optimizer == "lbfgs" and fits(replace(shape, optimizer="adam")):
        return " (or give --optimizer adam)"
    return ""


def _nicer(value: float, lowest: float) -> list[float]:
    """Round numbers below ``value`` down to ``lowest``, largest first, two significant digits (9900, 9800, ...)."""
    top, bottom = math.floor(math.log10(value)), math.floor(math.log10(lowest))
    found = {round(m * 10.0 ** (e - 1), 6) for e in range(bottom, top + 1) for m in range(10, 100)}
    return sorted((v for v in found if lowest <= v < value), reverse=True)


def _amount(n: int) -> str:
    gb = n / 2**30
    if gb >= 1000:
        return f"{gb / 1024:.1f} TB"
    if gb >= 10:
        return f"{gb:.0f} GB"
    if gb >= 1:
        return f"{gb:.1f} GB"
    return f"{n / 2**20:.0f} MB"


def _is_one(value) -> bool:
    return isinstance(value, (str, os.PathLike)) or hasattr(value, "convert")


def image_size(value) -> tuple[int, int] | None:
    """(width, height) of an image or image file, from the header only; None if it cannot be read."""
    if hasattr(value, "size") and hasattr(value, "convert"):
        return tuple(value.size)
    try:
        import PIL.Image

        with PIL.Image.open(value) as image:
            return tuple(image.size)
    except Exception:  # noqa: BLE001 - any unreadable input is the Painter's to report
        return None
