"""How much a stylised video flickers, and a test clip whose true motion is known.

The temporal warping error of a sequence is the mean squared difference between each frame and the frame
before it warped onto it by the *input's* motion, over the pixels where that motion is reliable: a sequence
that follows its input's motion scores near the input's own error, a flickering one far above. For a real
clip the motion is estimated (DIS flow and Ruder et al.'s masks); for ``pan_zoom_clip`` it is exact, so the
measure does not share the flow estimator that the video mode itself uses.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import PIL.Image

from .flow import frame_flow, inside_mask, warp


def _array(frame) -> np.ndarray:
    if isinstance(frame, PIL.Image.Image):
        frame = np.asarray(frame.convert("RGB"))
    frame = np.asarray(frame)
    return frame.astype(np.float32) / 255.0 if frame.dtype == np.uint8 else frame.astype(np.float32)


def estimated_motion(frames: Sequence, method: str = "dis") -> list[tuple[np.ndarray, np.ndarray]]:
    """(flow from frame t to frame t-1, reliability mask) for t = 1..n-1, estimated from the frames."""
    return pair_motion(frames, [(t - 1, t) for t in range(1, len(frames))], method)


def warping_errors(frames: Sequence, motion: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float]:
    """Per pair (t-1, t): mean over reliable pixels and channels of (x_t - warp(x_{t-1}))^2, RGB in 0..1."""
    if len(motion) != len(frames) - 1:
        raise ValueError(f"{len(frames)} frames need {len(frames) - 1} flows, not {len(motion)}")
    return pair_errors(frames, [(t - 1, t) for t in range(1, len(frames))], motion)


def shot_pairs(shots: Sequence[range], gap: int) -> list[tuple[int, int]]:
    """Every (t - gap, t) with both frames in one shot: the pairs a temporal error may compare (never across a
    cut, where no motion joins the frames)."""
    return [(t - gap, t) for shot in shots for t in shot if t - gap in shot]


def pair_motion(frames: Sequence, pairs: Sequence[tuple[int, int]], method: str = "dis") \
        -> list[tuple[np.ndarray, np.ndarray]]:
    """For each pair (a, b): the estimated flow from frame b to frame a and its reliability mask (Ruder et al.'s
    occlusion and motion-boundary masks), from the input frames."""
    arrays = [np.asarray(f.convert("RGB")) if isinstance(f, PIL.Image.Image) else np.asarray(f) for f in frames]
    return [frame_flow(arrays[b], arrays[a], method) for a, b in pairs]


def pair_errors(frames: Sequence, pairs: Sequence[tuple[int, int]],
                motion: Sequence[tuple[np.ndarray, np.ndarray]]) -> list[float]:
    """For each pair (a, b): mean over reliable pixels and channels of (x_b - warp(x_a))^2, RGB in 0..1 (Ruder
    et al.'s temporal error; short-term for consecutive frames, long-term for frames farther apart)."""
    arrays = [_array(f) for f in frames]
    errors = []
    for (a, b), (flow, mask) in zip(pairs, motion, strict=True):
        squared = (arrays[b] - warp(arrays[a], flow)) ** 2
        weight = mask[..., None] * np.ones(3, np.float32)
        errors.append(float((squared * weight).sum() / max(weight.sum(), 1.0)))
    return errors


def warping_error(frames: Sequence, motion: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The mean of ``warping_errors``: one figure for a whole sequence."""
    return float(np.mean(warping_errors(frames, motion)))


def pan_zoom_clip(image: PIL.Image.Image, frames: int = 12, size: int = 128, pan: float = 0.15,
                  zoom: float = 1.2, view: float = 0.7) -> tuple[list[PIL.Image.Image], list[tuple]]:
    """A slow pan (``pan`` of the image's width, left to right) and zoom (by ``zoom``) across ``image``.

    Returns the frames (long side ``size``) and the exact motion in ``warping_errors``'s form: for each
    t >= 1, the flow from frame t to frame t-1 and the mask of pixels whose source lies inside frame t-1.
    The window starts at ``view`` of the image's width; the image is first reduced with a Lanczos filter so
    that the frames are resampled at about their own resolution, with no aliasing to flicker by itself.
    """
    import cv2

    if pan + view > 1 or zoom < 1:
        raise ValueError(f"a pan of {pan} with a view of {view} leaves the image, or zoom {zoom} < 1 zooms out")
    image = image.convert("RGB")
    aspect = image.height / image.width
    width, height = (size, max(16, round(size * aspect))) if aspect <= 1 else (max(16, round(size / aspect)), size)
    scale = 1.25 * width / (view * image.width)  # source pixels per output pixel start at 1.25
    source = np.asarray(image.resize((round(image.width * scale), round(image.height * scale)),
                                     PIL.Image.Resampling.LANCZOS), dtype=np.float32)
    sw, sh = source.shape[1], source.shape[0]
    steps = max(frames - 1, 1)
    # Source pixels per output pixel (a), and the window's centre (cx, cy), for every frame.
    a = [1.25 / zoom ** (t / steps) for t in range(frames)]
    cx = [sw / 2 - pan * sw / 2 + pan * sw * t / steps for t in range(frames)]
    cy = [sh / 2 for _ in range(frames)]
    out = []
    for t in range(frames):
        matrix = np.array([[a[t], 0, cx[t] - a[t] * (width - 1) / 2], [0, a[t], cy[t] - a[t] * (height - 1) / 2]])
        frame = cv2.warpAffine(source, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        out.append(PIL.Image.fromarray(np.clip(np.rint(frame), 0, 255).astype(np.uint8)))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    motion = []
    for t in range(1, frames):
        # Output pixel -> source point in frame t -> output pixel of frame t-1.
        sx = cx[t] + a[t] * (xs - (width - 1) / 2)
        sy = cy[t] + a[t] * (ys - (height - 1) / 2)
        px = (sx - cx[t - 1]) / a[t - 1] + (width - 1) / 2
        py = (sy - cy[t - 1]) / a[t - 1] + (height - 1) / 2
        flow = np.stack([px - xs, py - ys], axis=-1).astype(np.float32)
        motion.append((flow, inside_mask(flow).astype(np.float32)))
    return out, motion
