"""The losses of style transfer as small composable modules; how each normalises is its mode's job
(``nstyle.core.modes``: nstyle, paper, keras, classic).

``ActivationSmoothing`` is the fix of Wang et al. (CVPR 2021, "SWAG") for networks whose activations are
too peaky for Gram statistics (ResNets, Inception): a softmax over all activations of a layer, applied
before both losses. nstyle rescales it to mean 1 and measures its temperature in units of the layer's
activation spread on the content image, so it too is independent of image size and activation scale.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .catalog import FALLBACK_STYLE_LOSS, STYLE_LOSSES
from .gram import gram_matrix
from .guidance import region_rows, resize_guide
from .modes import LossMode, get_mode


class ActivationSmoothing(nn.Module):
    """``M * softmax(F / T)`` over the C*H*W activations of a layer (SWAG), M the number of activations.

    The factor M makes the mean 1 at every size (plain softmax values shrink as the image grows).
    ``temperature`` is fixed when the loss is built: ``tau`` times the standard deviation of the
    content image's activations on that layer, so ``tau`` means the same on every network.
    """

    def __init__(self, temperature: float):
        super().__init__()
        self.temperature = float(temperature)

    @classmethod
    def calibrated(cls, reference: torch.Tensor, tau: float) -> ActivationSmoothing:
        return cls(tau * reference.float().std(correction=0).clamp_min(1e-6).item())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        b = features.shape[0]
        z = features.reshape(b, -1) / self.temperature
        log_p = z - torch.logsumexp(z, dim=1, keepdim=True) + math.log(z.shape[1])
        return log_p.exp().view_as(features)


class ContentLoss(nn.Module):
    """Squared feature error against the content image's features on one layer."""

    def __init__(self, target: torch.Tensor, mode: str | LossMode = "nstyle", target_squared_norm: float | None = None):
        """``target_squared_norm``: the normaliser when ``target`` is only part of the target (a tile's)."""
        super().__init__()
        self.mode = get_mode(mode)
        self.register_buffer("target", target.detach())
        norm = target.pow(2).sum().item() if target_squared_norm is None else target_squared_norm
        self.scale = self.mode.content_scale(norm)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.from_squared_error((features - self.target).pow(2).sum(), features.numel())

    def from_squared_error(self, squared: torch.Tensor, count: int) -> torch.Tensor:
        """The loss from the summed squared error over ``count`` values (what tiles add up)."""
        return self.mode.content(squared, count, self.scale)


class StyleLoss(nn.Module):
    """Gram-matrix error E_l on one layer.

    ``target`` is the style's per-position Gram A/M_s, shape [1, N, N]; several style images are
    blended by averaging their per-position Grams before building the loss.
    """

    def __init__(self, target: torch.Tensor, mode: str | LossMode = "nstyle", image_pixels: int | None = None):
        super().__init__()
        self.mode = get_mode(mode)
        if self.mode.name == "keras" and not image_pixels:
            raise ValueError("the keras style loss needs the image's pixel count (H*W)")
        self.register_buffer("target", target.detach())
        self.image_pixels = image_pixels
        self.scale = self.mode.style_scale(target.pow(2).sum())

    @classmethod
    def from_features(cls, features: torch.Tensor, **kwargs) -> StyleLoss:
        return cls(gram_matrix(features, per_position=True), **kwargs)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        _, n, h, w = features.shape
        return self.from_gram(gram_matrix(features, per_position=True), n, h * w)

    def from_gram(self, gram: torch.Tensor, n: int, m: int) -> torch.Tensor:
        """The loss from the image's per-position Gram ``G/M`` of ``n`` channels over ``m`` positions."""
        return self.mode.style(gram - self.target, n, m, self.image_pixels, self.scale).sum()


