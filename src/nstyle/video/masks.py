"""Masks and content maps that follow the picture: ``--mask`` or ``--content-map`` given a folder, one image a frame.

A single file applies to every frame, like a still image's. A folder holds one image per stylised frame, matched
in natural name order (frame2 before frame10), so a mask drawn or tracked frame by frame moves with what it
marks. The count must match the frames stylised (after ``--start`` and ``--end``); each frame's options then
name its own file, and everything else about the options is the same for every frame.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..core.options import option_flag
from ..errors import UsageError
from ..io.images import load_image
from ..io.videofile import frame_files

PER_FRAME_OPTIONS = ("mask", "content_map")


def per_frame_files(options: dict, frames: int) -> dict[str, list[Path]]:
    """The options of ``PER_FRAME_OPTIONS`` given a folder, each with its files, one per frame; every file is
    decoded once here, so that a bad one fails before any work."""
    found = {}
    for name in PER_FRAME_OPTIONS:
        value = options.get(name)
        if not isinstance(value, (str, os.PathLike)) or not Path(value).is_dir():
            continue
        files = frame_files(Path(value))
        if len(files) != frames:
            raise UsageError(f"{option_flag(name)} {value}: the folder holds {len(files)} images for {frames} frames; "
                             "give one image per stylised frame (in name order), or one file for every frame")
        for f in files:
            load_image(f)
        found[name] = files
    return found


def frame_options(options: dict, per_frame: dict[str, list[Path]], index: int) -> dict:
    """The options of frame ``index`` (0-based): each per-frame option names that frame's file."""
    if not per_frame:
        return options
    return options | {name: str(files[index]) for name, files in per_frame.items()}
