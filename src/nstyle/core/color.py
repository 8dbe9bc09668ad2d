"""Colour preservation (Gatys, Bethge, Hertzmann and Shechtman 2016, "Preserving colour in neural artistic
style transfer"): keep the content's colours and take only the style's brush strokes.

Two methods, as in the paper:

``luminance``: transfer on luminance alone. Content and style are turned into grey images of their luminance
Y (of YIQ), the style's luminance first matched in mean and spread to the content's
(``Y_s' = sigma_c / sigma_s (Y_s - mu_s) + mu_c``); after the transfer the result's Y is put together with the
content's chroma channels I and Q (``recombine``). In YIQ every RGB channel is ``Y`` plus a function of I and
Q alone, so the result keeps the content's I and Q exactly as long as no channel has to be clipped to 0..1:
``recombine`` keeps Y inside the range that the content's chroma allows at each pixel, and the output's I and
Q then equal the content's up to the rounding to 8 bits.

``histogram``: the style image's colours are mapped by an affine transform ``x' = A (x - mu_s) + mu_c`` so
that their mean and covariance equal the content's, before the transfer. Any ``A`` with
``A Sigma_s A^T = Sigma_c`` does this; the paper gives two:
    ``cholesky``  A = L_c L_s^-1, with L L^T the Cholesky factors of the covariances;
    ``eig``       A = Sigma_c^1/2 Sigma_s^-1/2, symmetric square roots from the eigen-decompositions (the
                  "3D colour matching" of Image Analogies).
A picture must stay in 0..1, and clipping moves the statistics again, so ``match_color`` repeats the mapping on
its own clipped result until they match. ``eig`` is the default: the symmetric, rotation-free choice, and on
the 20 ordered pairs of test images its single mapping misses the content's statistics by less than
``cholesky``'s (mean 1.75/255 against 1.95/255, covariance 6.7 % against 7.6 % on average); repeated, both end
within 0.1/255 and 0.2 % (``benchmarks/color_match.py``, docs/CONTROL.md).
"""

from __future__ import annotations

import numpy as np
import PIL.Image
import torch

from .options import HISTOGRAM_METHODS, PRESERVE_COLOR

MATCH_ROUNDS = 20

# FCC NTSC RGB -> YIQ. The I and Q rows sum to 0, so the inverse's first column is (1, 1, 1): R, G and B are
# each Y plus a function of I and Q alone.
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                       [0.5959, -0.2746, -0.3213],
                       [0.2115, -0.5227, 0.3112]])
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)


def _pixels(image: PIL.Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0


def _to_image(pixels: np.ndarray) -> PIL.Image.Image:
    return PIL.Image.fromarray(np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8))


def rgb_to_yiq(pixels: np.ndarray) -> np.ndarray:
    """[..., 3] RGB (0..1) -> [..., 3] YIQ."""
    return pixels @ RGB_TO_YIQ.T


def yiq_to_rgb(pixels: np.ndarray) -> np.ndarray:
    """[..., 3] YIQ -> [..., 3] RGB (not clipped)."""
    return pixels @ YIQ_TO_RGB.T


def luminance(image: PIL.Image.Image) -> np.ndarray:
    """Y of YIQ, [H, W] in 0..1."""
    return rgb_to_yiq(_pixels(image))[..., 0]


def grey(y: np.ndarray) -> PIL.Image.Image:
    """A luminance channel as an RGB image with three equal channels."""
    return _to_image(np.repeat(np.clip(y, 0.0, 1.0)[..., None], 3, axis=2))


def luminance_image(image: PIL.Image.Image, reference: PIL.Image.Image | None = None) -> PIL.Image.Image:
    """``image``'s luminance as a grey RGB image; with ``reference``, its mean and spread matched to the
    reference's luminance first (Gatys et al.'s luminance matching of the style to the content)."""
    y = luminance(image)
    if reference is not None:
        ref = luminance(reference)
        y = (y - y.mean()) * (ref.std() / max(y.std(), 1e-6)) + ref.mean()
    return grey(y)


def recombine(result: PIL.Image.Image | torch.Tensor, content: PIL.Image.Image) -> PIL.Image.Image:
    """The result's luminance with the content's chroma (I and Q); both at the same size.

    Y is held inside the range where no RGB channel leaves 0..1 for the content's I and Q at that pixel (the
    content's own Y is always inside it), so nothing is clipped and I and Q are the content's exactly, up to
    the final rounding to 8 bits.
    """
    if isinstance(result, torch.Tensor):
        result = result.detach().to("cpu", torch.float64)
        result = result[0] if result.dim() == 4 else result
        pixels = result.permute(1, 2, 0).numpy()
    else:
        pixels = _pixels(result)
    content_yiq = rgb_to_yiq(_pixels(content))
    if pixels.shape != content_yiq.shape:
        raise ValueError(f"result {pixels.shape[:2]} and content {content_yiq.shape[:2]} differ in size")
    y = rgb_to_yiq(pixels)[..., 0]
    chroma = content_yiq.copy()
    chroma[..., 0] = 0.0
    offsets = yiq_to_rgb(chroma)  # what I and Q add to Y in each RGB channel
    low, high = -offsets.min(axis=-1), 1.0 - offsets.max(axis=-1)
    y = np.clip(y, low, np.maximum(low, high))
    return _to_image(offsets + y[..., None])


