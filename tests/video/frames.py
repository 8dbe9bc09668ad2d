"""A clip's frames as a folder of pictures: what `nstyle video FOLDER` reads, for the command-line scenarios."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import PIL.Image


def frames_folder(frames: Iterable[PIL.Image.Image], folder: Path, prefix: str = "f") -> Path:
    """Save ``frames`` as ``folder/{prefix}1.png``, ``{prefix}2.png``, ... (made here) and return the folder."""
    folder.mkdir(parents=True)
    for number, frame in enumerate(frames, start=1):
        frame.save(folder / f"{prefix}{number}.png")
    return folder
