"""Time left in a running job, from its plan of sizes and iterations.

An iteration at 512 px costs about 16 times one at 128 px, so a coarse-to-fine run's time left is not
(elapsed / iterations done) x (iterations left): each planned iteration is weighted by its pixel count.
A level that converges early only makes the estimate fall faster.
"""

from __future__ import annotations

from itertools import accumulate


class TimeLeft:
    """``TimeLeft(plan)(iteration, elapsed)``: seconds left, with ``plan`` the (long side, iterations) of each
    level or network in the order they run."""

    def __init__(self, plan: list[tuple[int, int]]) -> None:
        costs = [size * size for size, count in plan for _ in range(count)]
        self._done = [0, *accumulate(costs)]  # work done after each iteration

    @property
    def total_iterations(self) -> int:
        return len(self._done) - 1

    def __call__(self, iteration: int, elapsed: float) -> float | None:
        """None until the first iteration is done; 0 once the plan is used up."""
        if iteration <= 0 or elapsed <= 0:
            return None
        iteration = min(iteration, self.total_iterations)
        done, total = self._done[iteration], self._done[-1]
        return elapsed * (total - done) / done if done else None


def transfer_plan(options: dict) -> list[tuple[int, int]]:
    """A transfer's levels, as ``TransferOptions.level_plan`` gives them."""
    from ..core.options import options_from

    return options_from(**options).level_plan()


def compare_plan(options: dict, default_models, default_size: int, default_iterations: int) -> list[tuple[int, int]]:
    """One level per network, all at the same size (``nstyle.eval.compare`` runs one size by default)."""
    models = options.get("models", default_models)
    return [(options.get("size", default_size), options.get("iterations", default_iterations))] * len(models)
