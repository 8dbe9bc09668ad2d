"""Reading, converting, resizing and writing images.

Style transfer runs can take minutes, so inputs are fully decoded and validated up front
(corrupt, truncated or enormous files fail with one clear :class:`ImageError`), and outputs are
checked before the run and written atomically, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import io
import os
import pathlib
import re
import struct
import tempfile
import warnings
import zlib

import numpy as np
import torch
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from nstyle.errors import ImageError, WriteError
from nstyle.io.atomic import replacing
from nstyle.io.paths import output_folder  # noqa: F401 (moved to paths; imported from here too)

#: Larger inputs are refused as possible decompression bombs (a tiny file can claim huge sizes).
MAX_INPUT_PIXELS = 100_000_000

#: Output formats chosen by file extension.
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}

# Exceptions Pillow's decoders raise for malformed data (beyond OSError).
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, struct.error, zlib.error)
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WIDE_GRAY_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def _one_line(text: object) -> str:
    """Collapse whitespace so an embedded library message cannot break the one-line rule."""
    return " ".join(str(text).split())


def _too_large(name: str, detail: str, max_pixels: int) -> ImageError:
    return ImageError(
        f"cannot read {name}: the image is {detail}, more than the limit of {max_pixels:,} pixels "
        "(possible decompression bomb); downscale it first"
    )


def load_image(path: str | os.PathLike, max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """Read an image file as a fully decoded 8-bit RGB image, or raise a one-line ImageError.

    Decoding happens here (not lazily later) so that broken files fail before a long run starts.
    """
    return _decode(path, checked_image_path(path), max_pixels)


def checked_image_path(path: str | os.PathLike) -> str:
    """The path as messages show it, or a one-line ImageError if it is missing, a directory or empty."""
    name = repr(os.fspath(path))
    if not os.path.exists(path):
        raise ImageError(f"cannot read {name}: the file does not exist; check the path and spelling")
    if os.path.isdir(path):
        raise ImageError(f"cannot read {name}: it is a directory, not an image file; pass an image file")
    if os.path.getsize(path) == 0:
        raise ImageError(f"cannot read {name}: the file is empty (0 bytes); re-export or re-download it")
    return name


def decode_image(data: bytes, name: str, max_pixels: int = MAX_INPUT_PIXELS) -> Image.Image:
    """``load_image`` for a file already in memory (an upload, a job sent to another machine)."""
    if not data:
        raise ImageError(f"cannot read {name!r}: the file is empty (0 bytes); re-export or re-download it")
    return _decode(io.BytesIO(data), repr(name), max_pixels)


def _decode(source, name: str, max_pixels: int) -> Image.Image:
    try:
        # Our own size check below is the real guard; Pillow's warning would only duplicate it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as img:
                width, height = img.size
                if width <= 0 or height <= 0:
                    raise ImageError(
                        f"cannot read {name}: the image has zero width or height ({width}x{height}); "
                        "use a non-empty image"
                    )
                if width * height > max_pixels:  # checked from the header, before decoding pixels
                    raise _too_large(name, f"{width}x{height} = {width * height:,} pixels", max_pixels)
                img.load()  # first frame only for GIF/TIFF; raises here on truncated data
                img = _apply_exif_orientation(img)
                return _to_rgb(img, name)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:  # Pillow's own guard fired inside open()
        found = re.search(r"\((\d+) pixels\)", str(exc))
        detail = f"{int(found.group(1)):,} pixels" if found else "too large"
        raise _too_large(name, detail, max_pixels) from exc
    except PermissionError as exc:
        raise ImageError(
            f"cannot read {name}: permission denied; fix the file's permissions or copy it somewhere readable"
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            f"cannot read {name}: not a recognised image format, or the file is corrupt; re-export it as PNG or JPEG"
        ) from exc
    except _DECODE_ERRORS as exc:
        if isinstance(exc, OSError) and exc.errno is not None:  # an operating-system error, not bad data
            reason = _one_line(exc.strerror or exc)
            raise ImageError(f"cannot read {name}: {reason}; check the file and try again") from exc
        what = "truncated" if "truncated" in str(exc) else f"corrupt ({_one_line(exc)})"
        raise ImageError(f"cannot read {name}: the file is {what}; re-export or re-download it") from exc


def as_image(value: str | os.PathLike | Image.Image) -> Image.Image:
    """An RGB image from a path (read safely with ``load_image``) or from an image already in memory."""
    return value.convert("RGB") if isinstance(value, Image.Image) else load_image(value)


def _apply_exif_orientation(img: Image.Image) -> Image.Image:
    """Rotate/flip as the camera's EXIF tag says; unreadable EXIF is ignored, not fatal."""
    try:
        return ImageOps.exif_transpose(img) or img
    except Exception:  # noqa: BLE001 - malformed EXIF must not make a good image unreadable
        return img


