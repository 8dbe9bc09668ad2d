"""``--method fast``: the photo painted in one pass of Ghiasi et al.'s arbitrary-style network
(``nstyle.core.feedforward``), no optimisation: well under a second at 512 px on a CPU, for previews, video and
anyone who would rather not wait. Several styles, ``--strength``, ``--preserve-color`` and masks are the network's
own versions of them (style vectors mixed, moved toward the content's, per pixel)."""

from __future__ import annotations

import PIL.Image
import torch

from ...io.images import as_image
from ..feedforward import FastPainter


def painter(painter, generator: torch.Generator) -> PIL.Image.Image:
    """The finished picture of a checked transfer (``engine.Painter``): deterministic, so ``generator`` is unused."""
    opts = painter.options
    mask = None if opts.mask is None else as_image(opts.mask)  # read as the optimised methods read it
    return FastPainter.load(painter.device).stylise(
        painter.content, painter.style_images, size=opts.size, blend=painter.blend, strength=opts.strength,
        preserve_color=opts.preserve_color, histogram_method=opts.histogram_method, mask=mask,
        mask_colors=opts.mask_colors)
