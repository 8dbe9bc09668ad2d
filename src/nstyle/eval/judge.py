"""One fixed yardstick for results made with any backbone or settings.

Raw loss values cannot be compared between networks (their activations have different scales and the
losses different layers), which is why the seed paper's ranking by loss says little. The judge measures
every result with the same network and layers: VGG19 (max pooling), content distance on relu4_2 and style
distance over relu1_1..relu5_1, each a relative distance
    content = |F - P| / |P|,    style = mean_l |G_l - A_l| / |A_l|
with per-position Gram matrices, so 0 means identical and the scores do not depend on the image size.
It also flags pictures that no score should excuse: black, washed-out, flat or non-finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch

from ..core.gram import gram_matrix
from ..io.images import image_to_tensor, resize_to_long_side

JUDGE_MODEL = "vgg19"
CONTENT_LAYER = "relu4_2"
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


@dataclass(frozen=True)
class Scores:
    content: float  # relative feature distance to the content image (lower keeps more structure)
    style: float  # mean relative Gram distance to the style image (lower is more stylised)


def image_health(image: PIL.Image.Image) -> list[str]:
    """What is visibly wrong with a picture: [] when nothing is."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    problems = []
    if not np.isfinite(pixels).all():
        problems.append("non-finite")
    mean, std = float(pixels.mean()), float(pixels.std(axis=(0, 1)).mean())
    if mean < 0.08:
        problems.append("black")
    elif mean > 0.92:
        problems.append("washed-out")
    if std < 0.04:
        problems.append("flat")
    return problems


class Judge:
    """Scores images against one content and one style image, at ``size`` pixels on the long side.

    ``net`` shares one VGG19 between judges; ``style_targets`` and ``score`` let one content's judge score
    results of many styles (``nstyle evaluate``) with the same formulas.
    """

    def __init__(self, content: PIL.Image.Image, style: PIL.Image.Image | None, size: int = 256,
                 device: str | torch.device = "cpu", net: torch.nn.Module | None = None):
        from ..models.weights import load_backbone

        self.device = torch.device(device)
        self.net = net if net is not None else load_backbone(JUDGE_MODEL, pooling="max").to(self.device)
        self.long_side = size
        self.content_image = resize_to_long_side(content.convert("RGB"), size)
        self.size = self.content_image.size
        with torch.no_grad():
            self.content_features = self._features([self.content_image])[CONTENT_LAYER]
        self.style_grams = self.style_targets(style) if style is not None else None

    def _features(self, images: list[PIL.Image.Image]) -> dict[str, torch.Tensor]:
        x = torch.cat([image_to_tensor(image, device=self.device) for image in images])
        return self.net(x, [CONTENT_LAYER, *STYLE_LAYERS])

    @torch.no_grad()
    def style_targets(self, style: PIL.Image.Image) -> dict[str, torch.Tensor]:
        """The style image's per-position Gram matrices at the judge's size."""
        features = self._features([resize_to_long_side(style.convert("RGB"), self.long_side)])
        return {n: gram_matrix(features[n], per_position=True) for n in STYLE_LAYERS}

    @torch.no_grad()
    def score(self, images: list[PIL.Image.Image], style_grams: list[dict[str, torch.Tensor]]) -> list[Scores]:
        """Scores of each image against the content and its own style's targets (images resized to match)."""
        features = self._features([image.convert("RGB").resize(self.size, PIL.Image.LANCZOS) for image in images])
        grams = {n: gram_matrix(features[n], per_position=True) for n in STYLE_LAYERS}
        reference = self.content_features[0]
        scores = []
        for i, targets in enumerate(style_grams):
            content = (features[CONTENT_LAYER][i] - reference).norm() / reference.norm()
            style = [(grams[n][i] - targets[n][0]).norm() / targets[n][0].norm() for n in STYLE_LAYERS]
            scores.append(Scores(content=float(content), style=float(torch.stack(style).mean())))
        return scores

    def __call__(self, image: PIL.Image.Image) -> Scores:
        """Scores of ``image``, compared position by position with the content (it is resized to match)."""
        if self.style_grams is None:
            raise ValueError("this judge was made without a style image; use score() with style_targets()")
        return self.score([image], [self.style_grams])[0]
