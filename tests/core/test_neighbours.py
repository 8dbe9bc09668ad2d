"""NNST's pieces on tiny tensors and the tiny backbone: the grid, the search, the targets, the objective."""

import pytest
import torch

from nstyle.core.neighbours import NeuralNeighbourLoss, grid_size, hypercolumns, nearest, turns
from nstyle.core.options import TransferOptions
from nstyle.errors import UsageError
from tests.tiny_backbone import TinyBackbone


def test_grid_is_a_quarter_of_the_image_and_bounded():
    assert grid_size(128, 96) == (32, 24)
    assert max(grid_size(2048, 1024)) == 96 and grid_size(2048, 1024)[1] == 48


def test_hypercolumns_resample_every_layer_to_the_grid():
    features = {"a": torch.randn(1, 3, 16, 16), "b": torch.randn(1, 5, 4, 4)}
    columns = hypercolumns(features, ["a", "b"], (8, 8))
    assert [c.shape for c in columns] == [(64, 3), (64, 5)]


def test_nearest_finds_each_row_among_shuffled_copies():
    keys = [torch.randn(50, 6), torch.randn(50, 4)]
    order = torch.randperm(50)
    queries = [k[order] + 1e-3 * torch.randn_like(k[order]) for k in keys]
    centres = [k.mean(dim=0) for k in keys]
    assert torch.equal(nearest(queries, keys, centres), order)


def test_nearest_weighs_the_layers_together():
    """Row 0 matches query 0 on layer a only, row 1 on both: the sum over layers picks row 1."""
    keys = [torch.tensor([[1.0, 0.0], [0.9, 0.1], [-1.0, 0.0]]), torch.tensor([[0.0, -1.0], [0.1, 1.0], [1.0, 0.0]])]
    queries = [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])]
    assert nearest(queries, keys, [torch.zeros(2), torch.zeros(2)]).tolist() == [1]


def test_turns_are_the_image_and_its_quarter_turns():
    image = torch.arange(6.0).reshape(1, 1, 2, 3)
    shapes = [t.shape[-2:] for t in turns(image)]
    assert shapes == [(2, 3), (3, 2), (2, 3), (3, 2)] and torch.equal(turns(image)[2], image.flip(-1).flip(-2))


def test_the_content_as_its_own_style_is_its_own_target():
    """With the content as the style, every hypercolumn's nearest candidate is itself: the loss is 0 there and
    larger for another image, and the gradient points back."""
    net = TinyBackbone()
    content = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    loss = NeuralNeighbourLoss(net, content, [content], ["conv1", "conv2", "conv3"], content_share=1.0,
                               style_weight=1.0, tv_weight=0.0)
    at_content = loss(content)[0].item()
    other = content.flip(-1).clone().requires_grad_()
    away, _ = loss(other)
    away.backward()
    assert at_content == pytest.approx(0.0, abs=1e-6) and away.item() > 0.01
    assert torch.isfinite(other.grad).all() and other.grad.abs().sum() > 0


def test_retarget_searches_with_the_content_share_of_the_content():
    net = TinyBackbone()
    generator = torch.Generator().manual_seed(1)
    content, style = torch.rand(1, 3, 32, 32, generator=generator), torch.rand(1, 3, 32, 32, generator=generator)
    loss = NeuralNeighbourLoss(net, content, [style], ["conv1", "conv2"], 1.0, 1.0, 0.0)
    first = [t.clone() for t in loss.targets]
    loss.retarget(torch.rand(1, 3, 32, 32, generator=generator))  # share 1: the current image is not looked at
    assert all(torch.equal(a, b) for a, b in zip(first, loss.targets, strict=True))
    loss.content_share = 0.0
    loss.retarget(style)  # searching with the style itself finds other targets
    assert not all(torch.equal(a, b) for a, b in zip(first, loss.targets, strict=True))


@pytest.mark.parametrize(("options", "says"), [
    ({"method": "nnst", "content_weight": 2}, "--content-weight 2"),
    ({"method": "nnst", "strength": 0.7}, "--strength"),
    ({"method": "strotss", "style_loss": "w2"}, "--style-loss w2"),
    ({"method": "nnst", "loss": "paper"}, "--loss nstyle"),
    ({"method": "strotss", "size": 2048, "tile": 1024}, "--tile 0"),
    ({"method": "nnst", "smoothing": 5}, "--smoothing"),
])
def test_what_the_methods_cannot_do_is_refused_in_the_options(options, says):
    with pytest.raises(UsageError, match=says.replace("-", r"\-")):
        TransferOptions(**options)


def test_the_methods_weights_are_their_own():
    assert TransferOptions(method="nnst").resolved().weights["content"] == 0.75
    assert TransferOptions(method="nnst", content_weight=0.5).resolved().weights["content"] == 0.5
    assert TransferOptions(method="strotss").resolved().weights != TransferOptions().resolved().weights


def test_every_level_after_the_first_remakes_its_targets_from_where_it_starts(monkeypatch):
    """From --init content the first level's targets are made with the loss; a finer level starts from the coarser
    result and must search again from it, or the coarse levels' work is thrown away."""
    from PIL import Image

    from nstyle.core.engine import prepare

    calls, original = [], NeuralNeighbourLoss.retarget

    def recorded(self, current):
        calls.append(current.shape[-1])
        original(self, current)

    monkeypatch.setattr(NeuralNeighbourLoss, "retarget", recorded)
    pixels = torch.randint(0, 256, (64, 64, 3), generator=torch.Generator().manual_seed(2), dtype=torch.uint8)
    image = Image.fromarray(pixels.numpy())
    painter = prepare(image, image, backbone=TinyBackbone(), method="nnst", size=256, levels=2, iterations=1,
                      init="content", device="cpu", content_layers=["conv2"], style_layers=["conv1", "conv2"])
    picture = None
    for size, iterations in painter.plan:
        _, picture = painter.paint(size, iterations, picture)
    assert calls == [128, 256, 256]  # each level's loss makes its targets; the finer level searches again