def _to_rgb(img: Image.Image, name: str) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB, keeping what the image is meant to look like."""
    if img.mode in _WIDE_GRAY_MODES:
        img = _wide_gray_to_l(img)
    if img.mode == "CMYK":
        return _cmyk_to_rgb(img)
    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")  # premultiplied and palette transparency are resolved here
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    try:
        return img.convert("RGB")
    except ValueError as exc:
        raise ImageError(f"cannot read {name}: unsupported color mode {img.mode!r}; convert it to RGB first") from exc


def _wide_gray_to_l(img: Image.Image) -> Image.Image:
    """Scale 16/32-bit gray to 0..255 (Pillow's own convert clips, turning 16-bit images white)."""
    arr = np.asarray(img, dtype=np.float64)
    finite = arr[np.isfinite(arr)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if img.mode.startswith("I;16"):
        lo, hi = 0.0, 65535.0
    elif img.mode == "F" and lo >= 0.0 and hi <= 1.0:
        lo, hi = 0.0, 1.0  # the usual convention for floating-point images
    elif lo >= 0.0 and hi <= 65535.0:
        lo, hi = 0.0, 65535.0  # a 16-bit image stored in a wider type
    scale = 255.0 / (hi - lo) if hi > lo else 0.0
    out = np.nan_to_num((arr - lo) * scale, nan=0.0, posinf=255.0, neginf=0.0)
    return Image.fromarray(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def _cmyk_to_rgb(img: Image.Image) -> Image.Image:
    """Use the embedded ICC profile when it works: plain conversion shifts print colors."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
            if converted is not None:
                return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass
    return img.convert("RGB")


def one_or_many(value) -> list:
    """``value`` as a list: one image (a path or an image) becomes a list of one, a sequence a list."""
    if isinstance(value, (str, os.PathLike, Image.Image)):
        return [value]
    return list(value)


def image_to_tensor(
    img: Image.Image, device: torch.device | str | None = None, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Turn an image into a [1, 3, H, W] tensor with values in 0..1, the layout the models expect."""
    arr = np.array(img if img.mode == "RGB" else img.convert("RGB"), dtype=np.uint8)
    t = torch.from_numpy(arr).permute(2, 0, 1).unsqueeze(0)
    return t.to(device=device, dtype=dtype).div_(255.0)


def tensor_to_image(t: torch.Tensor) -> Image.Image:
    """Turn a [1, 3, H, W] or [3, H, W] tensor (0..1) into an RGB image; out-of-range values clip."""
    if t.dim() == 4 and t.shape[0] == 1:
        t = t[0]
    if t.dim() != 3 or t.shape[0] != 3:
        raise ValueError(f"expected a tensor of shape [1, 3, H, W] or [3, H, W], got {list(t.shape)}")
    t = torch.nan_to_num(t.detach().to("cpu", torch.float32), nan=0.0).clamp(0.0, 1.0)
    arr = t.mul(255.0).round().to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    return Image.fromarray(arr)


def resize_to_long_side(img: Image.Image, size: int) -> Image.Image:
    """Resize so the longer side is ``size`` pixels, keeping the aspect ratio."""
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    width, height = img.size
    scale = size / max(width, height)
    new = (size, max(1, round(height * scale))) if width >= height else (max(1, round(width * scale)), size)
    return img.resize(new, Image.Resampling.LANCZOS)


def resize_to_height(img: Image.Image, height: int) -> Image.Image:
    """Resize to ``height`` pixels tall, keeping the aspect ratio (the Keras-paper mode uses 400)."""
    if height < 1:
        raise ValueError(f"height must be at least 1, got {height}")
    width = max(1, round(img.width * height / img.height))
    return img.resize((width, height), Image.Resampling.LANCZOS)


def check_output_path(path: str | os.PathLike) -> pathlib.Path:
    """Validate where the result will go *before* a long run, so it is not lost at the end."""
    name = repr(os.fspath(path))
    given = pathlib.Path(path).expanduser()
    target = given.parent.resolve() / given.name  # a link at the name itself is replaced, not followed (io.atomic)
    if target.suffix.lower() not in SAVE_FORMATS:
        allowed = ", ".join(SAVE_FORMATS)
        raise ImageError(f"cannot save to {name}: unknown image extension; use one of {allowed}")
    if target.is_dir() and not target.is_symlink():
        raise ImageError(f"cannot save to {name}: it is an existing directory; give a file name")
    parent = target.parent
    if not parent.is_dir():
        blocking = next((p for p in parent.parents if p.exists()), None) if not parent.exists() else parent
        if blocking is not None and blocking.exists() and not blocking.is_dir():
            raise ImageError(f"cannot save to {name}: '{blocking}' is a file, not a directory; give another path")
        raise ImageError(f"cannot save to {name}: directory '{parent}' does not exist; create it first")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=".nstyle-write-test-"):
            pass
    except OSError as exc:
        raise ImageError(
            f"cannot save to {name}: directory '{parent}' is not writable ({_one_line(exc.strerror or exc)}); "
            "choose another location or fix its permissions"
        ) from exc
    return target


def save_image(img: Image.Image | torch.Tensor, path: str | os.PathLike, quality: int = 95) -> pathlib.Path:
    """Write an image atomically (temp file + rename): a crash never leaves a partial or clobbered file."""
    target = check_output_path(path)
    fmt = SAVE_FORMATS[target.suffix.lower()]
    if fmt == "JPEG" and not 1 <= quality <= 100:
        raise ImageError(f"cannot save to {os.fspath(path)!r}: JPEG quality must be 1..100, got {quality}")
    if isinstance(img, torch.Tensor):
        img = tensor_to_image(img)
    options: dict[str, object] = {}
    if fmt == "JPEG":
        img = img if img.mode == "RGB" else img.convert("RGB")
        options["quality"] = quality
    try:
        with replacing(target) as tmp, open(tmp, "wb") as f:
            img.save(f, format=fmt, **options)
    except WriteError:  # its own line: the file, why and what to do
        raise
    except Exception as exc:  # KeyboardInterrupt etc. pass through (replacing has cleaned up)
        raise ImageError(
            f"cannot save to {os.fspath(path)!r}: {_one_line(exc)}; check free disk space and permissions"
        ) from exc
    return target


