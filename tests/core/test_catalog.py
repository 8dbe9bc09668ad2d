"""The catalog of style losses and methods: each name is one record, written in the table and its own module only,
and everything that reads a name (the options' checks and help, the loss builders, the engine) reads the record."""

import ast
import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import nstyle
from nstyle.core.catalog import DEFAULT_STYLE_LOSS, METHODS, STYLE_LOSSES, StyleLossRecord
from nstyle.core.losses import StyleTransferLoss
from nstyle.core.options import TransferOptions
from nstyle.errors import UsageError
from nstyle.io.images import image_to_tensor, resize_to_long_side
from nstyle.models.registry import resolve
from tests.tiny_backbone import TinyBackbone

SOURCE = Path(nstyle.__file__).parent
NAMES = set(STYLE_LOSSES) | set(METHODS)


def name_literals(source: str, names: set[str]) -> list[tuple[int, str]]:
    """(line, name) of every string literal in ``source`` that is exactly one of ``names``, docstrings aside."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return sorted((node.lineno, node.value) for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
                  and id(node) not in docstrings)


def misplaced_names(package: Path, names: set[str]) -> list[str]:
    """``file:line name`` of each name written outside the catalog and the name's own modules
    (``core/style_losses/NAME.py``, ``core/methods/NAME.py``)."""
    found = []
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).as_posix()
        if where == "core/catalog.py":
            continue
        for line, name in name_literals(path.read_text(encoding="utf-8"), names):
            if where not in (f"core/style_losses/{name}.py", f"core/methods/{name}.py"):
                found.append(f"{where}:{line} {name}")
    return found


def test_style_losses_and_methods_are_named_in_the_catalog_and_their_own_modules_only():
    assert misplaced_names(SOURCE, NAMES) == []


def test_the_name_check_finds_a_planted_name(tmp_path):
    """The checker on a small tree: a name in a module of its own passes, the same name anywhere else does not,
    and neither docstrings nor longer texts that mention it count."""
    (tmp_path / "core" / "style_losses").mkdir(parents=True)
    (tmp_path / "core" / "style_losses" / "sliced.py").write_text('NAME = "sliced"\n')
    (tmp_path / "core" / "catalog.py").write_text('TABLE = {"sliced": 1, "nnst": 2}\n')
    (tmp_path / "core" / "engine.py").write_text(textwrap.dedent('''\
        """Mentions "sliced" in a docstring."""
        def f(options):
            """nnst"""
            help = "--style-loss sliced: the whole distribution"
            return options.method == "nnst"
        '''))
    assert misplaced_names(tmp_path, {"sliced", "nnst"}) == ["core/engine.py:5 nnst"]
    (tmp_path / "core" / "memory.py").write_text('BYTES = {"sliced": 2350}\n')
    assert misplaced_names(tmp_path, {"sliced", "nnst"}) == ["core/engine.py:5 nnst", "core/memory.py:1 sliced"]


def test_every_factory_a_record_names_resolves():
    for record in STYLE_LOSSES.values():
        for reference in (record.plain, record.guided, record.tiled):
            assert reference is None or callable(resolve(reference))
    for record in METHODS.values():
        assert (record.objective is None) != (record.painter is None)  # optimises, or paints, never both
        for reference in (record.objective, record.painter, record.colouring):
            assert reference is None or callable(resolve(reference))
        assert record.style_loss is None or record.style_loss in STYLE_LOSSES
    assert DEFAULT_STYLE_LOSS in STYLE_LOSSES


def test_the_catalog_and_the_options_import_no_torch():
    code = "import sys, nstyle.core.catalog, nstyle.core.options; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", list(STYLE_LOSSES))
def test_the_options_refuse_what_a_style_loss_has_no_version_of(name):
    """Masks, tiles and normalisations come from the record: the options accept exactly what it supports."""
    record = STYLE_LOSSES[name]
    cases = [(record.masks, {"mask": "mask.png"}), (record.tiles, {"size": 2048, "tile": 1024}),
             (record.defined_in("classic"), {"loss": "classic"})]
    for supported, given in cases:
        if supported:
            assert TransferOptions(style_loss=name, **given).resolved().style_loss == name
        else:
            with pytest.raises(UsageError, match=f"--style-loss {name} "):
                TransferOptions(style_loss=name, **given)


@pytest.mark.parametrize("name", [n for n, r in METHODS.items() if r.refuses])
def test_the_options_refuse_what_a_method_refuses(name):
    given = {"style_loss": {"style_loss": "gram"}, "mask": {"mask": "m.png"}, "smoothing": {"smoothing": 5.0},
             "tile": {"size": 2048, "tile": 1024}, "strength": {"strength": 0.7}, "maps": {"auto_maps": 2},
             "init": {"init": "noise"}, "weights": {"weights": "w.safetensors"}, "style_scale": {"style_scale": 2.0},
             "style_layers": {"style_layers": ["relu1_1"]}, "content_layers": {"content_layers": ["relu4_2"]},
             "style_layer_weights": {"style_layer_weights": [1.0]}}
    for option in METHODS[name].refuses:
        values = given.get(option, {option: 1.0})  # the weights: any number given
        with pytest.raises(UsageError) as err:
            TransferOptions(method=name, **values)
        assert f"--method {name}" in str(err.value) and "{" not in str(err.value)


def mean_only(sources) -> nn.Module:
    """A trivial style loss for the test below: the squared error of the features' mean."""

    class MeanLoss(nn.Module):
        def __init__(self, target):
            super().__init__()
            self.register_buffer("target", target)

        def forward(self, features):
            return (features.mean(dim=(-2, -1)) - self.target).pow(2).sum()

    return MeanLoss(sum(f.mean(dim=(-2, -1)) * b for f, b in zip(sources.features, sources.blend, strict=True)))


