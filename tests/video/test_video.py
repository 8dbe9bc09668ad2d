"""Video mode end to end on short generated clips at 64 px: frames in = frames out, resume, measured stability."""

import json
import os
import shutil
import time
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image, ImageSequence

from nstyle.cli import main
from nstyle.core.engine import run
from nstyle.errors import UsageError
from nstyle.eval.judge import image_health
from nstyle.video.stability import pan_zoom_clip, warping_error
from nstyle.video.stylise import STATE_NAME, VideoSettings, stylise_frames
from tests.video.frames import frames_folder

pytestmark = pytest.mark.integration

SIZE, ITERATIONS, FRAMES = 64, 12, 4
OPTIONS = {"size": SIZE, "iterations": ITERATIONS}
EVERY_FRAME = VideoSettings(frame_iterations=ITERATIONS)  # later frames as many evaluations as the first's last level


def make_video(path, frames, fps=12, audio=True):
    """An H.264 .mp4 of ``frames`` with, optionally, a 440 Hz AAC tone as long as the picture."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = frames[0].width, frames[0].height, "yuv420p"
        if audio:
            sound = out.add_stream("aac", rate=16000)
            sound.layout = "mono"
        for frame in frames:
            for packet in video.encode(av.VideoFrame.from_image(frame)):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio:
            n = 16000 * len(frames) // fps
            wave = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / 16000)).astype(np.float32)
            for i in range(0, n, 1024):
                chunk = av.AudioFrame.from_ndarray(wave[None, i:i + 1024], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 16000, i
                for packet in sound.encode(chunk):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)


def probe(path):
    """(frame count, frame rate, frame size, has audio) as a player would see them."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return len(frames), Fraction(stream.average_rate), (frames[0].width, frames[0].height), \
            bool(container.streams.audio)


@pytest.fixture(scope="module")
def clip(images):
    return pan_zoom_clip(Image.open(images["tubingen"]), frames=FRAMES, size=SIZE)


