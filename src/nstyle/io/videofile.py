"""Frames in and out: a video file or a folder of images, read at the working size; a video file written back.

Video goes through PyAV, whose wheels bring their own FFmpeg libraries, so nothing has to be installed
beside Python. Reading decodes only the chosen stretch (``start``/``end`` in seconds); writing encodes
H.264 (MPEG-4 part 2 for .avi, VP9 for .webm) at the input's frame rate, copies the audio of that stretch
when the input has any, and replaces the output atomically, so a failed encode never leaves half a video.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import PIL.Image

from ..errors import UsageError
from .atomic import replacing
from .images import load_image, resize_to_long_side

VIDEO_CODECS = {".mp4": "libx264", ".m4v": "libx264", ".mkv": "libx264", ".mov": "libx264", ".avi": "mpeg4",
                ".webm": "libvpx-vp9"}
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
FRAME_NAME = "frame_{:05d}.png"


@dataclass
class Clip:
    """The frames to stylise and what is needed to write them back as a video."""

    frames: list[PIL.Image.Image]  # RGB, long side = the working size
    fps: Fraction
    source: Path
    start: float  # seconds into the source of the first frame
    end: float | None  # seconds, exclusive; None: to the end
    has_audio: bool = False


def is_video_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in VIDEO_CODECS


def parse_time(text: str) -> float:
    """Seconds from "12.5", "1:02.5" or "0:01:02.5"."""
    if not re.fullmatch(r"(\d+:){0,2}\d+(\.\d*)?", text.strip()):
        raise UsageError(f"cannot read the time {text!r}; give seconds (12.5) or minutes:seconds (1:02.5)")
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def _natural_key(path: Path) -> list:
    return [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", path.name.lower())]


def frame_files(folder: Path) -> list[Path]:
    """The image files of a folder in natural order (frame2 before frame10); hidden files are skipped."""
    files = [p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".")]
    return sorted(files, key=_natural_key)


#: The frame rates a folder of frames may be given: every container nstyle writes keeps each frame and the rate
#: between these (a rate of 1e9 gave an mp4 of no frames, 0.0001 one that played at 24 fps).
FPS_RANGE = (0.01, 1000.0)


def check_fps(fps: float | None) -> None:
    """``--fps`` as a frame rate every container can hold, or a one-line UsageError."""
    if fps is None:
        return
    low, high = FPS_RANGE
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and low <= fps <= high):
        raise UsageError(f"--fps {fps!r}: must be a number of frames a second from {low:g} to {high:g}")


def read_clip(source: str | os.PathLike, size: int, start: float = 0.0, end: float | None = None,
              fps: float | None = None) -> Clip:
    """The frames of a video file or of a folder of images, from ``start`` to ``end`` seconds, at ``size`` px.

    For a folder, ``fps`` (default 25) gives the frames their times; for a video the file's own rate is used.
    """
    check_fps(fps)
    path = Path(source)
    if end is not None and end <= start:
        raise UsageError(f"--end ({end:g} s) must come after --start ({start:g} s)")
    if path.is_dir():
        files = frame_files(path)
        if not files:
            raise UsageError(f"{path} holds no image files ({', '.join(FRAME_SUFFIXES)}); give a folder of frames "
                             "or a video file")
        rate = Fraction(fps or 25).limit_denominator(1001)
        first, last = round(start * rate), None if end is None else round(end * rate)
        frames = [resize_to_long_side(load_image(f), size) for f in files[first:last]]
        clip = Clip(frames, rate, path, start, end)
    elif path.is_file():
        clip = _read_video(path, size, start, end)
        if fps:
            raise UsageError("--fps is for folders of frames; a video file keeps its own frame rate")
    else:
        raise UsageError(f"cannot read {str(path)!r}: no such file or folder; check the path")
    if not clip.frames:
        raise UsageError(f"{path} has no frames between {start:g} s and {'the end' if end is None else f'{end:g} s'}")
    return clip


def first_frame(source: str | os.PathLike) -> PIL.Image.Image | None:
    """The clip's first frame as it is stored (not resized), for checking the memory a run needs before every
    frame is read and resized; None where there is none to read (``read_clip`` then says why)."""
    path = Path(source)
    try:
        if path.is_dir():
            files = frame_files(path)
            return load_image(files[0]) if files else None
        with _av().open(str(path)) as container:
            if not container.streams.video:
                return None
            for frame in container.decode(container.streams.video[0]):
                return frame.to_image()
    except Exception:  # noqa: BLE001 - read_clip reports an unreadable clip in its own words
        return None
    return None


def _av():
    try:
        import av
    except ImportError:  # pragma: no cover - a dependency of nstyle
        from ..errors import NstyleError

        raise NstyleError("video files need PyAV; pip install av") from None
    return av


def _read_video(path: Path, size: int, start: float, end: float | None) -> Clip:
    av = _av()
    frames: list[PIL.Image.Image] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise UsageError(f"{path} has no video stream; give a video file or a folder of frames")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
            has_audio = bool(container.streams.audio)
            if start > 0 and stream.time_base:
                container.seek(int(start / stream.time_base), stream=stream, backward=True)
            for index, frame in enumerate(container.decode(stream)):
                t = frame.time if frame.time is not None else index / rate
                if t < start - 0.5 / rate:
                    continue
                if end is not None and t >= end - 0.5 / rate:
                    break
                frames.append(resize_to_long_side(frame.to_image(), size))
    except av.FFmpegError as err:
        raise UsageError(f"cannot read {str(path)!r} as a video ({' '.join(str(err).split())}); "
                         "give a video file (.mp4, .mkv, ...) or a folder of frames") from None
    return Clip(frames, rate, path, start, end, has_audio)


def write_video(frames: Sequence[Path], output: Path, fps: Fraction, audio_from: Path | None = None,
                start: float = 0.0, end: float | None = None) -> bool:
    """Encode the frame files into ``output`` (atomically); returns whether audio was copied.

    Audio that the output's container cannot hold (or that cannot be read) is left out with a warning.
    """
    av = _av()
    with replacing(output) as tmp:
        try:
            _encode(str(tmp), frames, fps, audio_from, start, end)
            copied = audio_from is not None
        except (av.FFmpegError, ValueError) as err:
            if audio_from is None:
                raise
            print(f"nstyle: the audio was not copied ({' '.join(str(err).split())})", file=sys.stderr)
            _encode(str(tmp), frames, fps, None, start, end)
            copied = False
    return copied


def _encode(target: str, frames: Sequence[Path], fps: Fraction, audio_from: Path | None, start: float,
            end: float | None) -> None:
    av = _av()
    codec = VIDEO_CODECS[Path(target).suffix.lower()]
    with av.open(target, "w") as out:
        with PIL.Image.open(frames[0]) as first:
            width, height = first.width // 2 * 2, first.height // 2 * 2  # 4:2:0 chroma needs even sides
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "17", "preset": "medium"}
        elif codec == "libvpx-vp9":
            stream.options = {"crf": "24", "b": "0"}
        else:
            stream.bit_rate = 8_000_000
        if audio_from is not None:
            _copy_audio(out, audio_from, start, end)
        for path in frames:
            with PIL.Image.open(path) as img:
                picture = img.convert("RGB").crop((0, 0, width, height))
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _copy_audio(out, source: Path, start: float, end: float | None) -> None:
    """Copy the source's first audio track between ``start`` and ``end`` into ``out`` without re-encoding."""
    av = _av()
    with av.open(str(source)) as src:
        audio = src.streams.audio[0]
        target = out.add_stream_from_template(audio)
        base = round(start / audio.time_base) if audio.time_base else 0
        if start > 0:
            src.seek(base, stream=audio, backward=True)
        for packet in src.demux(audio):
            if packet.pts is None or packet.dts is None:
                continue
            t = float(packet.pts * audio.time_base)
            if t < start:
                continue
            if end is not None and t >= end:
                break
            packet.pts -= base
            packet.dts -= base
            packet.stream = target
            out.mux(packet)


