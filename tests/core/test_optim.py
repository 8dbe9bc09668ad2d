"""The optimisation loop on a known problem: each optimiser converges; stops keep the best image."""

import pytest
import torch

from nstyle.core.optim import OPTIMIZERS, IterateAverage, LaplacianPyramid, StopOptimization, optimize

TARGET = torch.linspace(0.2, 0.8, 3 * 4 * 5).view(1, 3, 4, 5)


def quadratic(x):
    loss = (x - TARGET).pow(2).sum()
    return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_each_optimizer_reduces_the_loss(name):
    result = optimize(quadratic, torch.zeros(1, 3, 4, 5), iterations=60, optimizer=name)
    assert len(result.history) == 60
    assert result.stopped == "completed"
    assert result.history[-1].total < 0.05 * result.history[0].total
    assert torch.allclose(result.image, TARGET, atol=0.15)


def test_history_records_time_and_parts():
    result = optimize(quadratic, torch.zeros(1, 3, 4, 5), iterations=5)
    assert [r.iteration for r in result.history] == [1, 2, 3, 4, 5]
    assert all(r.seconds >= 0 and r.content == r.total for r in result.history)
    assert result.history[-1].elapsed >= result.history[0].elapsed


def test_callback_sees_every_iteration_and_can_stop():
    seen = []

    def callback(record, image):
        seen.append(record.iteration)
        if record.iteration == 3:
            raise StopOptimization("enough")

    result = optimize(quadratic, torch.zeros(1, 3, 4, 5), iterations=50, callback=callback)
    assert seen == [1, 2, 3]
    assert result.stopped == "enough"


def test_ctrl_c_keeps_the_best_image():
    def callback(record, image):
        if record.iteration == 10:
            raise KeyboardInterrupt

    result = optimize(quadratic, torch.zeros(1, 3, 4, 5), iterations=100, optimizer="adam", callback=callback)
    assert result.stopped == "interrupted"
    best = min(result.history, key=lambda r: r.total)
    assert result.best_iteration == best.iteration
    assert quadratic(result.image)[0].item() < quadratic(torch.zeros(1, 3, 4, 5))[0].item()


def test_non_finite_loss_stops_with_best_image():
    calls = []

    def exploding(x):
        calls.append(1)
        loss = (x - TARGET).pow(2).sum() * (float("nan") if len(calls) > 4 else 1.0)
        return loss, {"content": loss, "style": loss, "tv": loss}

    result = optimize(exploding, torch.zeros(1, 3, 4, 5), iterations=20, optimizer="adam")
    assert result.stopped == "non-finite"
    assert len(result.history) == 4
    assert torch.isfinite(result.image).all()


def test_adam_keeps_pixels_in_range():
    def push_up(x):
        loss = -x.sum()
        return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}

    result = optimize(push_up, torch.full((1, 3, 4, 5), 0.5), iterations=100, optimizer="adam", lr=0.1)
    assert result.image.max().item() <= 1.0
    assert result.image.min().item() == pytest.approx(1.0)


def test_laplacian_bands_rebuild_the_start_image_exactly():
    init = torch.rand(1, 3, 70, 96, generator=torch.Generator().manual_seed(0))
    space = LaplacianPyramid(init)
    assert len(space.parameters) == 3 and space.parameters[-1].shape[-2:] == (17, 24)
    assert torch.allclose(space.image(), init, atol=1e-6)


@pytest.mark.parametrize("name", ["lbfgs", "adam"])
def test_laplacian_parametrization_reaches_a_target_picture(name):
    target = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))

    def objective(x):
        loss = (x - target).pow(2).mean()
        return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}

    start = torch.full_like(target, 0.5)
    result = optimize(objective, start, 60, name, lr=None if name == "lbfgs" else 0.05, parametrization="laplacian")
    assert result.history[-1].total < 0.05 * result.history[0].total
    assert result.image.min() >= 0 and result.image.max() <= 1


def test_iterate_average_is_the_result_and_smooths_a_jittering_run():
    """Adam with a large step jitters around the optimum; the average of its iterates lands nearer."""
    target = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(2)) * 0.5 + 0.25

    def objective(x):
        loss = (x - target).abs().mean()  # |.|: Adam's steps do not shrink near the optimum
        return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}

    start = torch.zeros_like(target)
    plain = optimize(objective, start, 200, "adam", lr=0.05)
    averaged = optimize(objective, start, 200, "adam", lr=0.05, average=0.9)
    assert (averaged.image - target).abs().mean() < 0.5 * (plain.image - target).abs().mean()


def test_iterate_average_warms_up_and_follows_the_decay():
    average = IterateAverage(0.5)
    for value in (1.0, 3.0, 5.0):
        average.update(torch.full((1,), value))
    # first kept whole, then decay min(0.5, 1 - 1/3) = 0.5: (1 + 3) / 2 = 2, then (2 + 5) / 2 = 3.5
    assert average.image.item() == pytest.approx(3.5)


def _ill_conditioned(target):
    weights = torch.logspace(0, 2, target.numel()).view_as(target)  # curvatures 1..100: steepest descent is slow

    def objective(x):
        loss = (weights * (x - target).pow(2)).sum()
        return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}
    return objective


def test_a_warm_start_with_the_curvature_of_a_similar_problem_converges_faster():
    first = optimize(_ill_conditioned(TARGET), torch.zeros(1, 3, 4, 5), iterations=20)
    assert first.curvature is not None and 0 < len(first.curvature.steps) <= first.curvature.KEEP
    assert first.curvature.numel == TARGET.numel()
    moved = (TARGET + 0.05).clamp(0, 1)  # the next frame: the same problem, a little changed
    start = first.image
    cold = optimize(_ill_conditioned(moved), start, iterations=4)
    warm = optimize(_ill_conditioned(moved), start, iterations=4, warm=first.curvature)
    assert warm.history[0].total == pytest.approx(cold.history[0].total)  # the same start
    assert all(w.total < c.total for w, c in zip(warm.history[1:], cold.history[1:], strict=True))
    assert warm.history[-1].total < 0.5 * cold.history[-1].total
    assert len(first.curvature.steps) <= first.curvature.KEEP  # the carried pairs are copies: not grown by reuse


def test_a_curvature_of_another_size_or_optimiser_is_not_used():
    first = optimize(_ill_conditioned(TARGET), torch.zeros(1, 3, 4, 5), iterations=10)
    other = torch.full((1, 3, 6, 5), 0.5)
    cold = optimize(quadratic_of(other), torch.zeros_like(other), iterations=3)
    ignored = optimize(quadratic_of(other), torch.zeros_like(other), iterations=3, warm=first.curvature)
    assert [r.total for r in ignored.history] == [r.total for r in cold.history]
    adam = optimize(quadratic, torch.zeros(1, 3, 4, 5), iterations=3, optimizer="adam", warm=first.curvature)
    assert adam.curvature is None and len(adam.history) == 3


def quadratic_of(target):
    def objective(x):
        loss = (x - target).pow(2).sum()
        return loss, {"content": loss, "style": loss * 0, "tv": loss * 0}
    return objective
