"""The label maps and masks of the Control examples (docs/CONTROL.md), drawn from the test images by simple rules.

    python docs/examples/make_maps.py [IMAGES_DIR]   # default ../shared/images; writes into docs/images/

Semantic maps (``tubingen_map.png``, ``starry_night_map.png``): flat two-colour PNGs at a quarter of their
image's size (maps are resized to their image): sky is blue (#3050c0), the rest orange (#e08020), in both
maps, so each region of tubingen takes the statistics of the region of the same colour in starry_night.
Masks (``control/ramp_mask.png``, ``control/tubingen_mask.png``): a grey mask, black on the left third, white
on the right third and a soft ramp between; and a colour mask with tubingen's sky red, its houses blue and
the river (the bottom quarter) black.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

SKY, GROUND = (48, 80, 192), (224, 128, 32)
ROOT = Path(__file__).resolve().parents[2]


def _rgb(path: Path, scale: int = 4) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    image = image.resize((image.width // scale, image.height // scale), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float64) / 255.0


def _paint(sky: np.ndarray, smooth: int = 9) -> Image.Image:
    """Two colours from a boolean sky mask, with specks removed by a majority (median) filter."""
    mask = Image.fromarray((sky * 255).astype(np.uint8)).filter(ImageFilter.MedianFilter(smooth))
    sky = np.asarray(mask) > 127
    return Image.fromarray(np.where(sky[..., None], np.array(SKY, np.uint8), np.array(GROUND, np.uint8)))


def _touching_top(mask: np.ndarray) -> np.ndarray:
    """The parts of a mask connected to its top row (4-neighbour flood fill)."""
    from scipy.ndimage import label

    labels, _ = label(mask)
    top = set(np.unique(labels[0])) - {0}
    return np.isin(labels, list(top))


def tubingen_map(path: Path) -> Image.Image:
    """Sky: blue pixels (blue well above red) in the upper part, connected to the top edge."""
    rgb = _rgb(path)
    r, b = rgb[..., 0], rgb[..., 2]
    rows = np.linspace(0, 1, rgb.shape[0])[:, None]
    sky = (b - r > 0.12) & (b > 0.45) & (rows < 0.6)
    return _paint(_touching_top(sky))


def starry_night_map(path: Path) -> Image.Image:
    """Sky: above a sloping horizon (the hills) and not the dark cypress on the left."""
    rgb = _rgb(path)
    h, w, _ = rgb.shape
    rows = np.linspace(0, 1, h)[:, None]
    cols = np.linspace(0, 1, w)[None, :]
    lum = rgb @ np.array([0.299, 0.587, 0.114])
    below_horizon = rows > 0.80 - 0.16 * cols
    cypress = (cols < 0.36) & (rows > 0.06) & (lum < 0.32) & (rgb[..., 2] - rgb[..., 0] < 0.12)
    return _paint(~below_horizon & ~cypress, smooth=11)


def ramp_mask(width: int = 256, height: int = 192) -> Image.Image:
    """Black (keep) on the left third, white (style) on the right third, a linear ramp between."""
    x = np.linspace(0, 1, width)[None, :].repeat(height, 0)
    return Image.fromarray((np.clip((x - 1 / 3) * 3, 0, 1) * 255).astype(np.uint8))


def tubingen_mask(path: Path) -> Image.Image:
    """Sky red, houses blue, the river (bottom quarter) black."""
    labels = np.asarray(tubingen_map(path))
    sky = (labels == np.array(SKY, np.uint8)).all(axis=-1)
    mask = np.where(sky[..., None], np.array((255, 0, 0), np.uint8), np.array((0, 0, 255), np.uint8))
    mask[int(0.75 * mask.shape[0]):] = 0
    return Image.fromarray(mask)


def main(images: Path) -> None:
    out = ROOT / "docs" / "images"
    (out / "control").mkdir(parents=True, exist_ok=True)
    written = {
        out / "tubingen_map.png": tubingen_map(images / "tubingen.jpg"),
        out / "starry_night_map.png": starry_night_map(images / "starry_night.jpg"),
        out / "control" / "ramp_mask.png": ramp_mask(),
        out / "control" / "tubingen_mask.png": tubingen_mask(images / "tubingen.jpg"),
    }
    for path, image in written.items():
        image.save(path, optimize=True)
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "images")
