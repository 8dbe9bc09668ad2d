"""``nstyle video --method fast``: the real feed-forward network on every frame, kept steady by blending the warped
previous output, on a pan and zoom whose true motion is known (96 px, 8 frames)."""

import json

import numpy as np
import pytest
from PIL import Image

from nstyle.cli import main
from nstyle.errors import UsageError
from nstyle.video.stability import pan_zoom_clip, warping_error
from nstyle.video.stylise import STATE_NAME, VideoSettings, stylise_frames
from tests.video.frames import frames_folder

pytestmark = pytest.mark.integration

SIZE, FRAMES = 96, 8
FAST = {"size": SIZE, "method": "fast"}


def pictures(result):
    return [np.asarray(Image.open(p).convert("RGB"), dtype=np.int16) for p in result.paths]


@pytest.fixture(scope="module")
def clip(images):
    return pan_zoom_clip(Image.open(images["tubingen"]), frames=FRAMES, size=SIZE)


@pytest.fixture(scope="module")
def runs(clip, images, tmp_path_factory):
    """The clip blended (the default) and painted by the network alone (--temporal-weight 0)."""
    return {name: stylise_frames(clip[0], images["starry_night"], tmp_path_factory.mktemp(name), FAST,
                                 VideoSettings(temporal_weight=weight))
            for name, weight in (("blended", None), ("alone", 0.0))}


def test_every_frame_is_painted_and_reported(runs, clip):
    result = runs["blended"]
    assert result.stopped == "completed" and len(result.paths) == FRAMES
    assert not (result.paths[0].parent / STATE_NAME).exists()
    for frame, content in zip(pictures(result), clip[0]):
        assert frame.shape == np.asarray(content).shape
        assert np.abs(frame - np.asarray(content, np.int16)).mean() > 15, "painted, not the input"
    assert [r.frame for r in result.reports] == list(range(1, FRAMES + 1))
    assert result.reports[0].temporal == 0 and all(r.temporal > 0 for r in result.reports[1:])
    assert all(r.temporal == 0 for r in runs["alone"].reports)


def test_the_blend_lowers_the_warping_error(runs, clip):
    """The promise measured against the exact motion: the network alone flickers, the blend follows the picture."""
    _, motion = clip
    error = {name: warping_error([Image.open(p) for p in r.paths], motion) for name, r in runs.items()}
    assert error["blended"] < 0.3 * error["alone"], error  # measured 0.13


def test_a_shots_first_frame_is_the_networks_own(runs, clip, images, tmp_path):
    """Nothing is blended across a cut: each shot starts from the network's frame, as the clip's first does."""
    alone, blended = pictures(runs["alone"]), pictures(runs["blended"])
    assert np.array_equal(blended[0], alone[0])
    cut = stylise_frames(clip[0], images["starry_night"], tmp_path, FAST, VideoSettings(),
                         shots=[range(0, 4), range(4, FRAMES)])
    frames = pictures(cut)
    assert np.array_equal(frames[4], alone[4]) and not np.array_equal(blended[4], alone[4])
    assert all(np.array_equal(frames[k], blended[k]) for k in range(4))


def test_an_interrupted_run_resumes_to_the_same_frames(runs, clip, images, tmp_path):
    def interrupt(frame, record, image):
        if frame == 3:
            raise KeyboardInterrupt

    first = stylise_frames(clip[0], images["starry_night"], tmp_path, FAST, callback=interrupt)
    assert first.stopped == "interrupted"
    assert [p.is_file() for p in first.paths] == [True] * 3 + [False] * (FRAMES - 3)
    assert json.loads((tmp_path / STATE_NAME).read_text())["done"] == [3]
    seen = []
    second = stylise_frames(clip[0], images["starry_night"], tmp_path, FAST, resume=True,
                            callback=lambda frame, record, image: seen.append(frame))
    assert second.stopped == "completed" and seen == list(range(3, FRAMES))
    for k, (resumed, uninterrupted) in enumerate(zip(pictures(second), pictures(runs["blended"]), strict=True)):
        assert np.array_equal(resumed, uninterrupted), k


@pytest.mark.parametrize("settings, message", [
    (VideoSettings(passes=2), "--passes 2: --method fast paints each frame in one pass"),
    (VideoSettings(long_term=True), "--long-term: --method fast"),
    (VideoSettings(frame_iterations=9), "--frame-iterations 9: --method fast"),
    (VideoSettings(warm_start=False), "--no-warm-start: --method fast"),
])
def test_what_only_optimisation_has_is_refused_before_any_work(settings, message, clip, images, tmp_path):
    with pytest.raises(UsageError, match=message):
        stylise_frames(clip[0][:2], images["starry_night"], tmp_path / "out", FAST, settings)
    assert not (tmp_path / "out").exists()


def test_cli_paints_a_folder_with_the_network(clip, images, tmp_path, capsys):
    source = frames_folder(clip[0][:4], tmp_path / "frames")
    out = tmp_path / "styled"
    code = main(["video", str(source), str(images["starry_night"]), "-o", str(out), "--method", "fast",
                 "--size", str(SIZE), "-q"])
    assert code == 0, capsys.readouterr().err
    assert len(sorted(out.glob("frame_*.png"))) == 4
    summary = capsys.readouterr().out
    assert "wrote 4 frames" in summary and "frames a second, mean temporal error" in summary, summary
    code = main(["video", str(source), str(images["starry_night"]), "-o", str(tmp_path / "two"), "--method", "fast",
                 "--passes", "2", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--passes 2" in err and "Traceback" not in err
