"""The ``nstyle video`` job: read the clip, stylise it frame by frame into a folder, encode the video.

OUTPUT is a video file when its extension is one (.mp4, .mkv, .mov, .m4v, .avi, .webm), otherwise a folder
of frames. A video is made from a working folder of frames next to it (``OUTPUT.frames``), which keeps every
finished frame and the run's state until the video is written, so ``--resume`` works for both.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ..core.stops import Stop
from ..errors import UsageError
from ..exitcodes import INTERRUPTED, OK
from ..io.images import SAVE_FORMATS, load_image
from ..io.paths import missing_folder, refuse_link, refuse_overwriting_inputs, removed_on_failure
from ..io.videofile import (
    VIDEO_CODECS,
    check_preview_path,
    first_frame,
    is_video_path,
    read_clip,
    write_preview,
    write_video,
)
from .fastshot import check_fast_settings, paints_in_one_pass
from .shots import describe_shots
from .stylise import STATE_NAME, VideoSettings, check_resumable, clip_shots, stylise_frames


def working_folder(output: Path) -> Path:
    """Where the frames go: the output itself, or ``OUTPUT.frames`` beside a video file."""
    return output.with_name(output.name + ".frames") if is_video_path(output) else output


def check_output(output: Path) -> Path:
    output = output.expanduser().absolute()
    if output.suffix.lower() in SAVE_FORMATS:
        raise UsageError(f"{output.name} is an image name; give a folder for the frames or a video file "
                         f"({', '.join(VIDEO_CODECS)})")
    if is_video_path(output):
        if output.is_dir():
            raise UsageError(f"{output} is a folder; give a video file name or a folder without a video extension")
        if not output.parent.is_dir():
            raise UsageError(f"cannot write {output.name}: {missing_folder(output.parent)}")
    return output


def check_fits_first_frame(opts, source, style) -> None:
    """``--size 20000`` on a video resized every frame before the memory check and was killed at 23 GB: the
    check runs here on the first frame alone, as transfer, compare, sweep and batch do on their images."""
    from ..core.memory import check_fits

    first = first_frame(source)
    if first is not None:
        check_fits(opts, first, style)


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def _rates(result) -> str:
    """How fast this run painted, and the mean temporal error of its frames that have one (each frame's masked
    distance to its warped predecessor, ``FrameReport.temporal``): " (1.6 frames a second, temporal error ...)"."""
    painted = [r for r in result.reports if r.pass_ == 1]
    if not painted or result.seconds <= 0:
        return ""
    errors = [r.temporal for r in painted if r.temporal > 0]
    return (f" ({len(painted) / result.seconds:.2f} frames a second"
            + (f", mean temporal error {sum(errors) / len(errors):.2e}" if errors else "") + ")")


def run_video_job(source, style, output, options: dict, settings: VideoSettings, start: float = 0.0,
                  end: float | None = None, fps: float | None = None, resume: bool = False,
                  quiet: bool = False, preview=None, runner_for=None) -> int:
    """Stylise the clip at ``source`` into ``output`` (a video file or a folder); returns an exit code.
    ``preview``: also an animated .gif/.webp of the result (small, real time) for a page or a README.
    ``runner_for(shots)``: None, or (a ``ShotRunner``, its shutdown) to paint the shots side by side."""
    from ..core.options import input_files, options_from

    output = check_output(Path(output))
    preview = check_preview_path(preview) if preview is not None else None
    settings.check()
    folder = working_folder(output)
    frames_only = folder == output
    refuse_overwriting_inputs(
        ({} if frames_only else {"-o": output}) | ({"--preview": preview} if preview else {}),
        {"the input": source, "the style image": style} | input_files(options),
        {"the folder -o fills with frames" + ("" if frames_only else " and removes once the video is written"): folder},
        advice="give another -o")
    if not frames_only:
        refuse_link(folder, "the working folder of frames beside -o", "remove the link or give another -o")
    if resume:
        check_resumable(folder)
    load_image(style)  # a bad style image fails before the clip is decoded
    opts = options_from(**options)
    if paints_in_one_pass(opts.method):  # refused before the clip is decoded (stylise_frames checks again)
        check_fast_settings(settings)
    check_fits_first_frame(opts, source, style)  # before every frame is resized to a size that may not fit
    clip = read_clip(source, opts.size, start, end, fps)
    shots = clip_shots(clip.frames, settings)
    runner, shutdown = (runner_for(len(shots)) if runner_for is not None else None) or (None, None)
    if not quiet:
        print(f"nstyle video: {len(clip.frames)} frames of {clip.frames[0].width}x{clip.frames[0].height} at "
              f"{float(clip.fps):g} fps; frames go to {folder}", file=sys.stderr)
        print(f"nstyle video: {describe_shots(shots)}" + ("" if settings.cuts else " (--no-cuts)")
              + (" painted side by side" if runner is not None else ""), file=sys.stderr)
    # The style by its path, so that the resume check fingerprints the file's bytes. A run that fails before its first
    # frame (unreadable --weights, say) leaves no folder holding only its state.
    try:
        with removed_on_failure(folder, leftovers=(STATE_NAME,)):
            result = stylise_frames(clip.frames, style, folder, options, settings, resume=resume, quiet=quiet,
                                    keep_state=folder != output, runner=runner, shots=shots)
    finally:
        if shutdown is not None:
            shutdown()
    if result.stopped == Stop.INTERRUPTED:
        finished = sum(p.is_file() for p in result.paths)
        print(f"nstyle: interrupted; {finished} of {len(result.paths)} frames are finished in {folder}; "
              "continue with the same command and --resume", file=sys.stderr)
        return INTERRUPTED
    if preview is not None:
        write_preview(result.paths, preview, clip.fps)
        print(f"wrote the preview {preview}")
    if folder == output:
        print(f"wrote {len(result.paths)} frames to {output} in {_duration(result.seconds)}{_rates(result)}")
        return OK
    audio = clip.source if clip.has_audio else None
    try:
        copied = write_video(result.paths, output, clip.fps, audio, clip.start, clip.end)
    except KeyboardInterrupt:  # the frames and the run's state stay: --resume goes straight to encoding
        print(f"nstyle: interrupted while writing {output.name}; every frame is finished in {folder}; continue "
              "with the same command and --resume", file=sys.stderr)
        return INTERRUPTED
    shutil.rmtree(folder)  # the state file with it
    print(f"wrote {output} ({len(result.paths)} frames at {float(clip.fps):g} fps"
          f"{', audio copied' if copied else ''}) in {_duration(result.seconds)}{_rates(result)}")
    return OK
