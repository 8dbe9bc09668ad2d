"""Spatial control: masks and semantic maps turned into guidance channels, and the guided Gram loss.

Guided Gram matrices (Gatys, Ecker, Bethge, Hertzmann and Shechtman 2017, "Controlling perceptual factors in
neural style transfer"): a region r of the image is given by a guidance channel T_r (weights 0..1, one per
pixel, resized to each layer's feature map), and its Gram matrix is the weighted mean of the feature outer
products over that region,

    G_r = sum_p T_r(p)^2 F(p) F(p)^T / sum_p T_r(p)^2,

so every region can be held to its own style statistics A_r. The style loss of a layer is the regions'
losses weighted by their share of the styled area; with one region covering the whole image it is the plain
style loss.

Where the regions come from:

* ``--mask M.png`` (``read_mask``). A grey mask gives one region: white is styled, black keeps the content,
  grey between blends. A colour mask gives one region per style: ``--mask-colors red blue`` names the mask
  colour of each style (in the order of the styles), and black keeps the content. Soft edges (colours
  between two mask colours, or between a colour and black) are split between them in proportion, so regions
  blend without seams. Pixels that keep the content are not optimised at all: the image is
  ``keep * content + (1 - keep) * x`` and only x is free.
* ``--content-map`` and ``--style-map`` (``read_maps``): colour-coded label images of the content and of the
  style; each colour is a region, and each content region takes the statistics of the style region of the
  same colour (Champandard 2016; Gatys et al. 2017).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import PIL.ImageColor
import torch
import torch.nn.functional as F

from ..errors import UsageError

# A region colour of a map must cover at least this share of the map; smaller specks are edge pixels.
MIN_REGION = 0.005
# Colours farther than this (RGB 0..1, Euclidean) from any mask colour are not explained by the mask colours.
COLOR_TOLERANCE = 0.12
# Proportions may differ this much between a mask or map and its image before it is called a mistake.
ASPECT_TOLERANCE = 0.05


def hex_color(rgb: Sequence[float]) -> str:
    """#rrggbb of an RGB colour (0..1 or 0..255)."""
    values = np.asarray(rgb, dtype=np.float64)
    if values.max() <= 1.0:
        values = values * 255.0
    return "#" + "".join(f"{int(round(v)):02x}" for v in values)


def parse_color(text: str) -> np.ndarray:
    """'red', '#ff0000', 'rgb(255,0,0)' -> RGB 0..1."""
    try:
        return np.asarray(PIL.ImageColor.getrgb(text)[:3], dtype=np.float64) / 255.0
    except ValueError:
        raise UsageError(f"{text!r} is not a colour; use a name (red) or #rrggbb") from None


def _pixels(image: PIL.Image.Image, size: tuple[int, int], what: str) -> np.ndarray:
    """The map or mask as RGB 0..1 at ``size`` (width, height), after checking its proportions."""
    w, h = image.size
    ratio = (w / h) / (size[0] / size[1])
    if abs(ratio - 1.0) > ASPECT_TOLERANCE:
        raise UsageError(f"{what} is {w}x{h} but its image is {size[0]}x{size[1]}: give it the image's proportions")
    # Nearest keeps flat label colours flat; the weights are smoothed per layer later anyway.
    resized = image.convert("RGB").resize(size, PIL.Image.Resampling.NEAREST)
    return np.asarray(resized, dtype=np.float64) / 255.0


@dataclass
class Guidance:
    """Regions of the content image and where each finds its style.

    ``content``: [R, H, W] weight of each region at each pixel of the content (0..1).
    ``styles``: per style image, [R, Hs, Ws] weight of each region at each of its pixels (all ones when the
    whole style image serves the region).
    ``mix``: [K, R] share of style image k in region r's statistics (each column sums to 1).
    ``keep``: [H, W] weight of keeping the content unchanged, or None (semantic maps style every pixel).
    ``names``: one label per region, for messages.
    """

    content: np.ndarray
    styles: list[np.ndarray]
    mix: np.ndarray
    keep: np.ndarray | None
    names: list[str]

    def content_tensor(self, shape: Sequence[int], device) -> torch.Tensor:
        """The content guidance at an image size, [1, R, H, W]."""
        return resize_guide(self.content, shape[-2:], device)

    def keep_tensor(self, shape: Sequence[int], device) -> torch.Tensor | None:
        if self.keep is None:
            return None
        return resize_guide(self.keep[None], shape[-2:], device)

    def style_tensor(self, k: int, shape: Sequence[int], device) -> torch.Tensor:
        return resize_guide(self.styles[k], shape[-2:], device)


def resize_guide(guide: np.ndarray | torch.Tensor, size: Sequence[int], device=None) -> torch.Tensor:
    """[R, H, W] (or [1, R, H, W]) weights resized to (h, w) by area averaging, as [1, R, h, w]."""
    t = torch.as_tensor(guide, dtype=torch.float32)
    if t.dim() == 3:
        t = t.unsqueeze(0)
    t = t.to(device) if device is not None else t
    h, w = int(size[0]), int(size[1])
    if tuple(t.shape[-2:]) == (h, w):
        return t
    if h <= t.shape[-2] and w <= t.shape[-1]:
        return F.interpolate(t, size=(h, w), mode="bilinear", antialias=True, align_corners=False).clamp(0, 1)
    return F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False).clamp(0, 1)


