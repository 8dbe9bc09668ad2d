"""``--init fast``: the optimisation starts from the one-pass network's painting of the same transfer (its styles,
strength, colour and mask), then optimises it as any start; a start word is never taken for a file."""

import numpy as np
import pytest
import torch
from PIL import Image

import nstyle
from nstyle.cli import main
from nstyle.core.catalog import ONE_PASS_METHODS
from nstyle.core.engine import prepare
from nstyle.core.options import INIT_KEYWORDS
from nstyle.io.images import image_to_tensor

pytestmark = pytest.mark.integration

METHOD = ONE_PASS_METHODS[0]
SIZE = 96


def array(image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), dtype=np.float64)


def test_every_one_pass_method_is_a_start_word():
    assert set(ONE_PASS_METHODS) <= set(INIT_KEYWORDS)


def test_the_start_is_the_one_pass_painting_of_the_same_transfer(images):
    painted = nstyle.transfer(images["tubingen"], images["starry_night"], method=METHOD, size=SIZE, strength=0.3)
    painter = prepare(images["tubingen"], images["starry_night"], init=METHOD, size=SIZE, strength=0.3)
    content = image_to_tensor(painted)  # the final level's shape
    start = painter.start(content, content, torch.Generator().manual_seed(0))
    assert start.shape == content.shape
    assert np.abs(start[0].permute(1, 2, 0).numpy() * 255 - array(painted)).max() < 1.0
    photo = array(Image.open(images["tubingen"]).convert("RGB").resize(painted.size, Image.Resampling.LANCZOS))
    assert np.abs(array(painted) - photo).mean() > 15  # the start is a painting, not the photo


def test_under_luminance_colour_the_start_is_the_paintings_luminance(images):
    painter = prepare(images["tubingen"], images["starry_night"], init=METHOD, size=SIZE,
                      preserve_color="luminance")
    shape = torch.zeros(1, 3, 48, 64)
    start = painter.start(shape, shape, torch.Generator())
    assert start.shape == shape.shape
    assert torch.allclose(start[0, 0], start[0, 1]) and torch.allclose(start[0, 1], start[0, 2])


def test_a_run_from_the_painting_stays_near_it_and_moves_from_it(images):
    common = {"size": SIZE, "levels": 1, "iterations": 3}
    painted = array(nstyle.transfer(images["tubingen"], images["starry_night"], method=METHOD, size=SIZE))
    from_painting = array(nstyle.transfer(images["tubingen"], images["starry_night"], init=METHOD, **common))
    from_photo = array(nstyle.transfer(images["tubingen"], images["starry_night"], **common))
    assert np.abs(from_painting - painted).mean() < 0.5 * np.abs(from_photo - painted).mean()
    assert np.abs(from_painting - painted).mean() > 0.5  # optimised, not the start handed back


def test_the_command_line_takes_the_word_and_refuses_a_near_miss_in_one_line(images, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["transfer", str(images["tubingen"]), str(images["starry_night"]), "-o", str(out), "--size", "64",
                 "--levels", "1", "--iterations", "1", "--init", METHOD, "-q"]) == 0
    assert Image.open(out).size[0] == 64
    assert main(["transfer", str(images["tubingen"]), str(images["starry_night"]), "-o", str(out), "--size", "64",
                 "--init", METHOD + "x", "-q"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--init" in error[0] and METHOD in error[0]
