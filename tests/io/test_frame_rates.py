"""The frame rates ``--fps`` takes are those every container nstyle writes keeps (issue 33, item 6)."""

import math
from fractions import Fraction

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from nstyle.errors import UsageError
from nstyle.io.videofile import FPS_RANGE, VIDEO_CODECS, check_fps, write_video


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_rate_is_refused_in_one_line_or_kept_as_a_positive_fraction(fps):
    try:
        check_fps(fps)
    except UsageError as err:
        assert "\n" not in str(err) and str(err).startswith(f"--fps {fps!r}:")
        assert not (math.isfinite(fps) and FPS_RANGE[0] <= fps <= FPS_RANGE[1])
        return
    rate = Fraction(fps).limit_denominator(1001)  # as read_clip makes it
    assert rate > 0 and abs(float(rate) - fps) <= 0.01 * fps


@pytest.mark.parametrize("suffix", list(VIDEO_CODECS))
@pytest.mark.parametrize("fps", FPS_RANGE)
def test_every_container_keeps_every_frame_and_the_rate_at_both_ends(tmp_path, suffix, fps):
    frames = []
    for i in range(3):
        frames.append(tmp_path / f"f{i}.png")
        Image.new("RGB", (32, 24), (80 * i, 0, 0)).save(frames[-1])
    out = tmp_path / f"out{suffix}"
    write_video(frames, out, Fraction(fps).limit_denominator(1001))
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert sum(1 for _ in container.decode(stream)) == 3
        assert float(stream.average_rate) == pytest.approx(fps, rel=0.01)