@pytest.fixture(scope="module")
def with_temporal(clip, images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("with")
    result = stylise_frames(clip[0], images["starry_night"], folder, OPTIONS, EVERY_FRAME)
    return result, [Image.open(p).convert("RGB") for p in result.paths]


def test_every_frame_is_written_and_stylised(with_temporal, clip):
    result, frames = with_temporal
    assert result.stopped == "completed" and len(frames) == FRAMES
    assert [p.name for p in result.paths] == [f"frame_{i:05d}.png" for i in range(1, FRAMES + 1)]
    assert not (result.paths[0].parent / STATE_NAME).exists(), "a finished run leaves no state to resume"
    for frame, content in zip(frames, clip[0]):
        assert frame.size == content.size
        assert image_health(frame) == []
        difference = np.abs(np.asarray(frame, np.float32) - np.asarray(content, np.float32)).mean()
        assert difference > 15, "the frames must be painted, not the input"
    assert [r.frame for r in result.reports] == list(range(1, FRAMES + 1))
    assert all(r.temporal > 0 for r in result.reports[1:])


def test_temporal_loss_lowers_the_warping_error(with_temporal, clip, images, tmp_path):
    """The promise measured: with the temporal loss the frames follow the input's true motion more closely."""
    frames, motion = clip
    _, stable = with_temporal
    without = stylise_frames(frames, images["starry_night"], tmp_path / "without", OPTIONS,
                             VideoSettings(temporal_weight=0, frame_iterations=ITERATIONS))
    loose = [Image.open(p).convert("RGB") for p in without.paths]
    independent = [run(f, images["starry_night"], **OPTIONS).image for f in frames]
    error = {name: warping_error(seq, motion) for name, seq in
             [("with", stable), ("without", loose), ("independent", independent)]}
    assert error["with"] < 0.85 * error["without"], error  # measured 0.70-0.74 across torch numerics
    assert error["with"] < 0.5 * error["independent"], error


def test_an_interrupted_run_resumes_where_it_stopped(with_temporal, clip, images, tmp_path):
    frames = clip[0]
    seen = []

    def interrupt(frame, record, image):
        seen.append(frame)
        if frame == 2 and record.iteration == 3:
            raise KeyboardInterrupt

    first = stylise_frames(frames, images["starry_night"], tmp_path, OPTIONS, EVERY_FRAME, callback=interrupt)
    assert first.stopped == "interrupted"
    assert [p.is_file() for p in first.paths] == [True, True, False, False]
    assert json.loads((tmp_path / STATE_NAME).read_text())["done"] == [2]
    stamps = [p.stat().st_mtime_ns for p in first.paths[:2]]

    with pytest.raises(UsageError, match="unfinished run"):
        stylise_frames(frames, images["starry_night"], tmp_path, OPTIONS, EVERY_FRAME)
    with pytest.raises(UsageError, match=r"made with --iterations 12 \(now 7\)"):
        stylise_frames(frames, images["starry_night"], tmp_path, OPTIONS | {"iterations": 7}, EVERY_FRAME,
                       resume=True)

    seen.clear()
    killed_mid_write = tmp_path / f".{first.paths[2].name}.k2_9xq0a.tmp.png"  # what a SIGKILL would leave
    killed_mid_write.write_bytes(b"half")
    second = stylise_frames(frames, images["starry_night"], tmp_path, OPTIONS, EVERY_FRAME, resume=True,
                            callback=lambda frame, record, image: seen.append(frame))
    assert second.stopped == "completed"
    assert not killed_mid_write.exists()
    assert sorted(set(seen)) == [2, 3], "finished frames are not stylised again"
    assert [p.stat().st_mtime_ns for p in second.paths[:2]] == stamps
    # frame 3 has no frame 2's L-BFGS memory to start with (a run does not keep it): it starts cold, with 1.5 times
    # the evaluations, and frame 4 is warm again; the pictures are those of the uninterrupted run but for rounding
    assert [r.iterations for r in second.reports] == [18, ITERATIONS]
    _, reference = with_temporal
    for k, (resumed, uninterrupted) in enumerate(zip(second.paths, reference, strict=True)):
        a, b = (np.asarray(image.convert("RGB"), dtype=np.int16) for image in (Image.open(resumed), uninterrupted))
        if k < 2:
            assert np.array_equal(a, b), k
        else:  # nearer the uninterrupted frame than that frame is to the frame before it
            before = np.asarray(reference[k - 1], dtype=np.int16)
            assert np.abs(a - b).mean() < 0.25 * np.abs(b - before).mean(), k


def test_cli_folder_in_folder_out(clip, images, tmp_path, capsys):
    source = frames_folder(clip[0][:3], tmp_path / "frames", prefix="shot")
    out = tmp_path / "styled"
    code = main(["video", str(source), str(images["starry_night"]), "-o", str(out), "--size", "64",
                 "--iterations", "2", "-q"])
    assert code == 0, capsys.readouterr().err
    written = sorted(out.glob("frame_*.png"))
    assert len(written) == 3 and Image.open(written[0]).size == clip[0][0].size
    assert f"wrote 3 frames to {out}" in capsys.readouterr().out


def test_cli_video_in_video_out_keeps_rate_and_audio(clip, images, tmp_path, capsys):
    source = tmp_path / "clip.mp4"
    frames = clip[0] + clip[0][::-1] + clip[0][:1]  # 9 frames, 0.75 s at 12 fps
    make_video(source, frames)
    out = tmp_path / "styled.mp4"
    code = main(["video", str(source), str(images["starry_night"]), "-o", str(out), "--size", "64",
                 "--iterations", "2", "--start", "0.25", "--end", "0.5", "-q", "--preview", str(tmp_path / "p.gif")])
    assert code == 0, capsys.readouterr().err
    with Image.open(tmp_path / "p.gif") as preview:  # equal neighbours are merged into one longer frame
        shown = sum(frame.info["duration"] for frame in ImageSequence.Iterator(preview))
        assert preview.size == (64, 48) and abs(shown - 3000 / 12) <= 15  # GIF keeps times in 10 ms steps
    count, rate, size, has_audio = probe(out)
    assert (count, rate, size, has_audio) == (3, Fraction(12), (64, 48), True)  # frames 4..6 of 9
    assert not (tmp_path / "styled.mp4.frames").exists(), "the working frames go once the video is written"
    with av.open(str(out)) as container:
        audio = container.streams.audio[0]
        seconds = sum(p.duration or 0 for p in container.demux(audio)) * audio.time_base
    assert 0.15 < seconds < 0.45, "only the audio of the chosen stretch is copied"


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("args, message", [
    (["video", "{missing}", "{style}", "-o", "{tmp}/out"], "no such file or folder"),
    (["video", "{frames}", "{style}", "-o", "{tmp}/out.png"], "image name"),
    (["video", "{frames}", "{style}", "-o", "{tmp}/out", "--start", "soon"], "cannot read the time"),
    (["video", "{frames}", "{style}", "-o", "{tmp}/out", "--start", "2", "--end", "1"], "must come after"),
    (["video", "{frames}", "{style}", "-o", "{tmp}/out", "--resume"], "no unfinished run"),
    (["video", "{frames}", "{style}", "-o", "{tmp}/out", "--passes", "0"], "--passes"),
    (["video", "{tmp}", "{style}", "-o", "{tmp}/out"], "holds no image files"),
    (["video", "{frames}", "{style}", "-o", "{tmp}/out", "--preview", "{tmp}/p.png"], "--preview p.png"),
])
def test_cli_bad_input_gets_one_line_and_exit_2(args, message, images, tmp_path, capsys):
    frames = tmp_path / "frames"
    frames.mkdir()
    Image.new("RGB", (40, 30), "gray").save(frames / "a.png")
    names = {"missing": tmp_path / "nope.mp4", "style": images["starry_night"], "tmp": tmp_path, "frames": frames}
    code = main([a.format(**names) for a in args])
    assert code == 2
    assert message in one_line_error(capsys)


def _chroma(image):
    from nstyle.core.color import rgb_to_yiq

    return rgb_to_yiq(np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0)[..., 1:]


def test_every_frame_keeps_the_contents_colours_with_preserve_color(clip, images, tmp_path):
    """Frames after the first go through the same painter as a still image: --preserve-color luminance holds on
    every frame (it held on frame 1 only when later frames built their own loss)."""
    result = stylise_frames(clip[0][:3], images["starry_night"], tmp_path / "frames",
                            {**OPTIONS, "preserve_color": "luminance"})
    assert result.stopped == "completed" and len(result.paths) == 3
    for frame, path in zip(clip[0][:3], result.paths, strict=True):
        out = Image.open(path)
        difference = np.abs(_chroma(out) - _chroma(frame.resize(out.size)))
        assert difference.max() < 0.02, f"{path.name}: chroma moved by {difference.max():.4f}"


def test_every_frame_keeps_the_content_where_a_grey_mask_is_black(clip, images, tmp_path):
    width, height = clip[0][0].size
    mask = Image.new("L", (width, height), 0)
    mask.paste(255, (width // 2, 0, width, height))  # right half styled, left half kept
    mask_path = tmp_path / "mask.png"
    mask.save(mask_path)
    result = stylise_frames(clip[0][:3], images["starry_night"], tmp_path / "frames",
                            {**OPTIONS, "mask": str(mask_path)})
    for frame, path in zip(clip[0][:3], result.paths, strict=True):
        out = np.asarray(Image.open(path), dtype=np.int16)
        content = np.asarray(frame.resize((out.shape[1], out.shape[0])), dtype=np.int16)
        kept = np.abs(out[:, : width // 2 - 4] - content[:, : width // 2 - 4])
        styled = np.abs(out[:, width // 2 + 4:] - content[:, width // 2 + 4:])
        assert kept.max() <= 1, f"{path.name}: the kept half moved by {kept.max()} levels"
        assert styled.mean() > 5, f"{path.name}: the styled half barely changed ({styled.mean():.1f})"


def test_a_resume_with_a_changed_style_or_mask_file_is_refused_naming_it(clip, images, tmp_path):
    """The state file holds every input's sha256: the same file names with other bytes are another run."""
    frames = clip[0][:3]
    style, mask = tmp_path / "style.jpg", tmp_path / "mask.png"
    shutil.copy(images["starry_night"], style)
    Image.new("L", frames[0].size, 255).save(mask)
    options = {"size": SIZE, "iterations": 2, "mask": str(mask)}
    folder = tmp_path / "frames"

    def stop_on_frame_2(frame, record, image):
        if frame == 1:
            raise KeyboardInterrupt

    first = stylise_frames(frames, style, folder, options, callback=stop_on_frame_2)
    assert first.stopped == "interrupted" and json.loads((folder / STATE_NAME).read_text())["done"] == [1]
    shutil.copy(images["shipwreck"], style)
    with pytest.raises(UsageError, match=r"another style image \(style.jpg changed\)"):
        stylise_frames(frames, style, folder, options, resume=True)
    shutil.copy(images["starry_night"], style)
    Image.new("L", frames[0].size, 128).save(mask)
    with pytest.raises(UsageError, match=r"another mask \(mask.png changed\)"):
        stylise_frames(frames, style, folder, options, resume=True)
    with pytest.raises(UsageError, match="other input frames"):
        stylise_frames(frames[::-1], style, folder, options, resume=True)
    Image.new("L", frames[0].size, 255).save(mask)
    second = stylise_frames(frames, style, folder, options | {"device": "cpu"}, resume=True)
    assert second.stopped == "completed" and [r.frame for r in second.reports] == [2, 3]


def test_an_interrupted_encode_resumes_straight_to_encoding(clip, images, tmp_path, monkeypatch, capsys):
    """Every frame done, Ctrl-C while the video is written: the frames and the state stay, and --resume only
    encodes (no frame is stylised again)."""
    from nstyle.video import clip as video_clip

    source, out = tmp_path / "clip.mp4", tmp_path / "styled.mp4"
    make_video(source, clip[0][:3], audio=False)
    encode = video_clip.write_video

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(video_clip, "write_video", interrupted)
    args = ["video", str(source), str(images["starry_night"]), "-o", str(out), "--size", "64", "--iterations", "2",
            "-q"]
    assert main(args) == 130
    assert "interrupted while writing styled.mp4" in capsys.readouterr().err and not out.exists()
    frames = tmp_path / "styled.mp4.frames"
    assert len(list(frames.glob("frame_*.png"))) == 3 and (frames / STATE_NAME).is_file()
    monkeypatch.setattr(video_clip, "write_video", encode)
    monkeypatch.setattr("nstyle.video.stylise.load_network", lambda *a: pytest.fail("nothing is left to paint"))
    assert main([*args, "--resume"]) == 0
    assert probe(out)[0] == 3 and not frames.exists()


def test_sigterm_stops_a_video_cleanly_and_resume_finishes_it(clip, images, tmp_path, monkeypatch, capsys):
    """SIGTERM (kill, systemd, Docker) stops like Ctrl-C: the finished frames and the state stay, exit 143."""
    import signal

    from nstyle.video import stylise

    source = frames_folder(clip[0][:3], tmp_path / "clip", prefix="shot")
    out = tmp_path / "styled"
    save = stylise.save_image
    sent = []

    def save_then_terminate(image, path):
        save(image, path)
        if not sent and signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, None):  # never kill the test
            sent.append(path)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises here

    monkeypatch.setattr(stylise, "save_image", save_then_terminate)
    before = signal.getsignal(signal.SIGTERM)
    args = ["video", str(source), str(images["starry_night"]), "-o", str(out), "--size", "64", "--iterations", "2",
            "-q"]
    assert main(args) == 143
    assert "1 of 3 frames are finished" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("frame_*.png")) == ["frame_00001.png"] and (out / STATE_NAME).is_file()
    assert signal.getsignal(signal.SIGTERM) is before, "main restores the handler it replaced"
    assert main([*args, "--resume"]) == 0
    assert len(list(out.glob("frame_*.png"))) == 3 and not (out / STATE_NAME).exists()
