"""Plain NumPy re-computations of the metrics, written from the papers' formulas, to check nstyle's torch code."""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# LPIPS's ScalingLayer, applied to images in [-1, 1] (lpips/lpips.py)
SHIFT = np.array([-0.030, -0.088, -0.188])
SCALE = np.array([0.458, 0.448, 0.450])
# torchvision AlexNet: (stride, padding) of conv1..conv5; a 3x3/2 max pool after relu1 and relu2
CONVS = ((4, 2), (1, 2), (1, 1), (1, 1), (1, 1))


def _conv(x: np.ndarray, w_oihw: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Cross-correlation of an HWC image with OIHW kernels, as torch's conv2d."""
    x = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    kh, kw = w_oihw.shape[2:]
    windows = sliding_window_view(x, (kh, kw), axis=(0, 1))[::stride, ::stride]  # [Ho, Wo, C, kh, kw]
    return np.einsum("hwcij,ocij->hwo", windows, w_oihw, optimize=True) + b


def _max_pool(x: np.ndarray) -> np.ndarray:
    return sliding_window_view(x, (3, 3), axis=(0, 1))[::2, ::2].max(axis=(-2, -1))


def lpips(x01: np.ndarray, y01: np.ndarray, trunk: dict[str, np.ndarray], heads: list[np.ndarray]) -> float:
    """LPIPS v0.1 of two HWC images in 0..1: trunk = AlexNet ``stages.conv<i>.weight/bias``, heads = five
    [C] vectors; the original's order of operations on inputs in [-1, 1]."""
    def features(img):
        h = ((2 * img.astype(np.float64) - 1) - SHIFT) / SCALE
        out = []
        for i, (stride, pad) in enumerate(CONVS, start=1):
            if i in (2, 3):
                h = _max_pool(h)
            h = np.maximum(_conv(h, trunk[f"stages.conv{i}.weight"], trunk[f"stages.conv{i}.bias"], stride, pad), 0)
            out.append(h)
        return out

    total = 0.0
    for fa, fb, w in zip(features(x01), features(y01), heads, strict=True):
        na = fa / (np.sqrt((fa ** 2).sum(-1, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb ** 2).sum(-1, keepdims=True)) + 1e-10)
        total += (((na - nb) ** 2) @ w).mean()
    return float(total)


def rgbuv_histogram(rgb01: np.ndarray, bins: int = 64, sigma: float = 0.02) -> np.ndarray:
    """HistoGAN's RGB-uv histogram of an HWC image (no resizing), pixel by pixel as its paper writes it."""
    eps = 1e-6
    centres = np.linspace(-3, 3, bins)
    hist = np.zeros((3, bins, bins))
    for pixel in rgb01.reshape(-1, 3).astype(np.float64):
        intensity = np.sqrt((pixel ** 2).sum() + eps)
        logs = np.log(pixel + eps)
        for c, (a, b) in enumerate(((1, 2), (0, 2), (0, 1))):
            ku = 1 / (1 + ((logs[c] - logs[a] - centres) / sigma) ** 2)
            kv = 1 / (1 + ((logs[c] - logs[b] - centres) / sigma) ** 2)
            hist[c] += intensity * np.outer(ku, kv)
    return hist / (hist.sum() + eps)


def kid(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3 over the whole of both sets, sum by sum."""
    d, m, n = a.shape[1], len(a), len(b)
    k = lambda x, y: (x @ y / d + 1) ** 3  # noqa: E731
    xx = sum(k(a[i], a[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(b[i], b[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(a[i], b[j]) for i in range(m) for j in range(n)) / (m * n)
    return float(xx + yy - 2 * xy)
