"""The options that only video has, apart from the code that uses them, so that ``nstyle video --help`` loads
neither torch nor OpenCV to show their defaults."""

import math
from dataclasses import dataclass

from ..errors import UsageError

DEFAULT_TEMPORAL_WEIGHT = 2000.0
FLOW_METHODS = ("dis", "farneback")  # OpenCV's DIS (the default) and Farneback optical flow


@dataclass
class VideoSettings:
    """The knobs that only video has (the transfer's own come from ``TransferOptions``)."""

    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT
    passes: int = 1
    long_term: bool = False
    flow: str = "dis"

    def check(self) -> None:
        if not math.isfinite(self.temporal_weight) or self.temporal_weight < 0:
            raise UsageError(f"--temporal-weight must be 0 (off) or positive, not {self.temporal_weight:g}")
        if self.passes < 1:
            raise UsageError(f"--passes must be at least 1, not {self.passes}")
        if self.flow not in FLOW_METHODS:
            raise UsageError(f"--flow must be one of {', '.join(FLOW_METHODS)}, not {self.flow!r}")


