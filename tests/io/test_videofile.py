"""Animated previews: real time, small, looping, written atomically; a bad --preview name refused up front."""

import pytest
from PIL import Image, ImageSequence

from nstyle.errors import UsageError
from nstyle.io.videofile import PREVIEW_SIDE, check_preview_path, write_preview


@pytest.fixture
def frames(tmp_path):
    paths = []
    for i in range(10):
        path = tmp_path / f"frame_{i:05d}.png"
        Image.new("RGB", (640, 272), (25 * i, 100, 255 - 25 * i)).save(path)
        paths.append(path)
    return paths


@pytest.mark.parametrize(("suffix", "fps", "shown", "each_ms"), [(".gif", 25, 5, 80), (".webp", 10, 10, 100)])
def test_a_preview_keeps_real_time_at_a_small_size(frames, tmp_path, suffix, fps, shown, each_ms):
    target = write_preview(frames, tmp_path / f"preview{suffix}", fps)
    with Image.open(target) as preview:
        seen = [(p.info.get("duration"), p.convert("RGB").getpixel((5, 5))[0]) for p in ImageSequence.Iterator(preview)]
        assert preview.size == (PREVIEW_SIDE, 136) and preview.info.get("loop", 0) == 0
    assert len(seen) == shown
    if suffix == ".gif":  # Pillow reads a WebP's frame times back as none
        assert [d for d, _ in seen] == [each_ms] * shown  # 25 fps: every other frame, shown twice as long
    reds = [r for _, r in seen]
    assert reds == sorted(reds) and reds[0] < 40 and reds[-1] > 180, "the clip's frames, in order"
    assert [p.name for p in tmp_path.iterdir() if ".tmp" in p.name] == []


@pytest.mark.parametrize(("name", "says"), [("out.png", ".gif or .webp"), ("missing/out.gif", "existing folder")])
def test_a_bad_preview_name_is_refused(tmp_path, name, says):
    with pytest.raises(UsageError, match=says):
        check_preview_path(tmp_path / name)
