"""Tests for nstyle.io.images: robust loading, conversions, resizing and atomic saving."""

from __future__ import annotations

import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nstyle.errors import ImageError, UsageError
from nstyle.io.images import (
    MAX_INPUT_PIXELS,
    SAVE_FORMATS,
    check_output_path,
    image_to_tensor,
    load_image,
    resize_to_height,
    resize_to_long_side,
    save_image,
    tensor_to_image,
)

# ---------------------------------------------------------------- helpers


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_raw_png(path: Path, width: int, height: int, bit_depth: int, color_type: int, rows: bytes | None) -> Path:
    """Write a PNG by hand (stdlib only): lets tests claim any header size or use 16-bit RGB."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = _png_chunk(b"IDAT", zlib.compress(rows)) if rows is not None else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + idat + _png_chunk(b"IEND", b""))
    return path


def noise_rgb(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def assert_image_error(exc_info: pytest.ExceptionInfo, path: Path, *words: str) -> str:
    message = str(exc_info.value)
    assert "\n" not in message, message
    assert path.name in message, message
    for word in words:
        assert word in message.lower(), message
    assert isinstance(exc_info.value, UsageError) and exc_info.value.exit_code == 2
    return message


# ---------------------------------------------------------------- load_image: good inputs


def test_constants():
    assert MAX_INPUT_PIXELS == 100_000_000
    assert SAVE_FORMATS == {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}


def test_load_rgb_png_is_exact_and_fully_decoded(tmp_path):
    arr = noise_rgb()
    path = tmp_path / "a.png"
    Image.fromarray(arr).save(path)
    img = load_image(path)
    assert img.mode == "RGB" and img.size == (64, 48)
    path.unlink()  # fully decoded: no lazy reads from the file afterwards
    np.testing.assert_array_equal(np.asarray(img), arr)


def test_load_accepts_str_path(tmp_path):
    path = tmp_path / "s.png"
    Image.new("RGB", (3, 2), (1, 2, 3)).save(path)
    assert load_image(str(path)).getpixel((0, 0)) == (1, 2, 3)


def test_grayscale_l_gives_three_equal_channels(tmp_path):
    gray = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (5, 1))
    path = tmp_path / "gray.png"
    Image.fromarray(gray).save(path)
    out = np.asarray(load_image(path))
    assert out.shape == (5, 64, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], gray)


def test_bilevel_mode_1(tmp_path):
    img = Image.new("1", (4, 4), 0)
    img.putpixel((1, 1), 1)
    path = tmp_path / "bw.png"
    img.save(path)
    out = load_image(path)
    assert out.getpixel((1, 1)) == (255, 255, 255) and out.getpixel((0, 0)) == (0, 0, 0)


def test_rgba_transparent_region_becomes_white(tmp_path):
    arr = np.zeros((10, 10, 4), dtype=np.uint8)
    arr[..., 0] = 200  # red-ish everywhere
    arr[:, :5, 3] = 255  # left half opaque
    arr[:, 5:, 3] = 0  # right half fully transparent
    path = tmp_path / "rgba.png"
    Image.fromarray(arr, "RGBA").save(path)
    out = np.asarray(load_image(path))
    assert (out[:, :5] == (200, 0, 0)).all()
    assert (out[:, 5:] == 255).all()


def test_half_transparent_pixel_is_blended_with_white(tmp_path):
    path = tmp_path / "half.png"
    Image.new("RGBA", (2, 2), (0, 0, 0, 128)).save(path)
    r, g, b = load_image(path).getpixel((0, 0))
    assert r == g == b and 120 <= r <= 135


def test_la_transparent_becomes_white(tmp_path):
    img = Image.new("LA", (4, 2), (50, 255))
    for y in range(2):
        img.putpixel((3, y), (50, 0))
    path = tmp_path / "la.png"
    img.save(path)
    out = load_image(path)
    assert out.getpixel((0, 0)) == (50, 50, 50)
    assert out.getpixel((3, 1)) == (255, 255, 255)


def test_palette_with_transparency_becomes_white(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 255, 0, 255, 0] + [0] * (256 * 3 - 6))
    img.putpixel((0, 0), 1)
    path = tmp_path / "p.png"
    img.save(path, transparency=0)  # index 0 (blue) is transparent
    assert Image.open(path).mode == "P"
    out = load_image(path)
    assert out.getpixel((0, 0)) == (0, 255, 0)
    assert out.getpixel((2, 2)) == (255, 255, 255)


def test_palette_without_transparency(tmp_path):
    img = Image.new("P", (2, 2), 1)
    img.putpalette([0, 0, 0, 10, 20, 30] + [0] * (256 * 3 - 6))
    path = tmp_path / "p.gif"
    img.save(path)
    assert load_image(path).getpixel((1, 1)) == (10, 20, 30)


def test_cmyk_jpeg_converted_to_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(path, quality=100)  # pure red ink
    assert Image.open(path).mode == "CMYK"
    out = load_image(path)
    assert out.mode == "RGB"
    r, g, b = out.getpixel((8, 8))
    assert r > 200 and g < 60 and b < 60


def test_cmyk_with_broken_icc_profile_falls_back(tmp_path):
    path = tmp_path / "cmyk_icc.jpg"
    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(path, icc_profile=b"not a real profile" * 10)
    assert load_image(path).getpixel((4, 4)) == (255, 255, 255)


def test_cmyk_uses_embedded_icc_profile_when_it_works(tmp_path, monkeypatch):
    # No CMYK profile ships with Pillow, so stand in for LittleCMS and check the profile is used.
    from PIL import ImageCms

    path = tmp_path / "cmyk_icc_ok.jpg"
    Image.new("CMYK", (8, 8), (0, 0, 0, 0)).save(path, icc_profile=b"fake profile bytes")
    seen = {}

    def fake_profile(source):
        seen["icc"] = source.read()
        return "profile"

    monkeypatch.setattr(ImageCms, "ImageCmsProfile", fake_profile)
    monkeypatch.setattr(ImageCms, "profileToProfile", lambda im, *a, **k: Image.new("RGB", im.size, (1, 2, 3)))
    assert load_image(path).getpixel((0, 0)) == (1, 2, 3)
    assert seen["icc"] == b"fake profile bytes"


def test_16bit_gray_png_gradient_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)
    path = tmp_path / "g16.png"
    Image.fromarray(np.tile(ramp, (4, 1))).save(path)
    assert Image.open(path).mode == "I;16"
    out = np.asarray(load_image(path))[0, :, 0].astype(int)
    assert out[0] <= 1 and out[-1] >= 254
    assert (np.diff(out) >= 0).all()  # monotone
    assert len(np.unique(out)) > 200  # a real gradient, not clipped to white
    np.testing.assert_allclose(out, ramp / 257.0, atol=1)


@pytest.mark.parametrize("mode", ["I;16B", "I", "F"])
def test_wide_gray_tiff_modes(tmp_path, mode):
    ramp = np.tile(np.linspace(0, 65535, 64).round(), (2, 1))
    if mode == "I;16B":
        img = Image.frombytes("I;16B", (64, 2), ramp.astype(">u2").tobytes())
    else:
        img = Image.fromarray(ramp.astype(np.float32), "F").convert(mode)
    path = tmp_path / f"wide_{mode.replace(';', '')}.tif"
    img.save(path)
    assert Image.open(path).mode == mode
    out = np.asarray(load_image(path))[0, :, 0].astype(int)
    np.testing.assert_allclose(out, ramp[0] / 257.0, atol=1)


def test_float_image_in_unit_range_and_out_of_range(tmp_path):
    unit = Image.fromarray(np.tile(np.linspace(0, 1, 11, dtype=np.float32), (2, 1)), "F")
    unit.save(tmp_path / "unit.tif")
    out = np.asarray(load_image(tmp_path / "unit.tif"))[0, :, 0].astype(int)
    np.testing.assert_allclose(out, np.linspace(0, 255, 11), atol=1)

    wild = Image.fromarray(np.tile(np.linspace(-5, 1e6, 11, dtype=np.float32), (2, 1)), "F")
    wild.save(tmp_path / "wild.tif")
    out = np.asarray(load_image(tmp_path / "wild.tif"))[0, :, 0].astype(int)
    assert out[0] == 0 and out[-1] == 255 and (np.diff(out) > 0).all()  # min/max stretched


def _rgb16_ramp() -> np.ndarray:
    ramp = np.linspace(0, 65535, 64).round().astype(np.uint16)
    row = np.stack([ramp, ramp // 2, 65535 - ramp], axis=-1)
    return np.tile(row, (4, 1, 1))


def _check_rgb16_result(img: Image.Image, rgb16: np.ndarray) -> None:
    out = np.asarray(img).astype(int)
    assert img.mode == "RGB" and out.shape == rgb16.shape
    assert 0 < out.mean() < 255  # neither all black nor all white
    np.testing.assert_allclose(out, rgb16 / 257.0, atol=1.01)


def test_16bit_rgb_png(tmp_path):
    # No installed library writes 16-bit RGB PNGs from numpy (imageio's Pillow plugin refuses),
    # so the PNG is written by hand with zlib: colour type 2, bit depth 16, big-endian samples.
    rgb16 = _rgb16_ramp()
    rows = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in rgb16)
    path = write_raw_png(tmp_path / "rgb16.png", rgb16.shape[1], rgb16.shape[0], 16, 2, rows)
    _check_rgb16_result(load_image(path), rgb16)


def test_16bit_rgb_tiff(tmp_path):
    tifffile = pytest.importorskip("tifffile", reason="tifffile is needed to write a 16-bit RGB TIFF")
    rgb16 = _rgb16_ramp()
    path = tmp_path / "rgb16.tif"
    tifffile.imwrite(path, rgb16, photometric="rgb")
    _check_rgb16_result(load_image(path), rgb16)


def test_exif_orientation_is_applied(tmp_path):
    arr = np.zeros((20, 40, 3), dtype=np.uint8)  # 40 wide, 20 tall
    arr[:, :20] = (255, 0, 0)  # left half red
    arr[:, 20:] = (0, 0, 255)  # right half blue
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif, quality=100)
    out = load_image(path)
    assert out.size == (20, 40)  # transposed
    # rotating clockwise moves the stored left (red) half to the top
    top, bottom = out.getpixel((10, 5)), out.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60


def test_multiframe_gif_takes_first_frame(tmp_path):
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    frames = [Image.new("RGB", (8, 6), c) for c in colours]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    assert Image.open(path).n_frames == 3
    out = load_image(path)
    assert out.size == (8, 6) and out.getpixel((3, 3)) == (255, 0, 0)


def test_multipage_tiff_takes_first_page(tmp_path):
    pages = [Image.new("RGB", (5, 5), (10, 20, 30)), Image.new("RGB", (7, 7), (200, 200, 200))]
    path = tmp_path / "pages.tif"
    pages[0].save(path, save_all=True, append_images=pages[1:])
    out = load_image(path)
    assert out.size == (5, 5) and out.getpixel((0, 0)) == (10, 20, 30)


# ---------------------------------------------------------------- load_image: bad inputs


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "does not exist")


def test_directory(tmp_path):
    path = tmp_path / "folder.png"
    path.mkdir()
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "directory")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "empty")


def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.png"
    Image.new("RGB", (2, 2)).save(path)
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("file permissions are not enforced here (running as root?)")
        with pytest.raises(ImageError) as exc_info:
            load_image(path)
        assert_image_error(exc_info, path, "permission")
    finally:
        path.chmod(0o600)


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels\n" * 10)
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "not a recognised image")


def test_random_bytes_with_png_name(tmp_path):
    path = tmp_path / "random.png"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "not a recognised image", "re-export")


def test_corrupt_png_body(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray(noise_rgb()).save(good)
    data = bytearray(good.read_bytes())
    data[60:400] = np.random.default_rng(2).integers(0, 256, 340, dtype=np.uint8).tobytes()
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "re-export")


@pytest.mark.parametrize("suffix,fmt", [(".png", "PNG"), (".jpg", "JPEG")])
def test_truncated_file(tmp_path, suffix, fmt):
    good = tmp_path / f"good{suffix}"
    Image.fromarray(noise_rgb(96, 128)).save(good, format=fmt)
    path = tmp_path / f"half{suffix}"
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "truncated", "re-download")


def test_zero_width_png(tmp_path):
    path = write_raw_png(tmp_path / "zero.png", 0, 5, 8, 2, b"")  # Pillow itself refuses this header
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "re-export")


def test_zero_height_image_from_decoder(tmp_path, monkeypatch):
    # Pillow's bundled decoders reject 0-sized headers, but a plugin might not: our own check must catch it.
    path = tmp_path / "flat.png"
    Image.new("RGB", (2, 2)).save(path)
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: Image.new("RGB", (5, 0)))
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "zero width or height", "5x0")


def test_max_pixels_refuses_normal_image(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (100, 50)).save(path)
    with pytest.raises(ImageError) as exc_info:
        load_image(path, max_pixels=4999)
    message = assert_image_error(exc_info, path, "100x50", "downscale")
    assert "4,999" in message
    assert load_image(path, max_pixels=5000).size == (100, 50)


def test_bomb_header_refused_before_decoding(tmp_path):
    # 12000 x 10000 = 120 M pixels: over our limit but under Pillow's own error threshold.
    # There is no pixel data at all, so decoding would fail with "truncated": the size check must come first.
    path = write_raw_png(tmp_path / "bomb.png", 12_000, 10_000, 8, 2, None)
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "12000x10000", "decompression bomb", "downscale")


def test_huge_bomb_caught_from_pillow_guard(tmp_path):
    # 100000 x 100000 makes Pillow raise DecompressionBombError inside Image.open itself.
    path = write_raw_png(tmp_path / "huge.png", 100_000, 100_000, 8, 2, zlib.compress(b"\x00" * 64))
    with pytest.raises(ImageError) as exc_info:
        load_image(path)
    assert_image_error(exc_info, path, "10,000,000,000 pixels", "decompression bomb", "downscale")


# ---------------------------------------------------------------- tensors and resizing


def test_tensor_round_trip_exact():
    arr = noise_rgb(17, 23, seed=3)
    img = Image.fromarray(arr)
    t = image_to_tensor(img)
    assert t.shape == (1, 3, 17, 23) and t.dtype == torch.float32
    assert 0.0 <= float(t.min()) and float(t.max()) <= 1.0
    np.testing.assert_array_equal(np.asarray(tensor_to_image(t)), arr)
    np.testing.assert_array_equal(np.asarray(tensor_to_image(t[0])), arr)


def test_image_to_tensor_dtype_and_values():
    t = image_to_tensor(Image.new("RGB", (2, 1), (255, 0, 51)), dtype=torch.float64)
    assert t.dtype == torch.float64
    assert t[0, :, 0, 0].tolist() == [1.0, 0.0, 0.2]


def test_tensor_to_image_clamps_and_rounds():
    t = torch.tensor([-0.5, 1.7, 0.5 / 255 + 1e-4, 0.4 / 255, float("nan")]).view(1, 1, 5).repeat(3, 1, 1)
    out = np.asarray(tensor_to_image(t))[0, :, 0].tolist()
    assert out == [0, 255, 1, 0, 0]  # 0.4/255 rounds down, just over 0.5/255 rounds up (not truncated)


def test_tensor_to_image_rejects_bad_shape():
    with pytest.raises(ValueError):
        tensor_to_image(torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError):
        tensor_to_image(torch.zeros(2, 3, 2, 2))


@pytest.mark.parametrize(
    "size_in,long_side,expected",
    [((400, 300), 200, (200, 150)), ((300, 400), 200, (150, 200)), ((1000, 3), 100, (100, 1)),
     ((10, 10), 25, (25, 25))],
)
def test_resize_to_long_side(size_in, long_side, expected):
    out = resize_to_long_side(Image.new("RGB", size_in), long_side)
    assert out.size == expected


def test_resize_to_height():
    assert resize_to_height(Image.new("RGB", (600, 300)), 400).size == (800, 400)
    assert resize_to_height(Image.new("RGB", (2, 1000)), 400).size == (1, 400)
    with pytest.raises(ValueError):
        resize_to_height(Image.new("RGB", (2, 2)), 0)


# ---------------------------------------------------------------- check_output_path / save_image


def test_save_png_round_trip_exact(tmp_path):
    arr = noise_rgb(seed=4)
    result = save_image(Image.fromarray(arr), tmp_path / "out.png")
    assert result == (tmp_path / "out.png").resolve()
    with Image.open(result) as img:
        assert img.format == "PNG"
        np.testing.assert_array_equal(np.asarray(img), arr)
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temp or probe files left


def test_saved_file_has_normal_permissions(tmp_path):
    path = save_image(Image.new("RGB", (2, 2)), tmp_path / "perm.png")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("name", ["out.jpg", "OUT.JPEG"])
def test_save_jpeg_by_extension(tmp_path, name):
    img = Image.new("RGBA", (16, 16), (200, 100, 50, 255))  # JPEG path must convert to RGB
    path = save_image(img, tmp_path / name, quality=90)
    with Image.open(path) as reopened:
        assert reopened.format == "JPEG" and reopened.mode == "RGB"
        r, g, b = reopened.getpixel((8, 8))
        assert abs(r - 200) < 8 and abs(g - 100) < 8 and abs(b - 50) < 8


def test_save_tensor(tmp_path):
    t = torch.zeros(1, 3, 4, 5)
    t[:, 0] = 1.0
    path = save_image(t, tmp_path / "t.png")
    with Image.open(path) as img:
        assert img.size == (5, 4) and img.getpixel((0, 0)) == (255, 0, 0)


def test_save_overwrites_existing_file(tmp_path):
    path = tmp_path / "x.png"
    save_image(Image.new("RGB", (2, 2), (1, 1, 1)), path)
    save_image(Image.new("RGB", (3, 3), (9, 9, 9)), path)
    with Image.open(path) as img:
        assert img.size == (3, 3)


def test_unknown_extension(tmp_path):
    path = tmp_path / "out.bmp"
    with pytest.raises(ImageError) as exc_info:
        check_output_path(path)
    message = assert_image_error(exc_info, path)
    for ext in SAVE_FORMATS:
        assert ext in message
    with pytest.raises(ImageError):
        save_image(Image.new("RGB", (1, 1)), tmp_path / "noext")
    assert not (tmp_path / "out.bmp").exists()


def test_missing_directory(tmp_path):
    path = tmp_path / "not_there" / "out.png"
    with pytest.raises(ImageError) as exc_info:
        save_image(Image.new("RGB", (1, 1)), path)
    message = assert_image_error(exc_info, path, "does not exist", "create it first")
    assert "not_there" in message


def test_output_path_is_a_directory(tmp_path):
    path = tmp_path / "dir.png"
    path.mkdir()
    with pytest.raises(ImageError) as exc_info:
        check_output_path(path)
    assert_image_error(exc_info, path, "directory")


def test_check_output_path_returns_resolved_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_output_path("rel.jpg") == tmp_path.resolve() / "rel.jpg"
    assert list(tmp_path.iterdir()) == []  # the writability probe cleans up after itself


def test_unwritable_directory(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("directory permissions are not enforced here (running as root?)")
        path = locked / "out.png"
        with pytest.raises(ImageError) as exc_info:
            check_output_path(path)
        assert_image_error(exc_info, path, "not writable")
    finally:
        locked.chmod(0o700)


def test_bad_jpeg_quality(tmp_path):
    path = tmp_path / "q.jpg"
    with pytest.raises(ImageError) as exc_info:
        save_image(Image.new("RGB", (1, 1)), path, quality=0)
    assert_image_error(exc_info, path, "quality")


def test_failed_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "result.png"
    Image.new("RGB", (4, 4), (7, 8, 9)).save(path)
    before = path.read_bytes()

    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial data")  # half-written output ...
        raise OSError("No space left on device\n(simulated)")  # ... then the disk fills up

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageError) as exc_info:
        save_image(Image.new("RGB", (4, 4), (255, 0, 0)), path)
    assert_image_error(exc_info, path, "no space left")
    assert path.read_bytes() == before  # the good file was not clobbered
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.png"]  # no .tmp left behind


def test_failed_save_of_new_file_leaves_nothing(tmp_path, monkeypatch):
    def broken_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise ValueError("encoder exploded")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(ImageError):
        save_image(Image.new("RGB", (4, 4)), tmp_path / "new.jpg")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_save_cleans_up_and_reraises(tmp_path, monkeypatch):
    def interrupted_save(self, fp, *args, **kwargs):
        fp.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C is not turned into an ImageError
        save_image(Image.new("RGB", (4, 4)), tmp_path / "stop.png")
    assert list(tmp_path.iterdir()) == []
