"""Checking uploaded images before they are stored: byte, pixel and count limits, and a full decode (the
same checks as ``nstyle.io.images.decode_image``), each failure a one-line message with an HTTP status.

The upload's own file name is never used as a path: the stored name is made here from the decoded format.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass

import PIL.Image

from ..errors import ImageError
from ..io.images import decode_image
from ..jobs.spec import InputImage

#: The stored file's extension for each format Pillow reports; other formats are stored as PNG.
EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tiff", "WEBP": ".webp"}


@dataclass(frozen=True)
class Limits:
    """What one request may carry and ask for."""

    max_file_bytes: int = 20 * 2**20
    max_pixels: int = 50_000_000
    max_styles: int = 4
    max_size: int = 1024  # long side of the output
    max_iterations: int = 2000
    max_levels: int = 6
    max_style_scale: float = 2.0  # at 1024 px, a 2048 px style: its features take about 2 GB
    min_tile: int = 512  # smaller tiles multiply the work (a 1024 px image in 256 px tiles: 25 of them)

    @property
    def max_request_bytes(self) -> int:
        """The content, every style and the form fields, whole."""
        return self.max_file_bytes * (self.max_styles + 1) + 2**20

    def public(self) -> dict:
        return {"max_file_bytes": self.max_file_bytes, "max_pixels": self.max_pixels,
                "max_styles": self.max_styles, "max_size": self.max_size, "max_iterations": self.max_iterations,
                "max_levels": self.max_levels, "max_style_scale": self.max_style_scale, "min_tile": self.min_tile}


class RequestProblem(Exception):
    """A request the server refuses, with the status and the one-line message the page shows."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def display_name(filename: str | None, fallback: str) -> str:
    """The upload's name for messages and the gallery: the last path part, printable, at most 80 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] not in "CZ" or c == " ").strip()
    return name[:80] or fallback


def check_image(data: bytes, role: str, filename: str | None, limits: Limits) -> tuple[InputImage, str]:
    """The upload as an ``InputImage`` under its server-made name (``ROLE.EXT``) and its display name; or a
    RequestProblem: 413 over the byte limit, 400 for anything that is not a readable image within the limits."""
    shown = display_name(filename, role)
    if len(data) > limits.max_file_bytes:
        raise RequestProblem(413, f"{role} image {shown!r} is larger than the limit of "
                                  f"{limits.max_file_bytes / 2**20:.0f} MB; downscale it or save it as JPEG")
    try:
        decode_image(data, shown, max_pixels=limits.max_pixels)
        with PIL.Image.open(io.BytesIO(data)) as image:
            fmt = image.format
    except ImageError as err:
        raise RequestProblem(400, f"{role} image: {err}") from None
    if fmt not in EXTENSIONS:  # readable, but kept as PNG so browsers can show it
        from ..jobs.spec import encode_png

        data, fmt = encode_png(decode_image(data, shown, max_pixels=limits.max_pixels)), "PNG"
    return InputImage(f"{role}{EXTENSIONS[fmt]}", data), shown
