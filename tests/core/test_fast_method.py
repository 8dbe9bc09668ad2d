"""``--method fast`` end to end: the real arbitrary-style network through the API, the command line and a batch, and
the options it refuses in one line. The network itself is checked against onnxruntime in
tests/models/test_arbitrary.py, its painting options in tests/core/test_feedforward.py."""

import csv

import numpy as np
import pytest
from PIL import Image

import nstyle
from nstyle.cli import main
from nstyle.core.options import TransferOptions
from nstyle.errors import UsageError

pytestmark = pytest.mark.integration


def pixels(image) -> np.ndarray:
    return np.asarray(Image.open(image) if not hasattr(image, "convert") else image.convert("RGB"), dtype=np.float64)


def test_the_api_paints_at_the_size_asked_without_optimising_and_is_deterministic(images):
    first = nstyle.run(images["tubingen"], images["starry_night"], method="fast", size=160)
    again = nstyle.run(images["tubingen"], images["starry_night"], method="fast", size=160)
    assert max(first.image.size) == 160 and first.history == []
    content = pixels(Image.open(images["tubingen"]).convert("RGB").resize(first.image.size))
    painted = pixels(first.image)
    assert np.abs(painted - content).mean() > 20  # restyled, not the photo (8-bit levels)
    assert np.array_equal(painted, pixels(again.image))


def test_a_grey_mask_keeps_the_content_where_it_is_black(images, tmp_path):
    content = Image.open(images["tubingen"]).convert("RGB").resize((160, 120))
    mask = np.zeros((120, 160), np.uint8)
    mask[:, 80:] = 255  # the right half styled, the left half kept
    Image.fromarray(mask).save(tmp_path / "mask.png")
    out = nstyle.transfer(content, images["starry_night"], method="fast", size=160, mask=tmp_path / "mask.png")
    painted, original = pixels(out), pixels(content)
    assert np.abs(painted[:, :60] - original[:, :60]).mean() < 2
    assert np.abs(painted[:, 100:] - original[:, 100:]).mean() > 20


@pytest.mark.parametrize("option, value, flag", [
    ("style_weight", 5.0, "--style-weight"), ("content_layers", ["relu4_2"], "--content-layers"),
    ("style_scale", 2.0, "--style-scale"), ("smoothing", 5.0, "--smoothing"), ("style_loss", "w2", "--style-loss"),
])
def test_what_only_shapes_a_loss_is_refused_naming_the_option(option, value, flag):
    with pytest.raises(UsageError, match=flag):
        TransferOptions(method="fast", **{option: value})


def test_maps_are_refused_and_strength_and_colour_are_taken(images):
    with pytest.raises(UsageError, match="no per-region version"):
        TransferOptions(method="fast", auto_maps=2)
    opts = TransferOptions(method="fast", strength=0.2, preserve_color="luminance")
    assert opts.resolved().style_loss is None


def test_the_command_line_and_a_batch_write_their_pictures(images, tmp_path, capsys):
    out = tmp_path / "out.png"
    assert main(["transfer", str(images["tubingen"]), str(images["starry_night"]), "-o", str(out),
                 "--method", "fast", "--size", "128", "-q"]) == 0
    assert max(Image.open(out).size) == 128
    assert main(["transfer", str(images["tubingen"]), str(images["starry_night"]), "-o", str(tmp_path / "x.png"),
                 "--method", "fast", "--style-weight", "5"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "--style-weight" in err[0]
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"content,style,output,method,size\n{images['tubingen']},{images['starry_night']},a.png,fast,96\n"
                    f"{images['hoovertowernight']},{images['starry_night']},b.png,fast,96\n")
    assert main(["batch", str(jobs), "-o", str(tmp_path / "batch"), "-q"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "batch" / "results.csv")))
    assert [r["status"] for r in rows] == ["done", "done"]
    assert all(max(Image.open(tmp_path / "batch" / name).size) == 96 for name in ("a.png", "b.png"))
