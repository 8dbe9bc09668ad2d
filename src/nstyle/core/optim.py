"""The optimisation loop, apart from the losses: it only needs ``objective(image) -> (loss, parts)``.

L-BFGS (the default), Adam and SGD optimise the image in RGB 0..1. One iteration is one evaluation of
the objective and its gradient (for L-BFGS, one step without line search, as the classic tools count).
The loop keeps the best image seen, reports every iteration to a callback, and stops cleanly on Ctrl-C
or when the loss stops being finite, returning the best image so far.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .stops import Stop

OPTIMIZERS = ("lbfgs", "adam", "sgd")
# Step sizes for 0..1 images; L-BFGS scales its own steps after the first.
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02, "sgd": 0.02}

Objective = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass
class IterationRecord:
    """What one iteration reports: losses (weighted parts) and timing."""

    iteration: int  # 1-based
    total: float
    content: float
    style: float
    tv: float
    seconds: float  # this iteration
    elapsed: float  # since the start

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


@dataclass
class OptimizationResult:
    image: torch.Tensor  # the best image seen, clamped to 0..1
    history: list[IterationRecord] = field(default_factory=list)
    best_iteration: int = 0
    stopped: str = Stop.COMPLETED  # a Stop, or a callback's own reason


class StopOptimization(Exception):
    """Raised by a callback to end the run early, keeping the best image."""


def _make_optimizer(name: str, x: torch.Tensor, lr: float | None) -> torch.optim.Optimizer:
    lr = DEFAULT_LR[name] if lr is None else lr
    if name == "lbfgs":
        # Never stop on the gradient or change tolerances: the iteration budget decides.
        return torch.optim.LBFGS([x], lr=lr, max_iter=1, history_size=100,
                                 tolerance_grad=-1.0, tolerance_change=-1.0)
    if name == "adam":
        return torch.optim.Adam([x], lr=lr)
    if name == "sgd":
        return torch.optim.SGD([x], lr=lr, momentum=0.9, nesterov=True)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {name!r}")


class RunTracker:
    """Records every evaluation and keeps the best image; shared by every optimiser loop."""

    def __init__(self, init: torch.Tensor):
        self.result = OptimizationResult(image=init.detach().clamp(0, 1).clone())
        self.best = math.inf
        self.start = self.last = time.perf_counter()

    def record(self, loss: torch.Tensor, parts: dict[str, torch.Tensor], image: torch.Tensor) -> IterationRecord:
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(value)
        now = time.perf_counter()
        history = self.result.history
        record = IterationRecord(len(history) + 1, value, *(parts[k].item() for k in ("content", "style", "tv")),
                                 seconds=now - self.last, elapsed=now - self.start)
        self.last = now
        history.append(record)
        if value < self.best:
            self.best = value
            self.result.image = image.detach().clamp(0, 1).clone()
            self.result.best_iteration = record.iteration
        return record


def optimize(
    objective: Objective,
    init: torch.Tensor,
    iterations: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    callback: Callable[[IterationRecord, torch.Tensor], None] | None = None,
    tolerance: float = 0.0,
    window: int = 50,
) -> OptimizationResult:
    """Minimise ``objective`` over the image, starting from ``init`` ([1, 3, H, W], RGB 0..1).

    ``callback(record, image)`` runs after every iteration; it may raise ``StopOptimization``.
    With ``tolerance`` > 0 the run stops ("converged") once the loss has improved by less than that
    fraction over the last ``window`` iterations (the classic tools' rule is 1e-4 over 50).
    Every optimiser projects the image into 0..1 before each evaluation, so the loss reported is the
    loss of the picture that is saved. Leaving L-BFGS free and clamping only the result looks cleaner
    but is worse: at 256 px after 150 iterations the saved image's loss was 16 % higher (2.53 vs 2.17).
    """
    x = init.detach().clone(memory_format=torch.contiguous_format).requires_grad_(True)
    opt = _make_optimizer(optimizer, x, lr)
    tracker = RunTracker(init)

    def closure() -> torch.Tensor:
        with torch.no_grad():
            x.clamp_(0, 1)
        opt.zero_grad(set_to_none=True)
        loss, parts = objective(x)
        loss.backward()
        tracker.record(loss, parts, x)
        return loss

    def steps() -> None:
        history = tracker.result.history
        for _ in range(iterations):
            opt.step(closure)
            if callback is not None:
                callback(history[-1], x.detach().clamp(0, 1))
            if tolerance > 0 and converged([r.total for r in history], tolerance, window):
                raise StopOptimization(Stop.CONVERGED)

    return run_guarded(tracker, steps)


def converged(losses: list[float], tolerance: float, window: int) -> bool:
    """True when the loss fell by less than ``tolerance`` (a fraction) over the last ``window`` iterations."""
    if len(losses) <= window:
        return False
    before, now = losses[-window - 1], losses[-1]
    return before - now < tolerance * abs(now)


def run_guarded(tracker: RunTracker, loop: Callable[[], None]) -> OptimizationResult:
    """Run ``loop``; Ctrl-C, a non-finite loss or StopOptimization end it with the best image kept."""
    result = tracker.result
    try:
        loop()
    except KeyboardInterrupt:
        result.stopped = Stop.INTERRUPTED
    except FloatingPointError:
        result.stopped = Stop.NON_FINITE
    except StopOptimization as stop:
        result.stopped = Stop.of(str(stop)) if str(stop) else Stop.STOPPED
    return result
