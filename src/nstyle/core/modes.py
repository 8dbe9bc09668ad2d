"""Loss modes: how one family of style-transfer code normalises its content, style and TV terms.

A mode is one object: its default weights, how it weights the style layers, and the hooks every loss calls
(``content_scale``/``content``, ``style_scale``/``style``, ``tv``). The plain and guided style losses and the
tiled objective all go through these hooks, so adding a mode is one class here and one line in ``MODES``.
No torch import: the hooks only call tensor methods, so the options (and the command line) can read the
modes' names and weights without loading torch.

``paper`` is Gatys et al. (and the seed paper) exactly:
    content  L_c = 1/2 sum (F - P)^2                          on one layer
    style    E_l = 1/(4 N_l^2 M_l^2) sum (G_l - A_l)^2,  L_s = sum_l w_l E_l
    total    alpha L_c + beta L_s + tv_weight TV
with G = F F^T the Gram matrix of the N_l x M_l feature map (N_l channels, M_l positions).

``keras`` is the Keras example neural_style_transfer.py (2017-2019) that the seed paper ran: content is
sum (F - P)^2 without the 1/2, and the style term divides by 4 * 3^2 * (H*W)^2, with 3 channels and the
*image's* H*W hard-coded in place of N_l and M_l; TV is sum ((dx^2 + dy^2)^1.25) on 0..255 pixels.

``classic`` is the normalisation of the classic neural-style tools (Johnson's neural-style and its
PyTorch port), the baseline of the speed benchmark: content is the mean squared feature error, the Gram
matrix is divided by the number of feature values C*H*W and the style error is the mean over its
entries, TV is the sum of squared neighbour differences in 0..255 units.

``nstyle`` (the default) keeps the paper's terms but makes them independent of image size and of the
backbone's activation scale, so one set of weights works at 256 and at 1024 px and on every network:
each squared error is divided by the squared norm of its target. Grams are taken per position
(G / M_l), which is what makes them comparable between sizes, and with them the relative errors
    L_c = |F - P|^2 / |P|^2,   E_l = |G/M - A/M_s|^2 / |A/M_s|^2
do not change when the image is resized or the activations are rescaled, and start near 1 for a
mismatched image whatever the layer; the layer weights w_l are normalised to sum to 1. TV is the mean
squared difference of neighbouring pixels in 0..1 RGB, also independent of size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import UsageError

Tensor = Any  # torch.Tensor; not imported so that the options stay torch-free


class LossMode:
    """The template: the ``paper`` formulas, which the other modes change where they differ."""

    name = "paper"
    #: a published code's normalisation, run with its paper's layers; nstyle's own may choose others
    published = True
    #: alpha, beta and the TV weight when the user gives none.
    weights: Mapping[str, float] = {"content": 1.0, "style": 1e3, "tv": 0.0}  # Gatys et al.'s alpha/beta = 1e-3
    #: what changes in ``weights`` when the transfer runs coarse to fine (over several sizes).
    coarse_to_fine: Mapping[str, float] = {}

    def default_weights(self, levels: int) -> dict[str, float]:
        return dict(self.weights) | (dict(self.coarse_to_fine) if levels > 1 else {})

    def layer_weights(self, weights: Mapping[str, float]) -> dict[str, float]:
        """The style layers' weights as this mode uses them."""
        return dict(weights)

    def content_scale(self, target_squared_norm: float) -> float:
        """A constant factor of the content error, fixed when the loss is built."""
        return 1.0

    def content(self, squared: Tensor, count: int, scale: float) -> Tensor:
        """The content loss from the summed squared feature error over ``count`` values."""
        return 0.5 * squared

    def style_scale(self, target_squared_norm: Tensor) -> Tensor | float:
        """A constant factor of the style error (per region), from the target Grams' squared norm."""
        return 1.0

    def style(self, diff: Tensor, n: int, m: Tensor | float, image_pixels: int, scale: Tensor | float) -> Tensor:
        """The style error of per-position Gram differences ``diff`` [..., N, N] (``G/M - A/M``), one value per
        leading index: ``n`` channels, ``m`` positions (a number, or one per leading index for regions)."""
        squared = (diff * _per_matrix(m, diff)).pow(2).sum(dim=(-2, -1))
        return squared / (4.0 * n**2 * (m.to(diff).clamp_min(1e-8) if _is_tensor(m) else m) ** 2)

    def tv(self, image: Tensor) -> Tensor:
        """Total variation of an RGB 0..1 image [B, 3, H, W]."""
        dy, dx = _neighbour_squares(image)
        return dy.sum() + dx.sum()


