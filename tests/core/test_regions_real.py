"""``--auto-maps`` with the real VGG19 on the classic images: the regions it finds against the hand-made maps, and the
found maps through the command line and a batch."""

import numpy as np
import pytest
from PIL import Image

from nstyle.cli import main
from nstyle.core.regions import find_maps
from nstyle.eval.judge import image_health
from nstyle.io.images import load_image, resize_to_long_side
from nstyle.models.weights import load_backbone

pytestmark = pytest.mark.integration

DOCS = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "images"


def sky_of(map_path, size) -> np.ndarray:
    """The blue (sky) region of a hand-made map at ``size``."""
    pixels = np.asarray(Image.open(map_path).convert("RGB").resize(size, Image.NEAREST)).astype(int)
    return pixels[..., 2] > pixels[..., 0]


def test_two_regions_of_tubingen_and_the_starry_night_are_the_hand_made_skies(images):
    content = resize_to_long_side(load_image(images["tubingen"]), 512)
    style = load_image(images["starry_night"])
    found = find_maps(load_backbone("vgg19"), content, [style], 2, seed=0, blend=[1.0])
    content_sky, style_sky = sky_of(DOCS / "tubingen_map.png", content.size), sky_of(DOCS / "starry_night_map.png",
                                                                                   style.size)
    sky = np.bincount(found.content_labels[content_sky]).argmax()
    assert ((found.content_labels == sky) == content_sky).mean() > 0.85  # the bar; 0.98 measured
    assert ((found.style_labels[0] == sky) == style_sky).mean() > 0.85  # the painted sky takes the photo's sky
    assert found.counts == (2, 2)


def test_saved_maps_paint_again_through_content_and_style_maps(images, tmp_path, capsys):
    maps = tmp_path / "maps"
    args = [images["tubingen"], images["starry_night"], "--size", "128", "--iterations", "6", "--levels", "1", "-q"]
    assert main(["transfer", *map(str, args), "-o", str(tmp_path / "auto.png"), "--auto-maps", "auto",
                 "--save-maps", str(maps)]) == 0
    err = capsys.readouterr().err
    assert "auto maps: 2 content region(s), 2 style region(s)" in err and "wrote the maps" in err
    with Image.open(maps / "content_map.png") as content_map, Image.open(maps / "style_map.png") as style_map:
        assert content_map.size == (128, 96) and style_map.size == Image.open(images["starry_night"]).size
    assert main(["transfer", *map(str, args), "-o", str(tmp_path / "again.png"), "--content-map",
                 str(maps / "content_map.png"), "--style-map", str(maps / "style_map.png")]) == 0
    for name in ("auto.png", "again.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.size == (128, 96) and image_health(picture) == []


def test_a_batch_job_with_auto_maps_writes_its_maps_beside_its_output(images, tmp_path):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style,size,iterations,levels,auto_maps\n"
                    f"{images['tubingen']},{images['starry_night']},64,2,1,2\n"
                    f"{images['tubingen']},{images['shipwreck']},64,2,1,\n")
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "-o", str(out), "-q", "--workers", "0"]) == 0
    assert sorted(p.name for p in out.glob("*.png")) == [
        "tubingen_shipwreck.png", "tubingen_starry_night.content_map.png", "tubingen_starry_night.png",
        "tubingen_starry_night.style_map.png"]
    with Image.open(out / "tubingen_starry_night.content_map.png") as content_map:
        assert content_map.size == (64, 48) and len(content_map.getcolors()) == 2
