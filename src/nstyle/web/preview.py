"""The page's instant preview: the content painted by the fast feed-forward network (``--method fast``) at one
small size, in the server process, nothing written to disk.

Why a separate path from jobs: a job is queued behind others and optimises for minutes; a preview must come back
in well under a second while the person moves a slider. The network is loaded once, on the first preview (a server
that never shows one never loads it). Previews are painted one at a time and the newest wins: a request still
waiting when a newer one arrives is answered as superseded without painting, so a burst of requests costs one
painting, and at most ``MAX_WAITING`` are held at once, the one painting included (more get a 503), whatever
the clients do.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import PIL.Image

from ..errors import NstyleError
from ..io.images import MAX_INPUT_PIXELS, decode_image
from .uploads import DecodeBudget, RequestProblem, decode_cost

#: The long side of a preview, in pixels: the page's picture frame shows it at up to 512 px.
PREVIEW_SIZE = 384
#: The options a preview takes; the rest shape only the full job's optimisation.
PREVIEW_OPTIONS = ("strength", "preserve_color", "style_blend")
#: Requests held at once (painting or waiting); more are refused (503) rather than held in memory.
MAX_WAITING = 4
#: A style is shrunk to this long side before its vector is predicted (the predictor sees short side 256 px).
STYLE_SIDE = 1024
JPEG_QUALITY = 90
#: Style vectors kept for pictures seen lately (content and styles of a few previews; 400 bytes each).
VECTORS_KEPT = 16


class Superseded(Exception):
    """A newer preview was asked for while this one waited; it was not painted."""


@dataclass(frozen=True)
class Preview:
    """A painted preview: the JPEG bytes, its size and the seconds the painting took (network and encoding)."""

    jpeg: bytes
    size: tuple[int, int]
    seconds: float


def shrunk(data: bytes, long_side: int, budget: DecodeBudget | None, name: str = "upload",
           max_pixels: int = MAX_INPUT_PIXELS) -> PIL.Image.Image:
    """An already checked upload decoded as a job decodes it (``decode_image``: EXIF orientation, transparency on
    white, CMYK, 16-bit grey), within the decoding memory budget, and shrunk to ``long_side`` at most: the
    preview never holds a full-size picture longer than this call."""
    def decode() -> PIL.Image.Image:
        picture = decode_image(data, name, max_pixels=max_pixels)
        picture.thumbnail((long_side, long_side), PIL.Image.Resampling.LANCZOS)
        return picture

    if budget is None:
        return decode()
    with budget.reserve(decode_cost(data)):
        return decode()


def remembering(painter, capacity: int = VECTORS_KEPT):
    """``painter`` (a ``FastPainter``) whose style vectors are kept for the last ``capacity`` pictures it saw,
    keyed by their pixels: moving the strength slider repaints with the transformer alone, since neither the
    styles' vectors nor the content's own one change (about half a preview's time otherwise). Used under the
    PreviewPainter's lock only."""
    import torch

    from ..core.feedforward import FastPainter

    class Remembering(FastPainter):
        def __init__(self, network, device) -> None:
            super().__init__(network, device)
            self.kept: OrderedDict[bytes, torch.Tensor] = OrderedDict()

        def style_vectors(self, images):
            keys = [hashlib.blake2b(f"{im.mode}{im.size}".encode() + im.tobytes(), digest_size=16).digest()
                    for im in images]
            missing = [i for i, key in enumerate(keys) if key not in self.kept]
            if missing:
                for i, vector in zip(missing, super().style_vectors([images[i] for i in missing])):
                    self.kept[keys[i]] = vector
            for key in keys:
                self.kept.move_to_end(key)
            while len(self.kept) > capacity:
                self.kept.popitem(last=False)
            return torch.stack([self.kept[key] for key in keys])

    return Remembering(painter.network, painter.device)


class PreviewPainter:
    """The fast network, loaded on first use, painting one preview at a time, the newest request first."""

    def __init__(self, size: int = PREVIEW_SIZE, device: str = "cpu") -> None:
        self.size, self.device = size, device
        self._painting = threading.Lock()
        self._tickets = threading.Lock()
        self._latest = 0
        self._waiting = 0
        self._painter = None

    def _load(self):
        if self._painter is None:
            from ..core.feedforward import FastPainter

            self._painter = remembering(FastPainter.load(self.device))
        return self._painter

    def paint(self, content: PIL.Image.Image, styles: list[PIL.Image.Image], blend: list[float] | None,
              strength: float | None, preserve_color: str | None) -> Preview:
        """The preview, or Superseded when a newer request came while this one waited; RequestProblem 503 when
        too many wait already or the network cannot be loaded."""
        with self._tickets:
            if self._waiting >= MAX_WAITING:
                raise RequestProblem(503, f"{MAX_WAITING} previews are waiting already; try again in a moment")
            self._waiting += 1
            self._latest += 1
            ticket = self._latest
        try:
            with self._painting:
                if ticket != self._latest:
                    raise Superseded()
                start = time.perf_counter()
                try:
                    painter = self._load()
                except NstyleError as err:  # weights missing and not fetchable: the server's problem, said once
                    raise RequestProblem(503, f"the preview network cannot be loaded: {err}") from None
                image = painter.stylise(content, styles, size=self.size, blend=blend, strength=strength,
                                        preserve_color=preserve_color)
                out = io.BytesIO()
                image.save(out, "JPEG", quality=JPEG_QUALITY)
                return Preview(out.getvalue(), image.size, time.perf_counter() - start)
        finally:
            with self._tickets:
                self._waiting -= 1