class NstyleMode(LossMode):
    name = "nstyle"
    published = False
    weights = {"content": 1.0, "style": 100.0, "tv": 1.0}
    # Coarse-to-fine lets the style take the layout at 128-256 px; content weight 20 is the first that keeps the
    # content better than the classic baseline (docs/BENCHMARKS.md, "content weight").
    coarse_to_fine = {"content": 20.0}

    def layer_weights(self, weights: Mapping[str, float]) -> dict[str, float]:
        total = sum(weights.values())
        return {k: v / total for k, v in weights.items()}

    def content_scale(self, target_squared_norm: float) -> float:
        return 1.0 / max(target_squared_norm, 1e-12)

    def content(self, squared: Tensor, count: int, scale: float) -> Tensor:
        return squared * scale

    def style_scale(self, target_squared_norm: Tensor) -> Tensor:
        return 1.0 / target_squared_norm.clamp_min(1e-12)

    def style(self, diff: Tensor, n: int, m: Tensor | float, image_pixels: int, scale: Tensor | float) -> Tensor:
        return diff.pow(2).sum(dim=(-2, -1)) * (scale.to(diff) if _is_tensor(scale) else scale)

    def tv(self, image: Tensor) -> Tensor:
        dy, dx = _neighbour_squares(image)
        return dy.mean() + dx.mean()


class KerasMode(LossMode):
    name = "keras"
    weights = {"content": 0.025, "style": 5.0, "tv": 0.1}  # the seed paper's run

    def content(self, squared: Tensor, count: int, scale: float) -> Tensor:
        return squared

    def style(self, diff: Tensor, n: int, m: Tensor | float, image_pixels: int, scale: Tensor | float) -> Tensor:
        if not image_pixels:
            raise ValueError("the keras style loss needs the image's pixel count (H*W)")
        return (diff * _per_matrix(m, diff)).pow(2).sum(dim=(-2, -1)) / (4.0 * 3**2 * image_pixels**2)

    def tv(self, image: Tensor) -> Tensor:
        x = image * 255.0  # mean subtraction and BGR order do not change the differences
        a = (x[:, :, :-1, :-1] - x[:, :, 1:, :-1]).pow(2)
        b = (x[:, :, :-1, :-1] - x[:, :, :-1, 1:]).pow(2)
        return (a + b).pow(1.25).sum()


class ClassicMode(LossMode):
    name = "classic"
    weights = {"content": 5.0, "style": 100.0, "tv": 1e-3}  # neural-style's defaults

    def content(self, squared: Tensor, count: int, scale: float) -> Tensor:
        return squared / count

    def style(self, diff: Tensor, n: int, m: Tensor | float, image_pixels: int, scale: Tensor | float) -> Tensor:
        return (diff / n).pow(2).mean(dim=(-2, -1))  # Grams over C*H*W values: the per-position Grams over C

    def tv(self, image: Tensor) -> Tensor:
        dy, dx = _neighbour_squares(image)
        return (dy.sum() + dx.sum()) * 255.0**2


MODES: dict[str, LossMode] = {m.name: m for m in (NstyleMode(), LossMode(), KerasMode(), ClassicMode())}
MODE_NAMES = tuple(MODES)  # nstyle, paper, keras, classic: the order of --loss's help


def get_mode(mode: str | LossMode) -> LossMode:
    if isinstance(mode, LossMode):
        return mode
    if mode not in MODES:
        raise UsageError(f"--loss {mode!r}: choose from {', '.join(MODES)}")
    return MODES[mode]


def _is_tensor(value) -> bool:
    return hasattr(value, "dim")


def _per_matrix(m, diff):
    """``m`` broadcast over the last two (matrix) dimensions of ``diff``."""
    return m.reshape(*m.shape, 1, 1).to(diff) if _is_tensor(m) else m


def _neighbour_squares(image):
    dy = (image[:, :, 1:, :] - image[:, :, :-1, :]).pow(2)
    dx = (image[:, :, :, 1:] - image[:, :, :, :-1]).pow(2)
    return dy, dx
