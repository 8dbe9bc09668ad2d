"""Where a clip cuts from one shot to the next, so that no frame is warped from a frame of another shot.

The rule: there is a cut between frames i-1 and i when

* the Bhattacharyya distance between their colour histograms (HSV, 16 hue x 4 saturation x 4 value bins,
  each summing to 1; OpenCV's ``HISTCMP_BHATTACHARYYA``, 0 for equal histograms, 1 for disjoint ones) is
  above ``threshold`` (default 0.3, ``--cut-threshold``), and
* the optical flow between them confirms it: less than ``MAX_RELIABLE_AT_CUT`` (0.3) of frame i's pixels are
  reliable by ``flow.reliable_mask`` (forward and backward flow agree, no motion boundary, source inside).

Tuned on the sample clip bikes.mp4 (``nstyle samples fetch bikes``, at 256 px): its five cuts (before frames
31, 77, 138, 188 and 243, counted from 1) have distances 0.44 to 0.79 and 0 to 20 % reliable pixels; every
other pair is at most 0.15 (a car driving through the frame), with 47 % or more reliable pixels. The
carphone clip (one shot) stays below 0.09, a generated pan and zoom far below. The flow is computed only
for the pairs above the threshold, so detection costs little more than the histograms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import PIL.Image

from .flow import _cv2, frame_flow
from .settings import DEFAULT_CUT_THRESHOLD

HISTOGRAM_BINS = (16, 4, 4)  # hue, saturation, value
MAX_RELIABLE_AT_CUT = 0.3  # a pair with more reliable flow than this is one shot, whatever its colours do


def _array(frame) -> np.ndarray:
    if isinstance(frame, PIL.Image.Image):
        return np.asarray(frame.convert("RGB"))
    return np.ascontiguousarray(frame, dtype=np.uint8)


def colour_histogram(frame) -> np.ndarray:
    """The frame's HSV histogram (``HISTOGRAM_BINS``), normalised to sum 1."""
    cv2 = _cv2()
    hsv = cv2.cvtColor(_array(frame), cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HISTOGRAM_BINS), [0, 180, 0, 256, 0, 256])
    return (hist / max(float(hist.sum()), 1.0)).astype(np.float32)


def histogram_distances(frames: Sequence) -> np.ndarray:
    """For i = 1..n-1, the Bhattacharyya distance between the histograms of frames i-1 and i (index i-1)."""
    cv2 = _cv2()
    hists = [colour_histogram(f) for f in frames]
    return np.array([cv2.compareHist(hists[i - 1], hists[i], cv2.HISTCMP_BHATTACHARYYA)
                     for i in range(1, len(hists))], dtype=np.float64)


def find_cuts(frames: Sequence, threshold: float = DEFAULT_CUT_THRESHOLD, flow: str = "dis") -> list[int]:
    """The 0-based indices of the frames that start a new shot (never 0), by the module's rule."""
    distances = histogram_distances(frames)
    cuts = []
    for i in np.flatnonzero(distances > threshold) + 1:
        _, mask = frame_flow(_array(frames[i]), _array(frames[i - 1]), flow)
        if float(mask.mean()) < MAX_RELIABLE_AT_CUT:
            cuts.append(int(i))
    return cuts


def shot_ranges(count: int, cuts: Sequence[int]) -> list[range]:
    """The shots of ``count`` frames cut before each index in ``cuts``: 0-based ranges, in order."""
    bounds = [0, *sorted(c for c in set(cuts) if 0 < c < count), count]
    return [range(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def describe_shots(shots: Sequence[range]) -> str:
    """"3 shots: frames 1-52, 53-120, 121-250" (frames counted from 1, as the files are named)."""
    parts = [f"{s.start + 1}-{s.stop}" if len(s) > 1 else f"{s.start + 1}" for s in shots]
    return f"{len(shots)} shot{'s' if len(shots) != 1 else ''}: frame{'s' if shots and shots[-1].stop > 1 else ''} " \
        + ", ".join(parts)
