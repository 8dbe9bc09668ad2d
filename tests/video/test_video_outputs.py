"""`nstyle video` and ``stylise_frames`` never write over their inputs, and a run that fails before its first frame
leaves no folder behind; no network runs here (every case stops before the first iteration)."""

import hashlib
from pathlib import Path

import av
import pytest
from PIL import Image

from nstyle.cli import main
from nstyle.errors import UsageError
from nstyle.video.stylise import stylise_frames


@pytest.fixture
def clip(tmp_path) -> Path:
    """clip.mp4 (3 frames, 64x48), a link to it, frames/ with two frames, style.png, and clip.mp4.frames/s.png."""
    with av.open(str(tmp_path / "clip.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for shade in (40, 120, 200):
            for packet in stream.encode(av.VideoFrame.from_image(Image.new("RGB", (64, 48), (shade, 60, 60)))):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    (tmp_path / "link.mp4").symlink_to(tmp_path / "clip.mp4")
    (tmp_path / "frames").mkdir()
    for i in (1, 2):
        Image.new("RGB", (64, 48), (i * 80, 0, 0)).save(tmp_path / "frames" / f"shot{i}.png")
    Image.new("RGB", (64, 48), "red").save(tmp_path / "style.png")
    (tmp_path / "clip.mp4.frames").mkdir()
    Image.new("RGB", (64, 48), "blue").save(tmp_path / "clip.mp4.frames" / "s.png")
    return tmp_path


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def video(args, capsys) -> tuple[int, str]:
    code = main(["video", *map(str, args), "--size", "32", "--iterations", "1", "-q"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


@pytest.mark.parametrize("args, message", [
    (["clip.mp4", "style.png", "-o", "clip.mp4"], "-o '{t}/clip.mp4' would replace the input 'clip.mp4'"),
    (["clip.mp4", "style.png", "-o", "./clip.mp4"], "-o '{t}/clip.mp4' would replace the input 'clip.mp4'"),
    (["link.mp4", "style.png", "-o", "clip.mp4"],
     "would replace the input 'link.mp4' (the same file, through a symbolic link)"),
    (["clip.mp4", "clip.mp4", "-o", "link.mp4"], "-o '{t}/link.mp4' would replace the input 'clip.mp4' (the same"),
    (["frames", "style.png", "-o", "frames"], "the input 'frames' is inside '{t}/frames', the folder -o fills"),
    (["frames", "style.png", "-o", "frames/../frames"], "the input 'frames' is inside '{t}/frames/../frames'"),
    (["clip.mp4", "clip.mp4.frames/s.png", "-o", "clip.mp4"], "-o '{t}/clip.mp4' would replace the input"),
    (["clip.mp4", "style.png", "-o", "frames", "--mask", "frames/shot1.png"], "--mask 'frames/shot1.png' is inside"),
])
def test_video_never_writes_over_an_input(clip, capsys, monkeypatch, args, message):
    monkeypatch.chdir(clip)
    before = digests(clip)
    code, line = video(args, capsys)
    assert code == 2 and message.format(t=clip) in line and line.endswith("give another -o")
    assert digests(clip) == before


def test_a_style_inside_the_working_folder_of_a_video_is_refused(clip, capsys, monkeypatch):
    monkeypatch.chdir(clip)
    (clip / "out.mp4.frames").mkdir()
    Image.new("RGB", (64, 48), "blue").save(clip / "out.mp4.frames" / "style.png")
    before = digests(clip)
    code, line = video(["clip.mp4", "out.mp4.frames/style.png", "-o", "out.mp4"], capsys)
    assert code == 2 and line == (
        f"nstyle: error: the style image 'out.mp4.frames/style.png' is inside '{clip}/out.mp4.frames', the folder -o "
        "fills with frames and removes once the video is written; nstyle never writes over its inputs: move the input "
        "out of it or give another -o")
    assert digests(clip) == before


@pytest.mark.parametrize("output", ["styled", "deep/er/styled", "styled.mp4"])
def test_a_run_that_fails_before_its_first_frame_leaves_no_folder(clip, capsys, output):
    (clip / "bad.safetensors").write_text("not weights")
    code, line = video([clip / "clip.mp4", clip / "style.png", "-o", clip / output, "--weights",
                        clip / "bad.safetensors"], capsys)
    assert code == 1 and "not a readable safetensors file" in line
    assert not (clip / output.split("/")[0]).exists() and not (clip / f"{output}.frames").exists()


def test_a_folder_that_existed_before_is_kept(clip, capsys):
    (clip / "styled").mkdir()
    (clip / "bad.safetensors").write_text("not weights")
    code, _ = video([clip / "frames", clip / "style.png", "-o", clip / "styled", "--weights",
                     clip / "bad.safetensors"], capsys)
    assert code == 1 and (clip / "styled").is_dir()


def test_stylise_frames_never_writes_over_an_input(clip):
    before = digests(clip)
    with pytest.raises(UsageError, match="a frame '.*shot1.png' is inside '.*frames', the frames folder"):
        stylise_frames([clip / "frames" / "shot1.png"], clip / "style.png", clip / "frames", {"size": 32})
    with pytest.raises(UsageError, match="the style image '.*s.png' is inside"):
        stylise_frames([Image.new("RGB", (64, 48))], [clip / "clip.mp4.frames" / "s.png"], clip / "clip.mp4.frames")
    with pytest.raises(UsageError, match="--init '.*shot2.png' is inside"):
        stylise_frames([Image.new("RGB", (64, 48))], clip / "style.png", clip / "frames",
                       {"init": str(clip / "frames" / "shot2.png")})
    assert digests(clip) == before


def test_a_working_folder_that_is_a_link_is_refused_before_any_work(clip, capsys, monkeypatch):
    """OUT.mp4.frames is nstyle's own folder, filled and then removed: as a link it would fill and empty another."""
    monkeypatch.chdir(clip)
    (clip / "elsewhere").mkdir()
    (clip / "out.mp4.frames").symlink_to(clip / "elsewhere")
    before = digests(clip)
    code, line = video(["clip.mp4", "style.png", "-o", "out.mp4"], capsys)
    assert code == 2 and "the working folder of frames beside -o, is a symbolic link" in line
    assert digests(clip) == before and not any((clip / "elsewhere").iterdir()) and not (clip / "out.mp4").exists()


@pytest.mark.parametrize("fps", ["nan", "inf", "1e9", "0.0001", "0", "-1"])
def test_a_frame_rate_no_container_keeps_is_one_line(clip, capsys, monkeypatch, fps):
    """--fps nan was a traceback, 1e9 an mp4 of no frames, 0.0001 a file that played at 24 fps."""
    monkeypatch.chdir(clip)
    before = digests(clip)
    code, line = video(["frames", "style.png", "-o", "out.mp4", "--fps", fps], capsys)
    assert code == 2 and line.startswith(f"nstyle: error: --fps {float(fps)!r}: must be a number of frames a second "
                                         "from 0.01 to 1000")
    assert digests(clip) == before and not (clip / "out.mp4").exists()


def test_an_output_under_a_file_says_the_file_is_in_the_way(clip, capsys, monkeypatch):
    monkeypatch.chdir(clip)
    (clip / "afile").write_text("a file")
    code, line = video(["clip.mp4", "style.png", "-o", "afile/out.mp4"], capsys)
    assert code == 2 and line == f"nstyle: error: cannot write out.mp4: '{clip}/afile' is a file, not a folder; " \
                                 "give another path"


def test_a_size_that_cannot_fit_is_refused_before_any_frame_is_resized(clip, capsys, monkeypatch):
    """--size 20000 resized every frame first and was killed at 23 GB; now the first frame alone is checked."""
    import nstyle.video.clip as clip_module
    from nstyle.core import memory

    monkeypatch.setattr(memory, "available_bytes", lambda device=None: 8 * 2**30)  # whatever this machine has
    monkeypatch.chdir(clip)
    monkeypatch.setattr(clip_module, "read_clip", lambda *a, **k: pytest.fail("frames were read before the check"))
    code = main(["video", "clip.mp4", "style.png", "-o", "out.mp4", "--size", "20000", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("nstyle: error: --size 20000 needs about") and "8.0 GB is free" in err
    assert "the largest --size that fits" in err
    assert not (clip / "out.mp4").exists() and not (clip / "out.mp4.frames").exists()