class GuidedStyleLoss(nn.Module):
    """The Gram error of one layer region by region: sum_r share_r E(G_r, A_r).

    ``targets`` [R, C, C] are the regions' style Grams (per position), ``guide`` [1, R, H, W] the content's
    guidance, ``shares`` [R] the regions' weights (their share of the styled area, summing to 1). Each
    region's error is normalised as ``StyleLoss`` normalises the whole image's in the same mode, with the
    region's weighted position count sum T^2 in place of M.
    """

    def __init__(self, targets: torch.Tensor, guide: torch.Tensor, shares: torch.Tensor,
                 mode: str | LossMode = "nstyle", image_pixels: int | None = None):
        super().__init__()
        self.mode = get_mode(mode)
        self.register_buffer("targets", targets.detach())
        self.register_buffer("guide", guide.detach())
        self.register_buffer("shares", shares.detach())
        self.image_pixels = image_pixels
        self.scale = self.mode.style_scale(targets.pow(2).sum(dim=(1, 2)))
        self._resized: dict[tuple[int, int], torch.Tensor] = {}

    def _guide_at(self, h: int, w: int) -> torch.Tensor:
        if (h, w) not in self._resized:
            self._resized[(h, w)] = resize_guide(self.guide, (h, w))
        return self._resized[(h, w)]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        _, n, h, w = features.shape
        guide = self._guide_at(h, w)
        m = guide.reshape(guide.shape[1], -1).pow(2).sum(dim=1)  # each region's positions
        per_region = self.mode.style(guided_gram(features, guide) - self.targets, n, m, self.image_pixels,
                                     self.scale)
        return (per_region * self.shares.to(per_region)).sum()


def guided_gram(features: torch.Tensor, guide: torch.Tensor) -> torch.Tensor:
    """Per-region Gram matrices [R, C, C] of features [1, C, H, W] under guidance [1, R, H, W] (resized here): each
    region's positions weighted by its guide, G_r = sum T^2 F F^T / sum T^2 (``guidance.region_rows``)."""
    grams = []
    for rows, weight in region_rows(features, guide):
        weighted = rows * weight[:, None]
        grams.append(weighted.T @ weighted / weight.pow(2).sum().clamp_min(1e-8))
    return torch.stack(grams)


def region_shares(guide: torch.Tensor) -> torch.Tensor:
    """Each region's share of the styled area, [R], summing to 1."""
    area = guide.reshape(guide.shape[1], -1).mean(dim=1)
    return area / area.sum().clamp_min(1e-12)


class TotalVariationLoss(nn.Module):
    """Smoothness prior on the image (RGB 0..1): penalises differences between neighbouring pixels."""

    def __init__(self, mode: str | LossMode = "nstyle"):
        super().__init__()
        self.mode = get_mode(mode)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.mode.tv(image)


@dataclass
class Guides:
    """Guidance at one image size (tensors; ``nstyle.core.guidance.Guidance`` makes them from masks and maps).

    ``content`` [1, R, H, W] and ``styles`` (per style image, [1, R, Hs, Ws]) are region weights, ``mix``
    [K, R] the share of each style image in each region, ``keep`` [1, 1, H, W] how much of each pixel stays
    the content (or None).
    """

    content: torch.Tensor
    styles: Sequence[torch.Tensor]
    mix: torch.Tensor
    keep: torch.Tensor | None = None


@dataclass
class StyleSources:
    """What a style loss of one layer is made from (the factories of ``nstyle.core.style_losses`` take it).

    ``features``: each style image's features on the layer, ``blend`` their shares (summing to 1), ``image_pixels``
    the content's H*W; with regions, ``guidance`` and its ``mix`` [K, R] and ``shares`` [R] (``region_shares``).
    """

    features: list[torch.Tensor]
    blend: list[float]
    mode: LossMode
    image_pixels: int
    guidance: Guides | None = None
    mix: torch.Tensor | None = None
    shares: torch.Tensor | None = None


@dataclass(frozen=True)
class MethodTerms:
    """What a method puts around the style statistic in ``StyleTransferLoss``: ``content(target, mode)`` makes one
    content layer's loss from the content's features, ``extra(styles, blend)`` (or None) a term of the image itself
    that is added to the style term (STROTSS's palette)."""

    content: Callable[[torch.Tensor, LossMode], nn.Module] = ContentLoss
    extra: Callable[[list[torch.Tensor], list[float]], nn.Module] | None = None


