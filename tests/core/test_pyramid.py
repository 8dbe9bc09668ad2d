"""Coarse-to-fine schedules and the stopping rule."""

import pytest
import torch

from nstyle.core.optim import converged, optimize
from nstyle.core.pyramid import level_iterations, level_sizes, upsample


def test_level_sizes_halve_down_to_a_floor():
    assert level_sizes(512, 3) == [128, 256, 512]
    assert level_sizes(512, 1) == [512]
    assert level_sizes(200, 4, min_size=64) == [100, 200]  # 50 would be below the floor
    assert level_sizes(4096, 0, min_size=128) == [128, 256, 512, 1024, 2048, 4096]  # 0: as many as fit
    with pytest.raises(ValueError):
        level_sizes(512, -1)


def test_coarser_levels_run_twice_the_iterations():
    assert level_iterations(20, 3) == [80, 40, 20]
    assert level_iterations(7, 1) == [7]


def test_levels_up_to_512_px_get_at_least_the_default_schedule():
    assert level_iterations(20, 3, [128, 256, 512]) == [80, 40, 20]
    assert level_iterations(2, 6, [128, 256, 512, 1024, 2048, 4096]) == [80, 40, 20, 8, 4, 2]
    assert level_iterations(100, 2, [256, 512]) == [200, 100]


def test_upsample_keeps_range_and_takes_the_next_shape():
    x = torch.rand(1, 3, 24, 32)
    y = upsample(x, torch.Size([1, 3, 48, 64]))
    assert y.shape == (1, 3, 48, 64) and y.min() >= 0 and y.max() <= 1
    assert torch.allclose(y.mean(), x.mean(), atol=0.02)


def test_converged_rule():
    assert not converged([10.0] * 10, 1e-4, 50)  # too short to judge
    flat = [1.0] * 60
    assert converged(flat, 1e-4, 50)
    falling = [2.0 - i * 0.01 for i in range(60)]
    assert not converged(falling, 1e-4, 50)


def test_optimize_stops_when_converged():
    target = torch.rand(1, 3, 4, 4)

    def objective(x):
        loss = (x - target).pow(2).sum()
        return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}

    result = optimize(objective, torch.zeros(1, 3, 4, 4), iterations=500, optimizer="adam", lr=0.1,
                      tolerance=1e-4, window=20)
    assert result.stopped == "converged" and 20 < len(result.history) < 500
