"""The control options of a transfer, between the options and the losses (see docs/CONTROL.md).

``engine.run`` calls these: the style blend weights, the content and styles as colour preservation makes them
(``nstyle.core.color``), the regions of a mask or of semantic maps (``nstyle.core.guidance``) resized to each level, and
the picture a progress callback should see (masks composed, luminance recoloured).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import PIL.Image
import torch

from .color import HISTOGRAM_METHODS, PRESERVE_COLOR, luminance_image, match_color, recombine
from ..errors import UsageError
from .guidance import Guidance, read_maps, read_mask
from ..io.images import as_image, image_to_tensor, resize_to_long_side
from .losses import Guides, StyleTransferLoss

if TYPE_CHECKING:
    from .engine import TransferOptions


def style_blend(options: TransferOptions, count: int) -> list[float]:
    """The weights that mix the style images (equal by default), checked."""
    if options.style_blend is None:
        return [1.0] * count
    blend = [float(b) for b in options.style_blend]
    if len(blend) != count:
        raise UsageError(f"--style-blend has {len(blend)} weight(s) for {count} style image(s); give one weight "
                         "per style")
    if min(blend) < 0 or sum(blend) <= 0:
        raise UsageError("--style-blend weights must be 0 or more, and not all 0")
    return blend


def prepare_colors(options: TransferOptions, content: PIL.Image.Image,
                   styles: list[PIL.Image.Image]) -> tuple[PIL.Image.Image, list[PIL.Image.Image]]:
    """The content and styles that the transfer sees under --preserve-color (see ``nstyle.core.color``)."""
    if options.preserve_color is None:
        return content, styles
    if options.preserve_color == "histogram":
        if options.histogram_method not in HISTOGRAM_METHODS:
            raise UsageError(f"--histogram-method must be one of {', '.join(HISTOGRAM_METHODS)}, "
                             f"not {options.histogram_method!r}")
        return content, [match_color(s, content, options.histogram_method) for s in styles]
    if options.preserve_color == "luminance":
        return luminance_image(content), [luminance_image(s, content) for s in styles]
    raise UsageError(f"--preserve-color must be one of {', '.join(PRESERVE_COLOR)}, not {options.preserve_color!r}")


def read_guidance(options: TransferOptions, content: PIL.Image.Image, styles: list[PIL.Image.Image],
                  blend: list[float]) -> Guidance | None:
    """Regions from --mask or from --content-map and --style-map, or None."""
    maps = options.content_map is not None or options.style_map is not None
    if options.mask_colors and options.mask is None:
        raise UsageError("--mask-colors needs a --mask")
    if options.mask is not None and maps:
        raise UsageError("give --mask or --content-map with --style-map, not both")
    if options.mask is not None:
        if options.mask_colors and options.style_blend is not None:
            raise UsageError("--style-blend does not apply with --mask-colors: each style has its own region")
        return read_mask(as_image(options.mask), content.size, blend, options.mask_colors)
    if not maps:
        return None
    if options.content_map is None or options.style_map is None:
        raise UsageError("semantic transfer needs both --content-map and --style-map")
    style_maps = [options.style_map] if isinstance(options.style_map, (str, os.PathLike, PIL.Image.Image)) \
        else list(options.style_map)
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
