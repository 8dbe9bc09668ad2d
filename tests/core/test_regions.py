"""Automatic semantic maps (``--auto-maps``): clustering, K, matching, soft masks and the round trip through maps."""

import numpy as np
import pytest
import torch
from PIL import Image

import nstyle
from nstyle.core.guidance import read_maps
from nstyle.core.options import TransferOptions
from nstyle.core.regions import (
    FoundMaps,
    choose_regions,
    find_maps,
    kmeans,
    match_regions,
    segment,
    silhouette,
    soft_masks,
)
from nstyle.errors import UsageError

from ..tiny_backbone import TinyBackbone


def two_regions(size, split, first="smooth", horizontal=True, seed=0):
    """A picture of a smooth blue region and a noisy green-brown texture, split at ``split`` (a share of the height
    or width): regions with known, different features and colours. Returns the image and the smooth region's mask."""
    width, height = size
    rng = np.random.default_rng(seed)
    smooth = np.broadcast_to(np.array([70, 120, 220], float), (height, width, 3)).copy()
    smooth += np.linspace(0, 25, height)[:, None, None]  # a sky's gentle gradient
    texture = np.array([70, 130, 40], float) + 90 * rng.random((height, width, 3)) * np.array([1.0, 0.7, 0.4])
    rows, cols = np.mgrid[0:height, 0:width]
    inside = rows < split * height if horizontal else cols < split * width
    if first != "smooth":
        inside = ~inside
    pixels = np.where(inside[..., None], smooth, texture)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), inside


def blobs(centres, per=60, spread=0.05, seed=0):
    rng = np.random.default_rng(seed)
    points = np.concatenate([np.asarray(c) + spread * rng.standard_normal((per, len(c))) for c in centres])
    return torch.tensor(points, dtype=torch.float32), np.repeat(np.arange(len(centres)), per)


def same_partition(a, b) -> float:
    """Share of pixels on which two labelings agree, under the best one-to-one renaming of b's labels."""
    from scipy.optimize import linear_sum_assignment

    ka, kb = int(a.max()) + 1, int(b.max()) + 1
    overlap = np.array([[np.sum((a == i) & (b == j)) for j in range(kb)] for i in range(ka)])
    rows, cols = linear_sum_assignment(-overlap)
    return overlap[rows, cols].sum() / a.size


@pytest.fixture(scope="module")
def tiny():
    return TinyBackbone(seed=1, width=16)


# -- clustering ------------------------------------------------------------------------------------------------

def test_kmeans_is_deterministic_for_a_seed_and_finds_separated_blobs():
    x, truth = blobs([(0, 0), (1, 0), (0, 1)])
    first, inertia = kmeans(x, 3, torch.Generator().manual_seed(7))
    again, _ = kmeans(x, 3, torch.Generator().manual_seed(7))
    assert torch.equal(first, again)
    assert same_partition(truth, first.numpy()) == 1.0
    assert inertia < 0.01 * len(x)  # each point ~spread^2 * 2 from its centre


def test_silhouette_is_high_for_separated_clusters_and_low_for_an_arbitrary_split():
    x, truth = blobs([(0, 0), (1, 1)])
    sample = torch.arange(len(x))
    assert silhouette(x, torch.tensor(truth), sample) > 0.85
    arbitrary = torch.tensor(np.arange(len(x)) % 2)
    assert abs(silhouette(x, arbitrary, sample)) < 0.1


@pytest.mark.parametrize("count", [2, 3, 4])
def test_auto_chooses_the_number_of_blobs(count):
    x, truth = blobs([(np.cos(a), np.sin(a)) for a in np.linspace(0, 2 * np.pi, count, endpoint=False)])
    k, labels = choose_regions(x, torch.Generator().manual_seed(0))
    assert k == count and same_partition(truth, labels.numpy()) == 1.0