def color_statistics(image: PIL.Image.Image | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [3] and covariance [3, 3] of an image's RGB pixels (0..1)."""
    pixels = image if isinstance(image, np.ndarray) else _pixels(image)
    flat = pixels.reshape(-1, 3)
    return flat.mean(axis=0), np.cov(flat, rowvar=False, bias=True)


def _sqrt_and_inverse_sqrt(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, vectors = np.linalg.eigh(cov)
    values = np.clip(values, 1e-10, None)
    return (vectors * np.sqrt(values)) @ vectors.T, (vectors / np.sqrt(values)) @ vectors.T


def color_transform(source_cov: np.ndarray, target_cov: np.ndarray, method: str = "eig") -> np.ndarray:
    """``A`` with ``A source_cov A^T = target_cov``, by the Cholesky or the eigen-decomposition route."""
    eps = 1e-6 * np.eye(3)  # flat or single-colour images have singular covariances
    source_cov, target_cov = source_cov + eps, target_cov + eps
    if method == "cholesky":
        return np.linalg.cholesky(target_cov) @ np.linalg.inv(np.linalg.cholesky(source_cov))
    if method == "eig":
        return _sqrt_and_inverse_sqrt(target_cov)[0] @ _sqrt_and_inverse_sqrt(source_cov)[1]
    raise ValueError(f"histogram method must be one of {HISTOGRAM_METHODS}, not {method!r}")


def match_color(source: PIL.Image.Image, target: PIL.Image.Image, method: str = "eig",
                rounds: int = MATCH_ROUNDS) -> PIL.Image.Image:
    """``source``'s colours mapped so that their mean and covariance equal ``target``'s.

    A picture must stay inside 0..1, and clipping the mapped pixels shifts their statistics again (by up to
    6/255 in the mean and 21 % in the covariance on the test images), so the mapping is repeated on its own
    clipped result until the statistics match (at most ``rounds`` times; ``rounds=1`` is the paper's single
    mapping).
    """
    pixels = _pixels(source)
    mu_t, cov_t = color_statistics(target)
    for _ in range(max(1, rounds)):
        mu, cov = color_statistics(pixels)
        if _matched(mu, cov, mu_t, cov_t):
            break
        pixels = np.clip((pixels - mu) @ color_transform(cov, cov_t, method).T + mu_t, 0.0, 1.0)
    return _to_image(pixels)


def _matched(mu: np.ndarray, cov: np.ndarray, mu_t: np.ndarray, cov_t: np.ndarray) -> bool:
    """Mean within 0.05/255 and covariance within 0.05 % (relative): closer than 8-bit rounding keeps."""
    return bool(np.abs(mu - mu_t).max() < 0.05 / 255
                and np.linalg.norm(cov - cov_t) < 5e-4 * max(np.linalg.norm(cov_t), 1e-12))

# OkLab (Ottosson 2020): linear sRGB -> LMS cone responses, cube root, -> lightness and two opponent axes.
_RGB_TO_LMS = np.array([[0.4122214708, 0.5363325363, 0.0514459929],
                        [0.2119034982, 0.6806995451, 0.1073969566],
                        [0.0883024619, 0.2817188376, 0.6299787005]])
_LMS_TO_LAB = np.array([[0.2104542553, 0.7936177850, -0.0040720468],
                        [1.9779984951, -2.4285922050, 0.4505937099],
                        [0.0259040371, 0.7827717662, -0.8086757660]])


def rgb_to_oklab(pixels: np.ndarray) -> np.ndarray:
    """sRGB 0..1 [..., 3] -> OkLab [..., 3]."""
    linear = np.where(pixels > 0.04045, ((pixels + 0.055) / 1.055) ** 2.4, pixels / 12.92)
    return np.cbrt(linear @ _RGB_TO_LMS.T) @ _LMS_TO_LAB.T


def oklab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """OkLab [..., 3] -> sRGB [..., 3] (not clipped)."""
    linear = (lab @ np.linalg.inv(_LMS_TO_LAB).T) ** 3 @ np.linalg.inv(_RGB_TO_LMS).T
    return np.where(linear > 0.0031308, 1.055 * np.abs(linear) ** (1 / 2.4) - 0.055, linear * 12.92)


def match_oklab(image: PIL.Image.Image, references: list[PIL.Image.Image],
                blend: list[float] | None = None) -> PIL.Image.Image:
    """``image`` with the OkLab mean and covariance of ``references`` (mixed by ``blend``): NNST's last step, in a
    space where distances are perceived alike, so the mapping moves hue and lightness as the eye expects."""
    blend = list(blend) if blend is not None else [1.0] * len(references)
    shares = np.asarray(blend, dtype=np.float64) / sum(blend)
    stats = [color_statistics(rgb_to_oklab(_pixels(r))) for r in references]
    mu_t = sum(w * m for w, (m, _) in zip(shares, stats, strict=True))
    second = sum(w * (c + np.outer(m, m)) for w, (m, c) in zip(shares, stats, strict=True))
    lab = rgb_to_oklab(_pixels(image))
    mu, cov = color_statistics(lab)
    mapped = (lab - mu) @ color_transform(cov, second - np.outer(mu_t, mu_t)).T + mu_t
    return _to_image(np.clip(oklab_to_rgb(mapped), 0.0, 1.0))


__all__ = ["PRESERVE_COLOR", "HISTOGRAM_METHODS", "rgb_to_yiq", "yiq_to_rgb", "luminance", "luminance_image",
           "recombine", "color_statistics", "color_transform", "match_color", "rgb_to_oklab", "oklab_to_rgb",
           "match_oklab"]
