"""Checking uploaded images before they are stored: byte, pixel and count limits, and a full decode (the
same checks as ``nstyle.io.images.decode_image``), each failure a one-line message with an HTTP status.

The upload's own file name is never used as a path: the stored name is made here from the decoded format.
"""

from __future__ import annotations

import contextlib
import io
import threading
import unicodedata
from collections.abc import Iterator
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
    max_decode_bytes: int = 2 * 2**30  # memory for decoding uploads at once, all requests together

    @property
    def max_request_bytes(self) -> int:
        """The content, every style and the form fields, whole."""
        return self.max_file_bytes * (self.max_styles + 1) + 2**20

    def public(self) -> dict:
        return {"max_file_bytes": self.max_file_bytes, "max_pixels": self.max_pixels,
                "max_styles": self.max_styles, "max_size": self.max_size, "max_iterations": self.max_iterations,
                "max_levels": self.max_levels, "max_style_scale": self.max_style_scale, "min_tile": self.min_tile,
                "max_decode_bytes": self.max_decode_bytes}


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


#: What checking an upload takes at its peak, per pixel of the picture its header declares (measured: a 12 MP
#: JPEG grew the process by 137 MB, 12.0 bytes a pixel).
DECODE_BYTES_PER_PIXEL = 12


class DecodeBudget:
    """Memory for decoding uploads, shared by every request of one server: admission by memory, not by count.

    Twelve concurrent 7000 x 7000 uploads took 6 GB when any number could decode at once. A request reserves
    what its pictures will take (from their headers, before decoding) and waits up to ``wait`` seconds for it;
    past that it is a 503 saying to try again. A picture larger than the whole budget is decoded alone."""

    def __init__(self, total: int, wait: float = 10.0) -> None:
        self.total, self.wait = total, wait
        self.held = 0
        self._free = threading.Condition()

    @contextlib.contextmanager
    def reserve(self, nbytes: int) -> Iterator[None]:
        nbytes = min(nbytes, self.total)
        with self._free:
            if not self._free.wait_for(lambda: self.held + nbytes <= self.total, timeout=self.wait):
                raise RequestProblem(503, f"the server is decoding other uploads ({self.held / 2**20:.0f} MB of "
                                          f"its {self.total / 2**20:.0f} MB for it in use); try again in a moment")
            self.held += nbytes
        try:
            yield
        finally:
            with self._free:
                self.held -= nbytes
                self._free.notify_all()


def decode_cost(data: bytes) -> int:
    """The memory checking ``data`` will take, from the size its header declares (0 when it has none: the
    decoder's own message comes next)."""
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:  # not an image: decode_image says so in its words
        return 0
    return DECODE_BYTES_PER_PIXEL * width * height + len(data)


def check_image(data: bytes, role: str, filename: str | None, limits: Limits,
                budget: DecodeBudget | None = None) -> tuple[InputImage, str]:
    """The upload as an ``InputImage`` under its server-made name (``ROLE.EXT``) and its display name; or a
    RequestProblem: 413 over the byte limit, 400 for anything that is not a readable image within the limits,
    503 when ``budget`` has no room for its decoding now."""
    shown = display_name(filename, role)
    if len(data) > limits.max_file_bytes:
        raise RequestProblem(413, f"{role} image {shown!r} is larger than the limit of "
                                  f"{limits.max_file_bytes / 2**20:.0f} MB; downscale it or save it as JPEG")
    if budget is None:
        return _checked(data, role, shown, limits)
    with budget.reserve(decode_cost(data)):
        return _checked(data, role, shown, limits)


def _checked(data: bytes, role: str, shown: str, limits: Limits) -> tuple[InputImage, str]:
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


def form_problem(detail: str, limits: Limits) -> RequestProblem:
    """The multipart parser's own refusal as a line that says what was wrong: too many files, too many fields, a
    field too large (a 4 MB options field was told to send fewer images), or a form that is not one."""
    detail = detail.rstrip(".")
    if detail.startswith("Too many files"):
        advice = f"send one content image and at most {limits.max_styles} style images"
    elif detail.startswith("Too many fields"):
        advice = "send the fields content, style, options and kind only"
    elif "exceeded maximum size" in detail:
        advice = "a form field other than an image is too large; options is a small JSON object, e.g. {\"size\": 256}"
        return RequestProblem(413, f"{detail}: {advice}")
    else:
        advice = "send multipart/form-data with the fields content, style, options and kind"
    return RequestProblem(400, f"{detail}: {advice}")
