"""Optical flow, warping, reliability masks, the temporal loss and the warping error, without any network."""

import numpy as np
import pytest
import torch
from PIL import Image

from nstyle.errors import UsageError
from nstyle.io.videofile import parse_time
from nstyle.video.flow import frame_flow, motion_boundary_mask, occlusion_mask, optical_flow, reliable_mask, warp
from nstyle.video.stability import (
    estimated_motion,
    pair_errors,
    pair_motion,
    pan_zoom_clip,
    shot_pairs,
    warping_error,
    warping_errors,
)
from nstyle.video.stylise import plan
from nstyle.video.temporal import TemporalLoss, long_term_masks, with_temporal


def texture(h=96, w=128, seed=0) -> np.ndarray:
    """Smooth random texture (blurred noise): something flow can track everywhere."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC))


def shifted(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(image, (dy, dx), axis=(0, 1))


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_recovers_a_known_shift(method):
    a = texture()
    b = shifted(a, 3, -2)  # b shows at p + (3, -2) what a shows at p
    flow = optical_flow(a, b, method)
    inner = flow[10:-10, 10:-10]
    assert np.median(inner[..., 0]) == pytest.approx(3, abs=0.3)
    assert np.median(inner[..., 1]) == pytest.approx(-2, abs=0.3)


def test_warp_moves_the_next_frame_back_onto_this_one():
    a = texture()
    b = shifted(a, 3, -2)
    moved = warp(b, optical_flow(a, b))
    inner = (slice(10, -10), slice(10, -10))
    before = np.abs(b.astype(float) - a)[inner].mean()
    after = np.abs(moved.astype(float) - a)[inner].mean()
    assert after < 0.1 * before
    assert moved.dtype == np.uint8 and moved.shape == a.shape


def test_consistent_flows_are_reliable_and_contradicting_ones_are_not():
    h, w = 40, 50
    back = np.zeros((h, w, 2), np.float32)
    back[..., 0] = -4  # frame i's pixels come from 4 px to the left in frame i-1
    forward = -back
    assert occlusion_mask(back, forward)[:, 8:].all()
    assert not occlusion_mask(back, np.zeros_like(forward)).any()  # forward says nothing moved: occluded
    mask = reliable_mask(back, forward)
    assert mask.dtype == np.float32
    assert mask[:, :4].sum() == 0, "pixels whose source lies outside the frame are not reliable"
    assert mask[:, 6:].all()


def test_motion_boundaries_are_masked():
    flow = np.zeros((40, 40, 2), np.float32)
    flow[:, 20:, 0] = 5.0  # the right half moves, the left does not
    mask = motion_boundary_mask(flow)
    assert not mask[:, 19:21].any()
    assert mask[:, :15].all() and mask[:, 25:].all()


def test_frame_flow_masks_a_disocclusion():
    background = texture(seed=1)
    square = texture(seed=2)[:30, :30]
    previous, current = background.copy(), background.copy()
    previous[30:60, 40:70] = square
    current[30:60, 48:78] = square  # the square moved 8 px right, uncovering a strip at x 40..47
    _, mask = frame_flow(current, previous)
    assert mask[36:54, 41:47].mean() < 0.5, "the uncovered strip has no source in the previous frame"
    assert mask[5:25, 5:120].mean() > 0.95, "the still background is reliable"


def test_temporal_loss_by_hand():
    target = torch.zeros(1, 3, 2, 2)
    image = torch.full((1, 3, 2, 2), 0.5)
    mask = torch.tensor([[[[1.0, 0.0], [1.0, 0.0]]]])
    loss = TemporalLoss([target], [mask])
    assert loss(image).item() == pytest.approx(0.25 * 6 / 12)  # 6 masked values of 0.25 over C*H*W = 12
    two = TemporalLoss([target, torch.ones(1, 3, 2, 2)], [mask, 1 - mask])
    assert two(image).item() == pytest.approx(0.25)


def test_long_term_masks_only_cover_what_nearer_frames_miss():
    near = torch.tensor([1.0, 0.0, 1.0, 0.0])
    far = torch.tensor([1.0, 1.0, 0.0, 0.0])
    farther = torch.tensor([1.0, 1.0, 1.0, 1.0])
    out = long_term_masks([near, far, farther])
    assert out[0].tolist() == [1, 0, 1, 0]
    assert out[1].tolist() == [0, 1, 0, 0]
    assert out[2].tolist() == [0, 0, 0, 1]


def test_with_temporal_adds_a_weighted_part():
    def base(x):
        zero = x.sum() * 0
        return x.sum(), {"content": zero, "style": zero, "tv": zero}

    temporal = TemporalLoss([torch.zeros(1, 3, 2, 2)], [torch.ones(1, 1, 2, 2)])
    image = torch.ones(1, 3, 2, 2)
    total, parts = with_temporal(base, temporal, 10.0)(image)
    assert parts["temporal"].item() == pytest.approx(10.0)
    assert total.item() == pytest.approx(12.0 + 10.0)
    assert with_temporal(base, temporal, 0.0) is base


def test_pan_zoom_clip_has_the_motion_it_claims():
    image = Image.fromarray(texture(300, 400, seed=3))
    frames, motion = pan_zoom_clip(image, frames=6, size=96)
    assert len(frames) == 6 and len(motion) == 5 and frames[0].size == (96, 72)
    still = [(np.zeros_like(f), np.ones_like(m)) for f, m in motion]
    assert warping_error(frames, motion) < 0.1 * warping_error(frames, still)
    estimated = estimated_motion(frames)
    assert np.mean([np.abs(e[0] - t[0])[8:-8, 8:-8].mean() for e, t in zip(estimated, motion)]) < 0.3
    assert len(warping_errors(frames, motion)) == 5


def test_warping_error_sees_flicker():
    image = Image.fromarray(texture(300, 400, seed=4))
    frames, motion = pan_zoom_clip(image, frames=5, size=96)
    rng = np.random.default_rng(0)
    flicker = [np.clip(np.asarray(f, np.float32) + rng.normal(0, 12, (72, 96, 1)), 0, 255).astype(np.uint8)
               for f in frames]
    assert warping_error(flicker, motion) > 5 * warping_error(frames, motion)


def test_plan_alternates_direction_after_the_first_pass():
    assert plan(3, 1) == [(0, 0, 1), (0, 1, 1), (0, 2, 1)]
    assert [i for _, i, _ in plan(3, 3)] == [0, 1, 2, 2, 1, 0, 0, 1, 2]


def test_parse_time():
    assert parse_time("12.5") == 12.5
    assert parse_time("1:02.5") == 62.5
    assert parse_time("1:00:00") == 3600
    with pytest.raises(UsageError):
        parse_time("ten")


def test_shot_pairs_never_cross_a_cut():
    shots = [range(0, 5), range(5, 8)]
    assert shot_pairs(shots, 1) == [(0, 1), (1, 2), (2, 3), (3, 4), (5, 6), (6, 7)]
    assert shot_pairs(shots, 3) == [(0, 3), (1, 4)]  # shot 2 has no frames 3 apart


def test_long_term_pairs_follow_the_motion_as_consecutive_ones_do():
    """Frames 3 apart of a pan are joined by the estimated flow: a still sequence copied from frame 0 scores far
    worse than the pan itself, at gap 3 as at gap 1."""
    image = Image.fromarray(texture(300, 400, seed=5))
    frames, _ = pan_zoom_clip(image, frames=12, size=96)
    for gap in (1, 3):
        pairs = shot_pairs([range(12)], gap)
        motion = pair_motion(frames, pairs)
        frozen = [frames[0]] * 12
        assert np.mean(pair_errors(frames, pairs, motion)) < 0.25 * np.mean(pair_errors(frozen, pairs, motion))


def test_a_bicubic_warp_keeps_the_strokes_that_bilinear_warps_blur_frame_after_frame(package_images):
    """Twenty half-pixel moves of a textured picture and back: bilinear sampling loses a third of the fine detail
    (mean |Laplacian|), bicubic keeps nearly all of it, and both stay in the picture's range."""
    import cv2

    picture = np.asarray(Image.open(package_images["astronaut"]).convert("RGB").resize((96, 96)),
                         dtype=np.float32) / 255

    def detail(image):
        return float(np.abs(cv2.Laplacian(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.CV_32F))[8:-8, 8:-8].mean())

    flow = np.zeros((96, 96, 2), np.float32)
    kept = {}
    for how in ("linear", "cubic"):
        image = picture
        for k in range(20):
            flow[..., 0] = 0.5 if k % 2 == 0 else -0.5
            image = warp(image, flow, how)
        assert image.dtype == np.float32 and image.min() >= picture.min() and image.max() <= picture.max()
        kept[how] = detail(image) / detail(picture)
    assert kept["linear"] < 0.7 and kept["cubic"] > 0.9, kept
    with pytest.raises(ValueError, match="interpolation"):
        warp(picture, flow, "nearest")


@pytest.mark.parametrize(("settings", "message"), [
    ({"frame_iterations": 0}, "--frame-iterations must be at least 1, not 0"),
    ({"warp": "nearest"}, "--warp must be one of linear, cubic, not 'nearest'"),
])
def test_video_settings_are_refused_in_one_line(settings, message):
    from nstyle.video.settings import VideoSettings

    with pytest.raises(UsageError, match=f"^{message}$"):
        VideoSettings(**settings).check()
