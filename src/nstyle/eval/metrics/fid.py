"""FID, KID and the ArtFID proxy on the 2048-d pool features of the TF-2015 FID Inception.

Features: each image resized to 299x299 (bilinear, no antialiasing, as pytorch-fid and the ArtFID code
do), given to nstyle's copy of the FID network (``inception_v3``: its input range -1..1 is its own
preprocessing of RGB 0..1), ``mixed10`` averaged over its 8x8 grid.

The statistics are our own NumPy in float64, not ``scipy.linalg.sqrtm`` and not torchmetrics. The
trace of sqrt(S1 S2) is all FID needs from the matrix square root, and with any factors S = L L^T it is
exactly the nuclear norm of L1^T L2 (the eigenvalues of S1 S2 are the squared singular values of
L1^T L2). With the centred features as factors that is a symmetric eigenproblem of n1 x n2 size: a
fraction of a second at 800 images, where sqrtm of one 2048 x 2048 product took 139 s on a 2-core machine
and works on the singular covariances that a few hundred images give (rank < 2048) with no epsilon
fallback. torchmetrics is not a dependency of nstyle; a test checks the result against scipy's sqrtm.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ...models.base import Backbone

FID_SIZE = 299
POOL_LAYER = "mixed10"
KID_SUBSETS = 100  # the usual choices (Binkowski et al. 2018, torch-fidelity, clean-fid)
KID_SUBSET_SIZE = 1000


class InceptionFeatures:
    """[B, 3, H, W] images in 0..1 -> [B, 2048] pool features of the FID network."""

    def __init__(self, net: Backbone | None = None):
        if net is None:
            from ...models.weights import load_backbone

            net = load_backbone("inception_v3")
        self.net = net

    @torch.no_grad()
    def __call__(self, rgb01: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(rgb01, size=(FID_SIZE, FID_SIZE), mode="bilinear", align_corners=False)
        return self.net(x, [POOL_LAYER])[POOL_LAYER].mean((2, 3))


def _factor(features: np.ndarray) -> np.ndarray:
    """L with L L^T the covariance (np.cov's, divided by n - 1): the centred features, or the symmetric
    square root of the covariance where there are more samples than dimensions."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least 2 feature vectors as an [n, d] array, got shape {x.shape}")
    centred = (x - x.mean(0)) / np.sqrt(len(x) - 1)
    if len(x) <= x.shape[1]:
        return centred.T
    values, vectors = np.linalg.eigh(centred.T @ centred)
    return vectors * np.sqrt(values.clip(min=0))


def _nuclear_norm(m: np.ndarray) -> float:
    """Sum of singular values, as square roots of the eigenvalues of the smaller of M M^T and M^T M: a
    symmetric eigenproblem, several times faster than an SVD at 800 x 800 and as exact here."""
    gram = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    return float(np.sqrt(np.linalg.eigvalsh(gram).clip(min=0)).sum())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """FID between two sets of features [n, d]: |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr sqrt(S_a S_b)."""
    la, lb = _factor(a), _factor(b)
    mean = np.asarray(a, np.float64).mean(0) - np.asarray(b, np.float64).mean(0)
    cross = _nuclear_norm(la.T @ lb)
    value = mean @ mean + (la * la).sum() + (lb * lb).sum() - 2 * cross
    return float(max(value, 0.0))  # rounding can leave -1e-12 for identical sets


def _polynomial_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a @ b.T / a.shape[1] + 1) ** 3


def kernel_inception_distance(a: np.ndarray, b: np.ndarray, subsets: int = KID_SUBSETS,
                              subset_size: int = KID_SUBSET_SIZE, seed: int = 0) -> tuple[float, float]:
    """KID: the unbiased MMD^2 with the cubic kernel (x.y / d + 1)^3, averaged over random subsets of
    ``min(subset_size, n)`` of each set; returns (mean, standard deviation over the subsets).

    The kernel matrices are made once and the subsets index into them. Where ``subset_size`` covers both
    sets every subset is the whole set, and the value depends on no draw and no order.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 feature vectors in each set")
    kaa, kbb, kab = _polynomial_kernel(a, a), _polynomial_kernel(b, b), _polynomial_kernel(a, b)
    if m == len(a) == len(b):
        subsets = 1  # every subset is the whole of both sets
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        ia = rng.choice(len(a), m, replace=False) if m < len(a) else np.arange(m)
        ib = rng.choice(len(b), m, replace=False) if m < len(b) else np.arange(m)
        xx, yy, xy = kaa[np.ix_(ia, ia)], kbb[np.ix_(ib, ib)], kab[np.ix_(ia, ib)]
        within = (xx.sum() - np.trace(xx) + yy.sum() - np.trace(yy)) / (m * (m - 1))
        values.append(within - 2 * xy.mean())
    return float(np.mean(values)), float(np.std(values))


def art_fid_proxy(lpips: float, fid: float) -> float:
    """(1 + LPIPS) (1 + FID). A proxy: the published ArtFID takes FID on an Inception fine-tuned on art,
    which cannot be had here, so only rankings made in one run compare, never published numbers."""
    return (1 + lpips) * (1 + fid)