PREVIEW_FORMATS = {".gif": "GIF", ".webp": "WEBP"}
PREVIEW_SIDE = 320  # long side of an animated preview, in pixels
PREVIEW_MAX_FPS = 12.5  # frames are dropped above it (the timing stays true); a README preview must stay small


def check_preview_path(path: str | os.PathLike) -> Path:
    """``--preview``'s file, checked before any work: an animated .gif or .webp in an existing folder."""
    target = Path(path).expanduser().absolute()
    if target.suffix.lower() not in PREVIEW_FORMATS:
        raise UsageError(f"--preview {target.name}: give a .gif or .webp file name (an animated preview)")
    if target.is_dir() or not target.parent.is_dir():
        raise UsageError(f"--preview {target}: give a file name in an existing folder")
    return target


def _smaller(image: PIL.Image.Image, side: int) -> PIL.Image.Image:
    return resize_to_long_side(image, side) if max(image.size) > side else image


def write_preview(frames: Sequence[Path], target: Path, fps: Fraction | float, side: int = PREVIEW_SIDE) -> Path:
    """An animated, looping preview of the frame files at ``side`` px, real time (every k-th frame above
    ``PREVIEW_MAX_FPS``, each shown k frame times), written atomically."""
    if not frames:
        raise ValueError("a preview needs at least one frame")
    step = max(1, round(float(fps) / PREVIEW_MAX_FPS))
    shown = [_smaller(load_image(f), side) for f in frames[::step]]
    duration = round(1000 * step / float(fps))
    kind = PREVIEW_FORMATS[target.suffix.lower()]
    extra = {"optimize": True} if kind == "GIF" else {"quality": 80, "method": 4}
    with replacing(target) as tmp:
        shown[0].save(tmp, format=kind, save_all=True, append_images=shown[1:], duration=duration, loop=0, **extra)
    return target
