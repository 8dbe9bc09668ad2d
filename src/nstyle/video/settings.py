"""The options that only video has, apart from the code that uses them, so that ``nstyle video --help`` loads
neither torch nor OpenCV to show their defaults."""

import dataclasses
import math
from dataclasses import dataclass

from ..core.catalog import METHODS, ONE_PASS_METHODS
from ..errors import UsageError

DEFAULT_TEMPORAL_WEIGHT = 2000.0
#: --method fast's: the weight of the warped previous output in each frame's blend (video.fastshot; docs/VIDEO.md)
DEFAULT_FAST_TEMPORAL_WEIGHT = 3.0
DEFAULT_FRAME_ITERATIONS = 4  # a frame after a shot's first starts close to its answer (docs/BENCHMARKS.md)
#: A later frame whose L-BFGS starts cold (no previous frame's curvature: --no-warm-start, or the first frame after a
#: resume) needs about this many times the evaluations for the same style distance (docs/BENCHMARKS.md).
COLD_START_FACTOR = 1.5
DEFAULT_CUT_THRESHOLD = 0.3  # colour-histogram distance above which a pair of frames may be a cut (video.shots)
FLOW_METHODS = ("dis", "farneback")  # OpenCV's DIS (the default) and Farneback optical flow
WARP_INTERPOLATIONS = ("linear", "cubic")  # how video.flow.warp resamples a stylised frame
#: what an optimised frame starts from where the warped previous frame is unreliable (what enters the frame,
#: disocclusions, motion boundaries): a one-pass method's painting of the frame, or the warp's repeated edge pixels
FILLS = (*ONE_PASS_METHODS, "edges")


@dataclass
class VideoSettings:
    """The knobs that only video has (the transfer's own come from ``TransferOptions``)."""

    temporal_weight: float | None = None  # None: the method's default (``for_method``)
    passes: int = 1
    long_term: bool = False
    flow: str = "dis"
    cuts: bool = True  # split the clip into shots at cuts; no frame is warped from another shot
    cut_threshold: float = DEFAULT_CUT_THRESHOLD
    warp: str = "cubic"  # how the previous stylised frame is resampled (video.flow.warp)
    frame_iterations: int | None = DEFAULT_FRAME_ITERATIONS  # each frame after a shot's first (None: --iterations)
    warm_start: bool = True  # each frame's L-BFGS starts with the previous frame's curvature (video.shot)
    fill: str = FILLS[0]  # the start where the warped previous frame is unreliable (video.shot; docs/VIDEO.md)

    def later_iterations(self, given: int, warm: bool) -> int:
        """Evaluations of a frame after a shot's first: ``frame_iterations`` (or the transfer's ``given``), more
        when its L-BFGS starts cold although warm starts are on."""
        n = self.frame_iterations or given
        return math.ceil(COLD_START_FACTOR * n) if self.warm_start and not warm else n

    def for_method(self, method: str) -> "VideoSettings":
        """These settings with the method's default temporal weight where none is given."""
        if self.temporal_weight is not None:
            return self
        one_pass = METHODS[method].painter is not None  # a network paints each frame (video.fastshot)
        default = DEFAULT_FAST_TEMPORAL_WEIGHT if one_pass else DEFAULT_TEMPORAL_WEIGHT
        return dataclasses.replace(self, temporal_weight=default)

    def check(self) -> None:
        if self.temporal_weight is not None and (not math.isfinite(self.temporal_weight) or self.temporal_weight < 0):
            raise UsageError(f"--temporal-weight must be 0 (off) or positive, not {self.temporal_weight:g}")
        if self.passes < 1:
            raise UsageError(f"--passes must be at least 1, not {self.passes}")
        if self.flow not in FLOW_METHODS:
            raise UsageError(f"--flow must be one of {', '.join(FLOW_METHODS)}, not {self.flow!r}")
        if self.frame_iterations is not None and self.frame_iterations < 1:
            raise UsageError(f"--frame-iterations must be at least 1, not {self.frame_iterations}")
        if self.warp not in WARP_INTERPOLATIONS:
            raise UsageError(f"--warp must be one of {', '.join(WARP_INTERPOLATIONS)}, not {self.warp!r}")
        if self.fill not in FILLS:
            raise UsageError(f"--fill must be one of {', '.join(FILLS)}, not {self.fill!r}")
        if not (math.isfinite(self.cut_threshold) and 0 < self.cut_threshold < 1):
            raise UsageError(f"--cut-threshold must be between 0 and 1 (a colour-histogram distance; --no-cuts "
                             f"turns detection off), not {self.cut_threshold:g}")


