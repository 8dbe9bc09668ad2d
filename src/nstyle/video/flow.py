"""Optical flow between video frames, backward warping, and where the flow can be trusted.

Conventions: frames are RGB uint8 arrays [H, W, 3]; a flow ``f`` from frame ``a`` to frame ``b`` is a
float32 array [H, W, 2] (dx, dy) such that pixel ``p`` of ``a`` shows what ``b`` shows at ``p + f(p)``.
So ``warp(b, flow(a, b))`` is ``b`` moved onto ``a``'s pixel grid.

The masks are those of Ruder, Dosovitskiy and Brox ("Artistic style transfer for videos", 2016): a pixel is
unreliable where the forward and the backward flow disagree (it is occluded in the other frame), on motion
boundaries (where the flow changes abruptly and is least accurate), and where it comes from outside the frame.
"""

from __future__ import annotations

import numpy as np

from .settings import FLOW_METHODS as METHODS
from .settings import WARP_INTERPOLATIONS


def _cv2():
    try:
        import cv2
    except ImportError:  # pragma: no cover - a dependency of nstyle
        from ..errors import NstyleError

        raise NstyleError("video needs OpenCV; pip install opencv-python-headless") from None
    return cv2


def _gray(frame: np.ndarray) -> np.ndarray:
    cv2 = _cv2()
    return cv2.cvtColor(np.ascontiguousarray(frame, dtype=np.uint8), cv2.COLOR_RGB2GRAY)


def optical_flow(a: np.ndarray, b: np.ndarray, method: str = "dis") -> np.ndarray:
    """Dense flow from frame ``a`` to frame ``b`` ([H, W, 2] float32; see the module's convention).

    DIS (Kroeger et al. 2016) at its "medium" preset is accurate and fast enough to be a small part of the
    time of a stylised frame; Farneback is the older, smoother alternative.
    """
    cv2 = _cv2()
    ga, gb = _gray(a), _gray(b)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        flow = dis.calc(ga, gb, None)
    elif method == "farneback":
        flow = cv2.calcOpticalFlowFarneback(ga, gb, None, pyr_scale=0.5, levels=4, winsize=15, iterations=3,
                                            poly_n=5, poly_sigma=1.2, flags=0)
    else:
        raise ValueError(f"flow method must be one of {METHODS}, not {method!r}")
    return np.ascontiguousarray(flow, dtype=np.float32)


def _sample_coordinates(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs + flow[..., 0], ys + flow[..., 1]


def warp(image: np.ndarray, flow: np.ndarray, interpolation: str = "linear") -> np.ndarray:
    """``image`` sampled at ``p + flow(p)`` for every pixel ``p`` (edges repeated), bilinear or bicubic.

    Bilinear sampling at a fractional shift is a small blur, and warping frame after frame from the last one
    compounds it; bicubic keeps the strokes (video's stylised frames use it; float results are clipped to the
    input's range, which bicubic overshoots). Works for uint8 or float arrays with or without a channel axis,
    and returns the same dtype.
    """
    cv2 = _cv2()
    if interpolation not in WARP_INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {WARP_INTERPOLATIONS}, not {interpolation!r}")
    map_x, map_y = _sample_coordinates(flow)
    image = np.ascontiguousarray(image)
    how = cv2.INTER_LINEAR if interpolation == "linear" else cv2.INTER_CUBIC
    warped = cv2.remap(image, map_x, map_y, interpolation=how, borderMode=cv2.BORDER_REPLICATE)
    if how == cv2.INTER_CUBIC and warped.dtype.kind == "f" and image.size:
        warped = np.clip(warped, image.min(), image.max())
    return warped


def inside_mask(flow: np.ndarray) -> np.ndarray:
    """True where ``p + flow(p)`` falls inside the frame (outside, the warp only repeats the edge)."""
    h, w = flow.shape[:2]
    x, y = _sample_coordinates(flow)
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def occlusion_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """True where the two flows are consistent (Ruder et al., eq. 4); False marks disoccluded pixels.

    ``backward`` goes from frame i to frame i-1, ``forward`` from i-1 to i. Following the backward flow and
    then the forward flow should come back to the start: |w~ + w^|^2 <= 0.01 (|w~|^2 + |w^|^2) + 0.5,
    with w^ the backward flow and w~ the forward flow warped onto frame i.
    """
    forward_at = warp(forward, backward)
    round_trip = np.sum((forward_at + backward) ** 2, axis=-1)
    tolerance = 0.01 * (np.sum(forward_at**2, axis=-1) + np.sum(backward**2, axis=-1)) + 0.5
    return round_trip <= tolerance


def motion_boundary_mask(flow: np.ndarray) -> np.ndarray:
    """True away from motion boundaries (Ruder et al.): |grad u|^2 + |grad v|^2 <= 0.01 |w|^2 + 0.002."""
    du_y, du_x = np.gradient(flow[..., 0])
    dv_y, dv_x = np.gradient(flow[..., 1])
    gradient = du_x**2 + du_y**2 + dv_x**2 + dv_y**2
    return gradient <= 0.01 * np.sum(flow**2, axis=-1) + 0.002


def reliable_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Where frame i-1 warped by ``backward`` can be trusted at frame i: float32 [H, W], 1 reliable, 0 not."""
    mask = occlusion_mask(backward, forward) & motion_boundary_mask(backward) & inside_mask(backward)
    return mask.astype(np.float32)


def frame_flow(current: np.ndarray, previous: np.ndarray, method: str = "dis") -> tuple[np.ndarray, np.ndarray]:
    """The flow from ``current`` to ``previous`` and its reliability mask, from both flows between them."""
    backward = optical_flow(current, previous, method)
    forward = optical_flow(previous, current, method)
    return backward, reliable_mask(backward, forward)