def test_segment_is_deterministic_and_finds_the_two_regions(tiny):
    image, smooth = two_regions((96, 72), 0.4)
    first = segment(tiny, image, 2, torch.Generator().manual_seed(3))
    again = segment(tiny, image, 2, torch.Generator().manual_seed(3))
    assert np.array_equal(first.labels, again.labels) and np.allclose(first.means, again.means)
    truth = np.asarray(Image.fromarray(smooth).resize(first.labels.shape[::-1], Image.NEAREST))
    assert same_partition(truth.astype(int), first.labels) > 0.95
    assert first.labels[0, 0] != first.labels[-1, -1]


# -- matching --------------------------------------------------------------------------------------------------

def test_matching_pairs_regions_by_their_features():
    a, b, c = np.eye(3)
    assert list(match_regions(np.stack([a, b]), np.stack([b + 0.1 * a, a + 0.1 * c]))) == [1, 0]
    # more content regions than style regions: the one left over takes its nearest, so one style region serves two
    assert list(match_regions(np.stack([a, b, a + 0.2 * c]), np.stack([b, a]))) == [1, 0, 1]
    # fewer: each takes a different style region, the best assignment as a whole (not each its nearest)
    near_a = a + 0.3 * b
    assert list(match_regions(np.stack([a, near_a]), np.stack([a, b, c]))) == [0, 1]


def test_two_region_pictures_are_matched_smooth_to_smooth_whatever_the_layout(tiny):
    """The content's sky is on top, the style's on the right and larger: the found regions must still pair sky with
    sky and texture with texture."""
    content, content_sky = two_regions((96, 72), 0.35)
    style, style_sky = two_regions((80, 80), 0.6, first="texture", horizontal=False, seed=5)
    found = find_maps(tiny, content, [style], 2, seed=0, blend=[1.0])
    assert found.regions == 2
    sky = np.bincount(found.content_labels[content_sky]).argmax()
    assert (found.content_labels[content_sky] == sky).mean() > 0.95
    assert (found.content_labels[~content_sky] != sky).mean() > 0.95
    style_labels = found.style_labels[0]
    assert (style_labels[style_sky] == sky).mean() > 0.95  # the style's sky carries the content sky's label
    assert (style_labels[~style_sky] != sky).mean() > 0.95
    guide = found.guidance.styles[0][sky]
    assert guide[style_sky].mean() > 0.9 and guide[~style_sky].mean() < 0.1


def test_soft_masks_sum_to_one_and_blend_only_near_a_boundary():
    labels = np.zeros((32, 32), int)
    labels[:, 16:] = 1
    masks = soft_masks(labels, 2, (64, 64))
    assert masks.shape == (2, 64, 64) and np.allclose(masks.sum(axis=0), 1.0)
    assert masks[0, :, :20].min() > 0.99 and masks[1, :, 44:].min() > 0.99  # interiors stay whole
    assert 0.2 < masks[0, 10, 32] < 0.8  # the edge is soft


# -- the found maps as files -----------------------------------------------------------------------------------

def test_saved_maps_round_trip_through_content_and_style_maps(tiny, tmp_path):
    content, _ = two_regions((96, 72), 0.35)
    style, _ = two_regions((80, 80), 0.6, first="texture", horizontal=False, seed=5)
    found = find_maps(tiny, content, [style], 3, seed=0, blend=[1.0])
    paths = {}
    for name, image in found.named_images().items():
        paths[name] = tmp_path / name
        image.save(paths[name])
    assert sorted(paths) == ["content_map.png", "style_map.png"]
    read = read_maps(Image.open(paths["content_map.png"]), content.size, [Image.open(paths["style_map.png"])],
                     [style.size])
    assert len(read.names) == found.regions
    assert same_partition(found.content_labels, read.content.argmax(axis=0)) == 1.0
    # the style regions each content region reads are the same ones, under the same (colour) names
    order = [read.names.index(name) for name in found.guidance.names]
    for r, back in enumerate(order):
        hard = found.guidance.styles[0][r] > 0.5
        assert (read.styles[0][back][hard] == 1).mean() > 0.97