class StyleTransferLoss(nn.Module):
    """alpha * content + beta * sum_l w_l E_l + tv_weight * TV, evaluated in one pass of the backbone.

    Targets are computed once here; ``forward`` returns the total and its parts (already weighted). The style
    loss's record builds each layer's E_l (``catalog.STYLE_LOSSES``), the method's ``terms`` the content term.
    """

    def __init__(
        self,
        backbone: nn.Module,
        content: torch.Tensor,
        styles: Sequence[torch.Tensor],
        content_layers: Sequence[str],
        style_layers: Mapping[str, float],
        weights: Mapping[str, float],
        mode: str | LossMode = "nstyle",
        style_blend: Sequence[float] | None = None,
        smoothing: float | None = None,
        guidance: Guides | None = None,
        style_loss: str = FALLBACK_STYLE_LOSS,
        terms: MethodTerms = MethodTerms(),
    ):
        """``weights``: alpha, beta and the TV weight (``content``, ``style``, ``tv``).
        ``style_blend``: one weight per style image, mixing their statistics (default equal).
        ``smoothing``: SWAG temperature ``tau`` (see ``ActivationSmoothing``); None or 0 turns it off.
        ``guidance``: regions with their own style statistics (guided Grams, see ``nstyle.core.guidance``); its
        ``mix`` replaces ``style_blend``, and its ``keep`` weights hold pixels at the content.
        ``style_loss``: a ``catalog.STYLE_LOSSES`` name. ``terms``: the method's content term and extra style term.
        """
        super().__init__()
        self.backbone = backbone
        self.mode = get_mode(mode)
        self.terms = terms
        self.content_layers = list(content_layers)
        self.layer_weights = self.mode.layer_weights(style_layers)
        self.weights = {k: weights[k] for k in ("content", "style", "tv")}
        self.layers = list(dict.fromkeys(self.content_layers + list(self.layer_weights)))
        blend = list(style_blend) if style_blend is not None else [1.0] * len(styles)
        blend = [b / sum(blend) for b in blend]
        pixels = content.shape[-1] * content.shape[-2]
        with torch.no_grad():
            content_features = backbone(content, self.layers if smoothing else self.content_layers)
            self.smoothing = nn.ModuleDict(
                {name: ActivationSmoothing.calibrated(content_features[name], smoothing) for name in self.layers}
                if smoothing else {})
            content_features = self._smooth(content_features)
            style_features = [self._smooth(backbone(style, list(self.layer_weights))) for style in styles]
        self.guided = guidance is not None
        self.content_losses = self._content_losses(content_features)
        self.extra_style = terms.extra(list(styles), blend) if terms.extra is not None else None
        mix = shares = None
        if guidance is not None:
            mix = torch.as_tensor(guidance.mix, dtype=content.dtype, device=content.device)  # [K, R]
            shares = region_shares(guidance.content)
        record = STYLE_LOSSES[style_loss]
        self.style_losses = nn.ModuleDict({name: record.layer_loss(StyleSources(
            [f[name] for f in style_features], blend, self.mode, pixels, guidance, mix, shares))
            for name in self.layer_weights})
        keep = guidance.keep if guidance is not None else None
        self.register_buffer("keep", keep.detach() if keep is not None else None)
        self.register_buffer("content_image", content.detach() if keep is not None else None)
        self.tv_loss = TotalVariationLoss(mode)

    def _content_losses(self, features: dict[str, torch.Tensor]) -> nn.ModuleDict:
        return nn.ModuleDict({name: self.terms.content(features[name], self.mode) for name in self.content_layers})

    @property
    def shares_styles(self) -> bool:
        """Whether ``for_content`` may reuse the style targets: they do not depend on the content image (no
        smoothing, calibrated on the content, and no regions, whose shares are the content's)."""
        return not self.smoothing and not self.guided

    def for_content(self, content: torch.Tensor) -> StyleTransferLoss:
        """The same loss for another content image of the same size: the style targets, the costly part (the
        style images through the network and their statistics), are shared; only the content targets are made
        anew. Video frames use it (``shares_styles`` must hold)."""
        if not self.shares_styles:
            raise ValueError("this loss's style targets depend on its content image; build a new one")
        other = copy.copy(self)
        other._modules, other._buffers = dict(self._modules), dict(self._buffers)  # nn.Module's own registries
        with torch.no_grad():
            other.content_losses = self._content_losses(self.backbone(content, self.content_layers))
        return other

    def _smooth(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        if not self.smoothing:
            return features
        return {name: self.smoothing[name](f) for name, f in features.items()}

    def compose(self, image: torch.Tensor) -> torch.Tensor:
        """The picture that the free image ``x`` stands for: ``keep * content + (1 - keep) * x`` (``x`` itself
        without a mask)."""
        if self.keep is None:
            return image
        return self.keep * self.content_image + (1.0 - self.keep) * image

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image = self.compose(image)
        features = self._smooth(self.backbone(image, self.layers))
        zero = image.new_zeros(())
        content = sum((loss(features[name]) for name, loss in self.content_losses.items()), zero)
        style = sum((self.layer_weights[name] * loss(features[name])
                     for name, loss in self.style_losses.items()), zero)
        if self.extra_style is not None:
            style = style + self.extra_style(image)
        parts = {"content": self.weights["content"] * content, "style": self.weights["style"] * style}
        parts["tv"] = self.weights["tv"] * self.tv_loss(image) if self.weights["tv"] else zero
        return parts["content"] + parts["style"] + parts["tv"], parts