def test_a_new_style_loss_is_one_record_and_one_factory(monkeypatch):
    monkeypatch.setitem(STYLE_LOSSES, "mean", StyleLossRecord("mean", "the features' mean",
                                                              plain="tests.core.test_catalog:mean_only"))
    net = TinyBackbone()
    content, style = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    loss = StyleTransferLoss(net, content, [style], ["conv3"], {"conv1": 1.0}, {"content": 0.0, "style": 1.0,
                                                                                "tv": 0.0}, style_loss="mean")
    _, parts = loss(style)
    assert parts["style"].item() == pytest.approx(0.0, abs=1e-10)  # the style itself has the style's mean
    _, parts = loss(content)
    expected = (net(content, ["conv1"])["conv1"].mean(dim=(-2, -1)) - net(style, ["conv1"])["conv1"].mean(
        dim=(-2, -1))).pow(2).sum()
    assert parts["style"].item() == pytest.approx(expected.item(), rel=1e-5)


def paint_content(painter, generator):
    """A method that paints in one pass, for the test below: the content itself, as the finished picture."""
    return resize_to_long_side(painter.work_content, painter.options.size)


def test_a_method_that_paints_replaces_the_optimisation(monkeypatch, images):
    """A record with a ``painter`` (what a feed-forward method is) is called instead of the levels."""
    gatys = METHODS["gatys"]
    monkeypatch.setitem(METHODS, "gatys", dataclasses.replace(
        gatys, objective=None, painter="tests.core.test_catalog:paint_content"))
    result = nstyle.run(images["tubingen"], images["starry_night"], backbone=TinyBackbone(), size=64,
                        style_loss="gram")
    assert result.history == [] and result.stopped == "completed"
    expected = resize_to_long_side(nstyle.io.images.load_image(images["tubingen"]), 64)
    assert result.image.size == expected.size
    difference = (image_to_tensor(result.image) - image_to_tensor(expected)).abs().max().item()
    assert difference <= 1 / 255 + 1e-6