def region_rows(features: torch.Tensor, guide: torch.Tensor):
    """For each region of guidance [1, R, h, w] (resized to the features here): the feature rows [m, C] of the
    positions where its weight is not 0, and those weights [m], read from features [1, C, H, W] as the network lays
    them out (channels last: [M, C] without a copy). The regions of maps and masks cover parts of the image, so
    reading each one's own rows makes R regions cost about what the whole image costs once, not R times."""
    _, c, h, w = features.shape
    t = resize_guide(guide, (h, w), features.device).reshape(-1, h * w)  # [R, M]
    flat = features.permute(0, 2, 3, 1).reshape(h * w, c)  # [M, C]
    for weight in t:
        support = torch.nonzero(weight > 0, as_tuple=True)[0]
        if support.numel() > 0.8 * weight.numel():  # nearly everywhere: weighting all is cheaper than gathering
            yield flat, weight
        else:
            yield flat.index_select(0, support), weight.index_select(0, support)


# -- masks ---------------------------------------------------------------------------------------------------

def is_grey(pixels: np.ndarray) -> bool:
    """True when R, G and B agree everywhere (to JPEG noise)."""
    return float(np.abs(pixels - pixels.mean(axis=-1, keepdims=True)).max()) < 12 / 255


def convex_weights(pixels: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel as a mix of the palette colours: weights [H, W, P] (>= 0, summing to 1) and the distance
    [H, W] between the pixel and its best mix.

    Solved once per distinct colour by non-negative least squares with the sum-to-one row weighted heavily,
    so a soft edge between red and black becomes, say, 0.3 red and 0.7 black.
    """
    from scipy.optimize import nnls

    codes = np.rint(pixels * 255).astype(np.int64)
    flat = (codes[..., 0] << 16) | (codes[..., 1] << 8) | codes[..., 2]
    unique, inverse = np.unique(flat.ravel(), return_inverse=True)
    colors = np.stack([(unique >> 16) & 255, (unique >> 8) & 255, unique & 255], axis=1) / 255.0
    system = np.vstack([palette.T, 10.0 * np.ones(len(palette))])
    weights = np.empty((len(unique), len(palette)))
    for i, color in enumerate(colors):
        weights[i], _ = nnls(system, np.append(color, 10.0))
    weights /= np.clip(weights.sum(axis=1, keepdims=True), 1e-12, None)
    error = np.linalg.norm(weights @ palette - colors, axis=1)
    shape = pixels.shape[:2]
    return weights[inverse].reshape(*shape, len(palette)), error[inverse].reshape(shape)


def main_colors(pixels: np.ndarray, limit: int = 6) -> list[str]:
    """The most common colours of an image (coarsely binned), most common first, as #rrggbb."""
    labels, palette, counts = _palette(pixels, MIN_REGION)
    order = np.argsort(-counts)[:limit]
    return [hex_color(palette[i]) for i in order]


def read_mask(mask: PIL.Image.Image, size: tuple[int, int], blend: Sequence[float],
              mask_colors: Sequence[str] | None = None) -> Guidance:
    """Guidance from a mask at the content's ``size`` (width, height), for styles mixed by ``blend`` (one
    weight per style); see the module's docstring."""
    n_styles = len(blend)
    pixels = _pixels(mask, size, "the mask")
    if not mask_colors:
        if not is_grey(pixels):
            raise UsageError(f"the mask has colours ({', '.join(main_colors(pixels))}): give --mask-colors, one "
                             "colour per style, or use a grey mask (white styled, black kept)")
        region = pixels.mean(axis=-1)
        if region.max() < 0.5:
            raise UsageError("the mask is black everywhere, so nothing would be styled; paint white where the "
                             "style should go")
        return Guidance(content=region[None], styles=[np.ones((1, 1, 1))] * n_styles,
                        mix=np.asarray(blend, dtype=np.float64)[:, None] / sum(blend), keep=1.0 - region,
                        names=["white"])
    if len(mask_colors) != n_styles:
        raise UsageError(f"--mask-colors has {len(mask_colors)} colour(s) for {n_styles} style(s); give one mask "
                         "colour per style, in the order of the styles")
    palette = np.vstack([np.zeros(3)] + [parse_color(c) for c in mask_colors])
    if len({hex_color(c) for c in palette}) < len(palette):
        raise UsageError("--mask-colors must differ from each other and from black (black keeps the content)")
    weights, error = convex_weights(pixels, palette)
    unexplained = error > COLOR_TOLERANCE
    if unexplained.mean() > MIN_REGION:
        colors = main_colors(np.where(unexplained[..., None], pixels, np.nan))
        share = 100 * unexplained.mean()
        raise UsageError(f"mask colour {', '.join(colors) or 'mix'} ({share:.0f} % of the mask) has no style: add "
                         "it to --mask-colors (one per style) or paint it black to keep the content")
    for k, name in enumerate(mask_colors):
        if weights[..., k + 1].mean() < 1e-3:
            raise UsageError(f"mask colour {name} (style {k + 1}) is not in the mask; check --mask-colors")
    return Guidance(content=np.moveaxis(weights[..., 1:], -1, 0), styles=[np.ones((1, 1, 1))] * n_styles,
                    mix=np.eye(n_styles), keep=weights[..., 0], names=list(mask_colors))


# -- semantic maps -------------------------------------------------------------------------------------------

def _palette(pixels: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flat colours of a label map: colours binned to 16 levels a channel, bins of at least ``min_share``
    of the pixels kept (their mean colour), nearby bins and the blends along edges between two colours
    dropped. Returns each pixel's nearest palette index
    [H, W], the palette [P, 3] and its pixel counts [P]."""
    valid = ~np.isnan(pixels).any(axis=-1)
    flat = pixels[valid]
    if flat.size == 0:
        return np.zeros(pixels.shape[:2], np.int64), np.zeros((0, 3)), np.zeros(0)
    codes = np.minimum((flat * 16).astype(np.int64), 15)
    keys = codes[:, 0] * 256 + codes[:, 1] * 16 + codes[:, 2]
    unique, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    big = np.flatnonzero(counts >= max(1, min_share * len(flat)))
    merged: list[np.ndarray] = []
    for i in big[np.argsort(-counts[big], kind="stable")]:  # most common first
        color = flat[inverse == i].mean(axis=0)
        edge = counts[i] < 0.05 * len(flat) and _between(color, merged)  # a few pixels blending two regions
        if all(np.linalg.norm(color - m) > 0.15 for m in merged) and not edge:
            merged.append(color)
    palette_arr = np.array(merged) if merged else flat.mean(axis=0, keepdims=True)
    labels = nearest(np.nan_to_num(pixels), palette_arr)
    counts_out = np.array([(labels[valid] == i).sum() for i in range(len(palette_arr))])
    return labels, palette_arr, counts_out


def _between(color: np.ndarray, palette: Sequence[np.ndarray], tolerance: float = 0.15) -> bool:
    """True when ``color`` lies on the line between two (more common) palette colours: an edge's blend."""
    for i, a in enumerate(palette):
        for b in palette[i + 1:]:
            t = np.clip(np.dot(color - a, b - a) / max(np.dot(b - a, b - a), 1e-12), 0.0, 1.0)
            if np.linalg.norm(a + t * (b - a) - color) < tolerance:
                return True
    return False


def nearest(pixels: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Index of the nearest palette colour for each pixel, [H, W]."""
    distance = ((pixels[..., None, :] - palette) ** 2).sum(axis=-1)
    return distance.argmin(axis=-1)


def read_maps(content_map: PIL.Image.Image, content_size: tuple[int, int],
              style_maps: Sequence[PIL.Image.Image], style_sizes: Sequence[tuple[int, int]],
              blend: Sequence[float] | None = None) -> Guidance:
    """Guidance from a content map and one style map per style image (each at its image's size); several
    style images are mixed by ``blend`` in every region."""
    pixels = _pixels(content_map, content_size, "the content map")
    labels, palette, counts = _palette(pixels, MIN_REGION)
    order = np.argsort(-counts)
    palette, counts = palette[order], counts[order]
    labels = nearest(pixels, palette)
    content = np.stack([(labels == r).astype(np.float64) for r in range(len(palette))])
    names = [hex_color(c) for c in palette]
    styles = []
    for k, (style_map, size) in enumerate(zip(style_maps, style_sizes, strict=True)):
        what = "the style map" if len(style_maps) == 1 else f"style map {k + 1}"
        spixels = _pixels(style_map, size, what)
        _, own, _ = _palette(spixels, MIN_REGION)
        extra = [c for c in own if np.linalg.norm(palette - c, axis=1).min() > 0.15]
        slabels = nearest(spixels, np.vstack([palette, *extra]) if extra else palette)
        guide = np.stack([(slabels == r).astype(np.float64) for r in range(len(palette))])
        shares = guide.reshape(len(palette), -1).mean(axis=1)
        for r, share in enumerate(shares):
            if share < MIN_REGION / 5:
                raise UsageError(f"{what} has no region of colour {names[r]}, which the content map has "
                                 f"({100 * counts[r] / counts.sum():.0f} % of it); paint that colour where its "
                                 "style should come from")
        styles.append(guide)
    shares = np.asarray(blend if blend is not None else [1.0] * len(style_maps), dtype=np.float64)
    mix = np.repeat((shares / shares.sum())[:, None], len(palette), axis=1)
    return Guidance(content=content, styles=styles, mix=mix, keep=None,
                    names=names)


__all__ = ["Guidance", "read_mask", "read_maps", "region_rows", "resize_guide", "parse_color", "hex_color"]
