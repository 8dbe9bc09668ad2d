"""Automatic semantic maps (``--auto-maps K``): the regions of the content and of each style found without drawing.

Zhao, Rosin and Lai (2017), "Automatic semantic style transfer using deep convolutional neural networks and soft
masks": plain transfer paints one region's textures onto unrelated regions (sky strokes on faces); semantic
transfer fixes that but needs hand-made maps. Here the maps are found from what the transfer already has:

1. **Segment** each image (``segment``): the backbone's two deepest default style layers (L2-normalised per
   position, resampled to a grid of ``GRID`` cells on the long side, reduced to ``PCA_DIMENSIONS`` principal
   components), with the pixels' colour and position, each block scaled to unit mean square and weighted
   (``COLOR_WEIGHT``, ``POSITION_WEIGHT``), smoothed spatially by a Gaussian of ``SMOOTHING`` cells, then k-means
   (k-means++ starts from the run's seed, the best of ``RESTARTS``).
2. **Choose K** when it is ``auto`` (``choose_regions``): the fewest regions in ``AUTO_REGIONS`` whose mean silhouette
   (on ``SILHOUETTE_SAMPLE`` positions) is within ``SILHOUETTE_TOLERANCE`` of the best; each image gets its own K.
3. **Match** (``match_regions``): the cost of giving content region i style region j is the cosine distance between
   their mean deep features (before the PCA, which is per image). An optimal assignment (Hungarian) pairs
   min(Kc, Ks) regions; a content region left over takes its nearest style region, so several content regions may
   share one. Content regions that take the same style region in every style are one region.
4. **Soften** (``soft_masks``): each region's indicator is blurred by a Gaussian of ``SOFT_EDGE`` of the long side
   and the regions renormalised to sum to one, so the guided losses blend across a boundary instead of cutting it.

``FoundMaps`` holds the result: the ``Guidance`` the guided losses take, and the hard label maps, colour-coded
like hand-made ones (``images``), which round-trip through ``--content-map``/``--style-map``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

from ..io.images import image_to_tensor, resize_to_long_side
from .guidance import Guidance, hex_color

AUTO = "auto"
AUTO_REGIONS = (2, 3, 4, 5)
SEGMENT_SIZE = 256  # long side of the image the backbone sees for segmenting
GRID = 64  # cells on the long side of the feature grid that is clustered
PCA_DIMENSIONS = 16
COLOR_WEIGHT = 0.5
POSITION_WEIGHT = 0.5
SMOOTHING = 1.5  # cells
RESTARTS = 4
KMEANS_STEPS = 50
SILHOUETTE_SAMPLE = 1024
SILHOUETTE_TOLERANCE = 0.02
SOFT_EDGE = 0.015  # of the long side
# The regions' colours in saved maps: saturated and far apart (read_maps tells colours 0.15 apart), no black.
PALETTE = np.array([[40, 90, 200], [230, 130, 30], [50, 170, 70], [200, 50, 160],
                    [240, 220, 40], [20, 200, 210], [150, 80, 40], [140, 120, 230],
                    [255, 255, 255], [120, 120, 120], [180, 230, 140], [90, 20, 90]], dtype=np.uint8)


@dataclass
class Segmentation:
    """One image's regions on the feature grid: ``labels`` [h, w] (0..k-1, largest region first) and each region's
    mean deep feature ``means`` [k, C] (unit-normalised features, comparable across images)."""

    labels: np.ndarray
    means: np.ndarray

    @property
    def count(self) -> int:
        return len(self.means)


def _unit_mean_square(x: torch.Tensor) -> torch.Tensor:
    x = x - x.mean(dim=0)
    return x / x.pow(2).sum(dim=1).mean().sqrt().clamp_min(1e-12)


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """[1, C, h, w] blurred separably, edges replicated."""
    if sigma <= 0:
        return x
    radius = max(1, int(round(2.5 * sigma)))
    taps = torch.exp(-torch.arange(-radius, radius + 1, dtype=x.dtype) ** 2 / (2 * sigma ** 2))
    taps = (taps / taps.sum()).to(x.device)
    channels = x.shape[1]
    pad_w = min(radius, x.shape[-1] - 1)
    pad_h = min(radius, x.shape[-2] - 1)
    x = F.pad(x, (pad_w, pad_w, 0, 0), mode="replicate") if pad_w else x
    x = F.conv2d(x, taps[radius - pad_w: radius + pad_w + 1].view(1, 1, 1, -1).repeat(channels, 1, 1, 1),
                 groups=channels) if pad_w else x
    x = F.pad(x, (0, 0, pad_h, pad_h), mode="replicate") if pad_h else x
    x = F.conv2d(x, taps[radius - pad_h: radius + pad_h + 1].view(1, 1, -1, 1).repeat(channels, 1, 1, 1),
                 groups=channels) if pad_h else x
    return x


def grid_shape(size: tuple[int, int], cells: int = GRID) -> tuple[int, int]:
    """(h, w) of the feature grid of an image of ``size`` (width, height)."""
    width, height = size
    scale = cells / max(width, height)
    return max(2, round(height * scale)), max(2, round(width * scale))


def region_features(backbone, image: PIL.Image.Image) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int]]:
    """What is clustered, [h*w, D], the unit-normalised deep features, [h*w, C], and the grid (h, w)."""
    device = next(backbone.parameters()).device
    x = image_to_tensor(resize_to_long_side(image.convert("RGB"), SEGMENT_SIZE), device=device)
    layers = list(backbone.default_style_layers[-2:])
    with torch.no_grad():
        features = backbone(x, layers)
    h, w = grid_shape(image.size)
    deep = []
    for name in layers:
        f = F.interpolate(features[name].float(), size=(h, w), mode="bilinear", align_corners=False)
        deep.append(f / f.norm(dim=1, keepdim=True).clamp_min(1e-6))
    deep_grid = torch.cat(deep, dim=1)[0].reshape(-1, h * w).T.cpu()  # [N, C]
    centred = deep_grid - deep_grid.mean(dim=0)
    q = min(PCA_DIMENSIONS, *centred.shape)
    _, _, basis = torch.linalg.svd(centred, full_matrices=False)
    parts = [_unit_mean_square(centred @ basis[:q].T)]
    colour = F.interpolate(x.float(), size=(h, w), mode="area")[0].reshape(3, -1).T.cpu()
    parts.append(COLOR_WEIGHT * _unit_mean_square(colour))
    rows, cols = torch.meshgrid(torch.linspace(-h / max(h, w), h / max(h, w), h),
                                torch.linspace(-w / max(h, w), w / max(h, w), w), indexing="ij")
    parts.append(POSITION_WEIGHT * torch.stack([rows.ravel(), cols.ravel()], dim=1) / np.sqrt(2 / 3))
    stacked = torch.cat(parts, dim=1).T.reshape(1, -1, h, w)
    smoothed = _gaussian_blur(stacked, SMOOTHING)[0].reshape(stacked.shape[1], -1).T
    return smoothed.contiguous(), deep_grid, (h, w)


def kmeans(x: torch.Tensor, k: int, generator: torch.Generator, restarts: int = RESTARTS,
           steps: int = KMEANS_STEPS) -> tuple[torch.Tensor, float]:
    """Labels [N] of the lowest-inertia of ``restarts`` k-means runs from k-means++ starts, and that inertia."""
    best_labels, best_inertia = None, float("inf")
    for _ in range(restarts):
        centres = x[torch.randint(len(x), (1,), generator=generator)]
        for _ in range(k - 1):
            d2 = torch.cdist(x, centres).min(dim=1).values.pow(2)
            pick = torch.multinomial(d2 / d2.sum(), 1, generator=generator) if d2.sum() > 0 else torch.zeros(1).long()
            centres = torch.cat([centres, x[pick]])
        labels = torch.cdist(x, centres).argmin(dim=1)
        for _ in range(steps):
            onehot = F.one_hot(labels, k).to(x.dtype)
            counts = onehot.sum(dim=0)
            moved = (onehot.T @ x) / counts.clamp_min(1)[:, None]
            centres = torch.where(counts[:, None] > 0, moved, centres)
            new = torch.cdist(x, centres).argmin(dim=1)
            if torch.equal(new, labels):
                break
            labels = new
        inertia = float(torch.cdist(x, centres).min(dim=1).values.pow(2).sum())
        if inertia < best_inertia - 1e-9:
            best_labels, best_inertia = labels, inertia
    return best_labels, best_inertia


def silhouette(x: torch.Tensor, labels: torch.Tensor, sample: torch.Tensor) -> float:
    """Mean silhouette of the positions ``sample``: (b - a) / max(a, b), a the mean distance to the own cluster,
    b to the nearest other."""
    xs, ls = x[sample], labels[sample]
    distances = torch.cdist(xs, xs)
    k = int(labels.max()) + 1
    onehot = F.one_hot(ls, k).to(x.dtype)
    sums, counts = distances @ onehot, onehot.sum(dim=0)
    own_count = (counts[ls] - 1).clamp_min(1)
    a = sums.gather(1, ls[:, None])[:, 0] / own_count
    means = sums / counts.clamp_min(1)
    means.scatter_(1, ls[:, None], float("inf"))
    means[:, counts == 0] = float("inf")
    b = means.min(dim=1).values
    s = (b - a) / torch.maximum(a, b).clamp_min(1e-12)
    s = torch.where(counts[ls] > 1, s, torch.zeros_like(s))
    return float(s.mean())


def choose_regions(x: torch.Tensor, generator: torch.Generator,
                   candidates: Sequence[int] = AUTO_REGIONS) -> tuple[int, torch.Tensor]:
    """The fewest regions of ``candidates`` whose silhouette is within ``SILHOUETTE_TOLERANCE`` of the best one's,
    and its labels: fewer regions give each one more of the style to match, so a near tie goes to the fewer."""
    sample = torch.randperm(len(x), generator=generator)[:SILHOUETTE_SAMPLE]
    tried = []
    for k in sorted(candidates):
        labels, _ = kmeans(x, k, generator)
        tried.append((silhouette(x, labels, sample), k, labels))
    best = max(score for score, _, _ in tried)
    _, k, labels = next(t for t in tried if t[0] >= best - SILHOUETTE_TOLERANCE)
    return k, labels


def segment(backbone, image: PIL.Image.Image, regions: int | str, generator: torch.Generator) -> Segmentation:
    """The image's regions (see the module's docstring); the same seed gives the same regions."""
    x, deep, (h, w) = region_features(backbone, image)
    if regions == AUTO:
        _, labels = choose_regions(x, generator)
    else:
        labels, _ = kmeans(x, min(int(regions), len(x)), generator)
    counts = torch.bincount(labels)
    order = [int(i) for i in torch.argsort(-counts, stable=True) if counts[i] > 0]  # largest first, empty dropped
    relabel = torch.full((int(labels.max()) + 1,), -1, dtype=torch.long)
    relabel[order] = torch.arange(len(order))
    labels = relabel[labels]
    means = torch.stack([deep[labels == r].mean(dim=0) for r in range(len(order))])
    means = means / means.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return Segmentation(labels=labels.reshape(h, w).numpy(), means=means.numpy())


def match_regions(content_means: np.ndarray, style_means: np.ndarray) -> np.ndarray:
    """For each content region the style region it takes: an optimal one-to-one assignment on cosine distance for
    min(Kc, Ks) of them, the nearest style region for any content region left over."""
    from scipy.optimize import linear_sum_assignment

    a = content_means / np.linalg.norm(content_means, axis=1, keepdims=True).clip(1e-12)
    b = style_means / np.linalg.norm(style_means, axis=1, keepdims=True).clip(1e-12)
    cost = 1.0 - a @ b.T
    rows, cols = linear_sum_assignment(cost)
    assignment = cost.argmin(axis=1)
    assignment[rows] = cols
    return assignment


def soft_masks(labels: np.ndarray, count: int, size: tuple[int, int], edge: float = SOFT_EDGE) -> np.ndarray:
    """[count, H, W] weights at ``size`` (width, height): each region's indicator on the grid, blurred by ``edge`` of
    the long side, resized and renormalised to sum to 1 at every pixel."""
    onehot = torch.from_numpy(np.stack([(labels == r) for r in range(count)]).astype(np.float32))[None]
    blurred = _gaussian_blur(onehot, edge * max(labels.shape))
    width, height = size
    up = F.interpolate(blurred, size=(height, width), mode="bilinear", align_corners=False)[0].clamp_min(0)
    return (up / up.sum(dim=0, keepdim=True).clamp_min(1e-8)).numpy().astype(np.float64)


@dataclass
class FoundMaps:
    """The regions found for a transfer: ``guidance`` for the guided losses, and the hard maps a user can look at
    and edit. ``content_labels`` [H, W] (content size), ``style_labels`` per style [Hs, Ws] (its image's size)
    with -1 where a style region serves no content region; ``counts`` the regions found in the content and in
    each style before matching."""

    guidance: Guidance
    content_labels: np.ndarray
    style_labels: list[np.ndarray]
    counts: tuple[int, ...]

    @property
    def regions(self) -> int:
        return len(self.guidance.names)

    def images(self) -> tuple[PIL.Image.Image, list[PIL.Image.Image]]:
        """The content map and one style map per style, colour-coded like hand-made maps: a content region and the
        style region it takes share a colour; style regions no content region takes get colours of their own."""
        content = PIL.Image.fromarray(PALETTE[self.content_labels])
        styles = []
        for labels in self.style_labels:
            spare = iter(range(self.regions, len(PALETTE)))
            coloured = np.empty((*labels.shape, 3), dtype=np.uint8)
            coloured[labels >= 0] = PALETTE[labels[labels >= 0]]
            for unused in np.unique(labels[labels < 0]):
                coloured[labels == unused] = PALETTE[next(spare)]
            styles.append(PIL.Image.fromarray(coloured))
        return content, styles

    def named_images(self) -> dict[str, PIL.Image.Image]:
        """The maps under the names they are saved as (``map_names``)."""
        content, styles = self.images()
        return dict(zip(map_names(len(styles)), [content, *styles], strict=True))

    def summary(self) -> str:
        """One line for the user: how many regions were found in each image, and how many matched regions remain."""
        found = ", ".join(str(c) for c in self.counts[1:])
        return (f"auto maps: {self.counts[0]} content region(s), {found} style region(s), "
                f"{self.regions} matched region(s)")


def map_names(styles: int) -> list[str]:
    """The file names of the found maps: ``content_map.png``, then ``style_map.png`` (``style_map_1.png``, ... for
    several styles)."""
    if styles == 1:
        return ["content_map.png", "style_map.png"]
    return ["content_map.png", *(f"style_map_{k + 1}.png" for k in range(styles))]


def find_maps(backbone, content: PIL.Image.Image, styles: Sequence[PIL.Image.Image], regions: int | str,
              seed: int, blend: Sequence[float]) -> FoundMaps:
    """Segment the content and every style, match them, and build the soft guidance (the module's docstring)."""
    generator = torch.Generator().manual_seed(seed)
    seg_content = segment(backbone, content, regions, generator)
    seg_styles = [segment(backbone, s, regions, generator) for s in styles]
    assignments = np.stack([match_regions(seg_content.means, s.means) for s in seg_styles], axis=1)  # [Kc, S]
    # content regions taking the same style region in every style become one region (largest first)
    keys = [tuple(row) for row in assignments]
    merged = {key: r for r, key in enumerate(dict.fromkeys(keys))}
    content_grid = np.vectorize(lambda r: merged[keys[r]])(seg_content.labels)
    count = len(merged)
    content_soft = soft_masks(content_grid, count, content.size)
    style_guides, style_labels = [], []
    for k, (seg, image) in enumerate(zip(seg_styles, styles, strict=True)):
        soft = soft_masks(seg.labels, seg.count, image.size)
        style_guides.append(np.stack([soft[key[k]] for key in merged]))
        # each style region in the colour of the (first) content region taking it; -1 - s where none does
        takes = {}
        for key, r in merged.items():
            takes.setdefault(key[k], r)
        colour_of = np.array([takes.get(s, -1 - s) for s in range(seg.count)])
        style_labels.append(colour_of[soft.argmax(axis=0)])
    shares = np.asarray(blend, dtype=np.float64)
    mix = np.repeat((shares / shares.sum())[:, None], count, axis=1)
    names = [hex_color(PALETTE[r]) for r in range(count)]
    guidance = Guidance(content=content_soft, styles=style_guides, mix=mix, keep=None, names=names)
    return FoundMaps(guidance=guidance, content_labels=content_soft.argmax(axis=0), style_labels=style_labels,
                     counts=(seg_content.count, *(s.count for s in seg_styles)))


__all__ = ["AUTO", "FoundMaps", "Segmentation", "find_maps", "map_names", "match_regions", "segment",
           "soft_masks", "kmeans", "silhouette"]
