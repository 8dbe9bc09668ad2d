"""The one way inputs are hashed: a file's bytes, or an in-memory image's mode, size and pixels."""

import hashlib

from PIL import Image

from nstyle.io.fingerprint import bytes_digest, file_digest, input_digest, pixels_digest


def test_a_file_is_its_bytes_and_an_image_in_memory_its_pixels(tmp_path):
    path = tmp_path / "a.png"
    Image.new("RGB", (4, 3), "red").save(path)
    assert file_digest(path) == input_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    assert bytes_digest(path.read_bytes()) == file_digest(path)
    red = Image.new("RGB", (4, 3), "red")
    assert input_digest(red) == pixels_digest(red) == pixels_digest(Image.open(path).convert("RGB"))
    assert pixels_digest(red) != pixels_digest(Image.new("RGB", (3, 4), "red")), "the size counts"
    assert pixels_digest(red) != pixels_digest(red.convert("RGBA")), "the mode counts"
    Image.new("RGB", (4, 3), "blue").save(path)
    assert file_digest(path) == hashlib.sha256(path.read_bytes()).hexdigest(), "a rewritten file is hashed anew"
