"""The object-leak measure (nstyle.eval.metrics.leak) on bench pairs with the real VGG16 (integration): about 0 for
the photograph, for the photograph in the painting's colours and under a texture of the painting's shuffled
patches; high for the painting itself; rising with the area and the opacity of a piece of the painting pasted in
place."""

import numpy as np
import pytest
import torch

from nstyle.eval.metrics.leak import ObjectLeak, in_place, working_shape

from ..conftest import SHARED

pytestmark = pytest.mark.integration
BENCH = SHARED / "bench"
PAIRS = (("00", "01"), ("03", "09"), ("07", "15"))
SIDE = 192
# What "within noise" means for one pair: the largest |leak| of these zero cases (colour statistics, shuffled
# textures) over 10 bench pairs was 0.033 at the measure's 256 px (docs/QUALITY.md, "Object leak").
NOISE = 0.04


def load(folder: str, stem: str) -> torch.Tensor:
    from PIL import Image

    image = Image.open(BENCH / folder / f"{stem}.png").convert("RGB").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)[None].float() / 255


def colour_statistics(content: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """The content with each RGB channel's mean and standard deviation made the style's."""
    mean, std = content.mean((2, 3), keepdim=True), content.std((2, 3), keepdim=True)
    return ((content - mean) / std * style.std((2, 3), keepdim=True) + style.mean((2, 3), keepdim=True)).clamp(0, 1)


def shuffled_patches(style: torch.Tensor, patch: int = 24, seed: int = 0) -> torch.Tensor:
    """The style cut into squares and put back in a random order: its colours and textures, none of its layout."""
    k = SIDE // patch
    tiles = style.unfold(2, patch, patch).unfold(3, patch, patch).reshape(1, 3, k * k, patch, patch)
    tiles = tiles[:, :, torch.randperm(k * k, generator=torch.Generator().manual_seed(seed))]
    return tiles.reshape(1, 3, k, k, patch, patch).permute(0, 1, 2, 4, 3, 5).reshape(1, 3, SIDE, SIDE)


def pasted(content: torch.Tensor, style: torch.Tensor, area: float, opacity: float = 1.0) -> torch.Tensor:
    """A centred square of the style, ``area`` of the image, laid over the content in place."""
    side = round(SIDE * area ** 0.5)
    out = content.clone()
    if side:
        box = (..., slice((SIDE - side) // 2, (SIDE - side) // 2 + side), slice((SIDE - side) // 2,
                                                                              (SIDE - side) // 2 + side))
        out[box] = opacity * style[box] + (1 - opacity) * content[box]
    return out


AREAS = (0.0, 0.1, 0.25, 0.5)
OPACITIES = (0.0, 0.25, 0.5, 1.0)


@pytest.fixture(scope="module")
def leaks() -> dict[str, np.ndarray]:
    """Every case's leak, [pairs] (the texture cases [pairs, seeds])."""
    if not BENCH.is_dir():
        pytest.skip(f"the benchmark images are not at {BENCH}")
    measure = ObjectLeak()
    found: dict[str, list] = {}
    for c, s in PAIRS:
        content, style = load("content", c), load("style", s)
        cases = {"content": content, "colour": colour_statistics(content, style), "style": style}
        cases |= {f"texture{seed}": 0.5 * content + 0.5 * shuffled_patches(style, seed=seed) for seed in range(3)}
        cases |= {f"area{a}": pasted(content, style, a) for a in AREAS}
        cases |= {f"opacity{o}": pasted(content, style, 0.25, o) for o in OPACITIES}
        values = measure(torch.cat(list(cases.values())), content, style)
        for name, value in zip(cases, values.tolist(), strict=True):
            found.setdefault(name, []).append(value)
    table = {name: np.array(v) for name, v in found.items()}
    table["texture"] = np.stack([table.pop(f"texture{seed}") for seed in range(3)], 1)
    return table


def test_the_photograph_scores_zero_and_colour_or_texture_of_the_painting_stays_within_noise(leaks):
    assert np.abs(leaks["content"]).max() < 1e-5  # the content's own in-place resemblance is subtracted: exactly 0
    assert np.abs(leaks["colour"]).max() < NOISE
    assert np.abs(leaks["texture"]).max() < NOISE
    assert abs(leaks["texture"].mean()) < NOISE / 2  # over pairs and draws the spread averages out


def test_the_painting_itself_scores_high(leaks):
    zero = np.concatenate([leaks["colour"], leaks["texture"].ravel()])
    assert leaks["style"].min() > 10 * NOISE
    assert leaks["style"].min() > zero.mean() + 20 * zero.std()  # far outside the spread the zero cases have


def test_a_piece_of_the_painting_pasted_in_place_rises_with_its_area_and_opacity(leaks):
    for key, steps in (("area", AREAS), ("opacity", OPACITIES)):
        values = np.stack([leaks[f"{key}{step}"] for step in steps], 1)  # [pairs, steps]
        assert np.abs(values[:, 0]).max() < 1e-5  # nothing pasted: the content
        assert (np.diff(values, axis=1) > NOISE / 2).all(), (key, values)  # each step rises, pair by pair
    assert (leaks["area0.5"] < leaks["style"]).all()  # half of the painting is less than all of it


def test_in_place_ignores_what_is_the_same_everywhere():
    """A style whose features are the same at every position has no place: every image scores 0 against it."""
    generator = torch.Generator().manual_seed(0)
    flat = {"relu": torch.rand(1, 8, 1, 1, generator=generator).expand(1, 8, 6, 4)}
    images = {"relu": torch.rand(3, 8, 6, 4, generator=generator)}
    assert torch.allclose(in_place(images, flat), torch.zeros(3), atol=1e-6)
    assert in_place(flat, flat).item() == pytest.approx(0, abs=1e-6)
    one = {"relu": torch.zeros(1, 8, 6, 4)}
    one["relu"][0, 0, 1, 1] = 1  # one distinct position: an object
    assert in_place(one, one).item() == pytest.approx(1 / 24)


def test_working_shape_keeps_the_aspect_ratio():
    assert working_shape(512, 512) == (256, 256)
    assert working_shape(300, 600) == (128, 256)
    assert working_shape(64, 32) == (256, 128)
