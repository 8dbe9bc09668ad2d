"""Coarse-to-fine schedules: optimise small first, upsample, refine at growing sizes.

A level at half the size costs about a quarter per iteration and settles the large-scale layout and
colours in few iterations; the finest level then only has to add detail. Each level is twice the size of
the one before, ending at the requested size, and runs twice the iterations of the next finer level, but
never fewer than the default 512 px schedule gives a level of its size (80 at 128 px, 40 at 256, 20 at
512): a 4096 px run with 2 iterations at 4096 still paints its layout at 128-512 px as a 512 px run does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the schedule is plain arithmetic: the options read it without loading torch
    import torch

FLOOR_SIZE, FLOOR_ITERATIONS = 512, 20  # the default schedule's last level


def level_sizes(size: int, levels: int, min_size: int = 64) -> list[int]:
    """Long sides from coarse to fine, e.g. (512, 3) -> [128, 256, 512]; never below ``min_size``.
    ``levels=0`` means as many as fit above ``min_size``."""
    if levels < 0:
        raise ValueError("levels must be 0 (as many as fit) or more")
    levels = levels or 64
    sizes = [size]
    while len(sizes) < levels and sizes[0] // 2 >= min_size:
        sizes.insert(0, sizes[0] // 2)
    return sizes


def level_iterations(iterations: int, levels: int, sizes: list[int] | None = None) -> list[int]:
    """Iterations per level, coarse to fine: the finest runs ``iterations``, each coarser level twice as many,
    and, given the levels' ``sizes``, a coarser level of at most 512 px at least the default schedule's count."""
    counts = [iterations * 2 ** (levels - 1 - k) for k in range(levels)]
    if sizes is not None:
        counts = [max(n, FLOOR_ITERATIONS * FLOOR_SIZE // s) if s <= FLOOR_SIZE and k < levels - 1 else n
                  for k, (n, s) in enumerate(zip(counts, sizes, strict=True))]
    return counts


def upsample(image: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The previous level's image at the next level's height and width (bicubic, kept in 0..1)."""
    import torch.nn.functional as F

    return F.interpolate(image, size=tuple(shape[-2:]), mode="bicubic", align_corners=False).clamp(0, 1)