def test_images_colour_unmatched_style_regions_apart(tiny):
    labels = np.array([[0, 0, -1, -2], [0, 1, -1, -2]])
    guidance = find_maps(tiny, two_regions((64, 48), 0.5)[0], [two_regions((64, 48), 0.5)[0]], 2, 0, [1.0]).guidance
    maps = FoundMaps(guidance=guidance, content_labels=np.array([[0, 1]]), style_labels=[labels], counts=(2, 4))
    _, (style_map,) = maps.images()
    colours = {tuple(c) for c in np.asarray(style_map).reshape(-1, 3)}
    assert len(colours) == 4  # two matched colours and two of their own


def test_several_styles_each_get_their_regions(tiny):
    content, _ = two_regions((96, 72), 0.35)
    styles = [two_regions((80, 80), 0.6, first="texture", horizontal=False, seed=5)[0],
              two_regions((64, 96), 0.5, seed=6)[0]]
    found = find_maps(tiny, content, styles, 2, seed=0, blend=[0.7, 0.3])
    assert len(found.guidance.styles) == 2 and len(found.style_labels) == 2
    assert found.guidance.styles[1].shape[1:] == (96, 64)
    assert np.allclose(found.guidance.mix[:, 0], [0.7, 0.3])
    assert list(found.named_images()) == ["content_map.png", "style_map_1.png", "style_map_2.png"]


# -- options ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1, 9, "x", 2.5, True, "", "-3", float("inf"), float("nan"), [2]])
def test_auto_maps_values_outside_two_to_eight_or_auto_are_refused(value):
    with pytest.raises(UsageError, match=r"--auto-maps .*: give a number of regions, 2 to 8, or auto"):
        TransferOptions(auto_maps=value)


@pytest.mark.parametrize(("value", "kept"), [("auto", "auto"), ("AUTO", "auto"), ("3", 3), (4, 4), (2.0, 2)])
def test_auto_maps_values_are_kept_as_a_count_or_auto(value, kept):
    opts = TransferOptions(auto_maps=value)
    assert opts.auto_maps == kept and opts.resolved().style_loss == "gram"  # guided, like hand-made maps


@pytest.mark.parametrize(("extra", "message"), [
    ({"mask": "m.png"}, "give it or --mask"),
    ({"content_map": "c.png", "style_map": "s.png"}, "give it or --content-map and --style-map"),
    ({"method": "strotss"}, "has no masked or per-region version"),
    ({"style_loss": "sliced"}, "has no masked or per-region version"),
])
def test_auto_maps_refuses_what_it_cannot_go_with(extra, message):
    with pytest.raises(UsageError, match=message):
        TransferOptions(auto_maps=2, **extra)


def test_the_engine_paints_with_the_found_maps_and_returns_them(tiny):
    from nstyle.core.engine import run

    content, _ = two_regions((96, 72), 0.35)
    style, _ = two_regions((80, 80), 0.6, first="texture", horizontal=False, seed=5)
    result = run(content, style, backbone=tiny, auto_maps=2, size=96, iterations=3, levels=1)
    assert result.maps is not None and result.maps.regions == 2
    assert result.maps.content_labels.shape == (72, 96) and result.image.size == (96, 72)
    assert run(content, style, backbone=tiny, size=96, iterations=3, levels=1).maps is None
    alone = nstyle.auto_maps(content, style, 2, backbone=tiny, size=96)  # the same regions, without painting
    assert np.array_equal(alone.content_labels, result.maps.content_labels)
    assert np.allclose(alone.guidance.styles[0], result.maps.guidance.styles[0])


def test_tiling_with_auto_maps_is_refused_before_any_work():
    from nstyle.core.engine import prepare

    from ..tiny_backbone import ExplodingBackbone

    content, _ = two_regions((600, 400), 0.35)
    with pytest.raises(UsageError, match="masks and maps need the whole image"):
        prepare(content, content, backbone=ExplodingBackbone(), auto_maps=2, size=600, tile=256)
