"""The control options of a transfer, between the options and the losses (see docs/CONTROL.md).

The painter (``nstyle.core.engine``) calls these: the content and styles as colour preservation makes them
(``nstyle.core.color``), the regions of a mask or of semantic maps (``nstyle.core.guidance``) resized to each level, and
the picture a progress callback should see (masks composed, luminance recoloured).
"""

from __future__ import annotations

from collections.abc import Sequence

import PIL.Image
import torch

from ..errors import UsageError
from ..io.images import as_image, image_to_tensor, one_or_many, resize_to_long_side
from .color import luminance_image, match_color, recombine
from .guidance import Guidance, read_maps, read_mask
from .losses import Guides, StyleTransferLoss
from .options import TransferOptions


def prepare_colors(options: TransferOptions, content: PIL.Image.Image,
                   styles: list[PIL.Image.Image]) -> tuple[PIL.Image.Image, list[PIL.Image.Image]]:
    """The content and styles that the transfer sees under --preserve-color (see ``nstyle.core.color``)."""
    if options.preserve_color is None:
        return content, styles
    if options.preserve_color == "histogram":
        return content, [match_color(s, content, options.histogram_method) for s in styles]
    return luminance_image(content), [luminance_image(s, content) for s in styles]


def read_guidance(options: TransferOptions, content: PIL.Image.Image, styles: list[PIL.Image.Image],
                  blend: list[float]) -> Guidance | None:
    """Regions from --mask or from --content-map and --style-map, or None."""
    if options.mask is not None:
        return read_mask(as_image(options.mask), content.size, blend, options.mask_colors)
    if options.content_map is None:  # the options made sure that the maps come in pairs
        return None
    style_maps = one_or_many(options.style_map)
    if len(style_maps) != len(styles):
        raise UsageError(f"{len(style_maps)} style map(s) for {len(styles)} style image(s); give one --style-map "
                         "per style")
    return read_maps(as_image(options.content_map), content.size, [as_image(m) for m in style_maps],
                     [s.size for s in styles], blend)


def level_guides(guidance: Guidance | None, content: torch.Tensor, styles: Sequence[torch.Tensor]) -> Guides | None:
    """The guidance resized to one level's content and style images."""
    if guidance is None:
        return None
    device = content.device
    return Guides(content=guidance.content_tensor(content.shape, device),
                  styles=[guidance.style_tensor(k, s.shape, device) for k, s in enumerate(styles)],
                  mix=torch.as_tensor(guidance.mix, dtype=torch.float32, device=device),
                  keep=guidance.keep_tensor(content.shape, device))


def presenter(objective: StyleTransferLoss, preserve_color: str | None, content: PIL.Image.Image, size: int):
    """The picture the user should see for the optimised image: masks composed, luminance recoloured."""
    if preserve_color != "luminance":
        return objective.compose
    colour = resize_to_long_side(content, size)
    return lambda image: image_to_tensor(recombine(objective.compose(image), colour), device=image.device)


def shown(callback, present):
    """The user's callback, seeing the picture rather than the free variable."""
    if callback is None:
        return None
    return lambda record, image: callback(record, present(image))
