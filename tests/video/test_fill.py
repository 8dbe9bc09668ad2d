"""``nstyle video --fill``: where the previous stylised frame cannot be warped onto the next (what a pan brings in,
disocclusions, motion boundaries), an optimised frame starts from that frame painted in one pass, not from the
warp's repeated edge pixels; everywhere else the start is the warped frame, whichever the fill."""

import numpy as np
import pytest
from PIL import Image

from nstyle.core.engine import Painter
from nstyle.errors import UsageError
from nstyle.video import shot
from nstyle.video.flow import frame_flow
from nstyle.video.settings import FILLS, VideoSettings
from nstyle.video.stability import pan_zoom_clip
from nstyle.video.stylise import stylise_frames

pytestmark = pytest.mark.integration

OPTIONS = {"size": 96, "levels": 1, "iterations": 2}


class Recording(Painter):
    """The painter of a frame after the first, keeping the start each such frame is given."""

    starts: list = []

    def paint(self, size, iterations, init=None, *args, **kwargs):
        Recording.starts.append((init.clone(), self))
        return super().paint(size, iterations, init, *args, **kwargs)


@pytest.fixture(scope="module")
def pan(images):
    """Three frames panning right across Tübingen: each brings a strip in at the right edge."""
    frames, _ = pan_zoom_clip(Image.open(images["tubingen"]), frames=3, size=96, pan=0.3, zoom=1.0)
    return frames


def second_frame_start(pan, images, tmp_path, monkeypatch, fill):
    Recording.starts = []
    monkeypatch.setattr(shot, "Painter", Recording)
    stylise_frames(pan, images["starry_night"], tmp_path / fill, OPTIONS, VideoSettings(frame_iterations=1, fill=fill))
    start, painter = Recording.starts[0]
    return start[0].permute(1, 2, 0).numpy(), painter


def test_what_enters_the_frame_starts_painted_and_the_rest_warped(pan, images, tmp_path, monkeypatch):
    fill, edges = FILLS[0], "edges"
    painted_start, painter = second_frame_start(pan, images, tmp_path, monkeypatch, fill)
    edge_start, _ = second_frame_start(pan, images, tmp_path, monkeypatch, edges)
    _, reliable = frame_flow(np.asarray(pan[1].convert("RGB")), np.asarray(pan[0].convert("RGB")))
    unreliable = reliable < 0.5
    assert unreliable[:, -8:].mean() > 0.9  # the strip the pan brought in at the right edge
    assert unreliable.mean() > 0.05
    assert np.abs(painted_start[~unreliable] - edge_start[~unreliable]).max() < 1e-6
    draft = painter.draft(fill, painted_start.shape[:2])[0].permute(1, 2, 0).numpy()
    assert np.abs(painted_start[unreliable] - draft[unreliable]).max() < 1e-6
    # the edge fill repeats the last column along each row: no such streaks in the painted strip
    streak = np.abs(np.diff(edge_start[:, -8:], axis=1)).mean()
    assert np.abs(np.diff(painted_start[:, -8:], axis=1)).mean() > 3 * streak


def test_an_unknown_fill_is_refused_naming_the_choices():
    with pytest.raises(UsageError, match="--fill must be one of " + ", ".join(FILLS)):
        VideoSettings(fill="smear").check()
