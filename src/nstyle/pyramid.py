"""Coarse-to-fine schedules: optimise small first, upsample, refine at growing sizes.

A level at half the size costs about a quarter per iteration and settles the large-scale layout and
colours in few iterations; the finest level then only has to add detail. Each level is twice the size of
the one before, ending at the requested size, and runs twice the iterations of the next finer level.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def level_sizes(size: int, levels: int, min_size: int = 64) -> list[int]:
    """Long sides from coarse to fine, e.g. (512, 3) -> [128, 256, 512]; never below ``min_size``."""
    if levels < 1:
        raise ValueError("levels must be at least 1")
    sizes = [size]
    while len(sizes) < levels and sizes[0] // 2 >= min_size:
        sizes.insert(0, sizes[0] // 2)
    return sizes


def level_iterations(iterations: int, levels: int) -> list[int]:
    """Iterations per level, coarse to fine: the finest runs ``iterations``, each coarser level twice as many."""
    return [iterations * 2 ** (levels - 1 - k) for k in range(levels)]


def upsample(image: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """The previous level's image at the next level's height and width (bicubic, kept in 0..1)."""
    return F.interpolate(image, size=tuple(shape[-2:]), mode="bicubic", align_corners=False).clamp(0, 1)
