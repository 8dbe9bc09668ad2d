"""How well each histogram-matching variant gives one test image the colour statistics of another.

    python benchmarks/color_match.py [IMAGES_DIR]     # default ../shared/images

For every ordered pair of the test images (at 512 px), the style's colours are mapped onto the content's mean
and covariance with ``eig`` and ``cholesky``, once (the paper's single transform) and repeated until matched
(nstyle's ``match_color``), then clipped to 0..1 and rounded to 8 bits as a picture must be. Prints the
remaining mean error (in 1/255) and covariance error (relative), on average and at worst, and the time.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

from nstyle.core.color import HISTOGRAM_METHODS, MATCH_ROUNDS, color_statistics, match_color
from nstyle.io.images import load_image, resize_to_long_side


def main(folder: Path) -> None:
    images = {p.stem: resize_to_long_side(load_image(p), 512) for p in sorted(folder.glob("*.jpg"))}
    print("| method | rounds | mean error avg / max (1/255) | covariance error avg / max | time per pair |")
    print("|---|---|---|---|---|")
    for method in HISTOGRAM_METHODS:
        for rounds in (1, MATCH_ROUNDS):
            errors, start = [], time.perf_counter()
            pairs = list(itertools.permutations(images, 2))
            for style, content in pairs:
                mu_c, cov_c = color_statistics(images[content])
                mu, cov = color_statistics(match_color(images[style], images[content], method, rounds))
                errors.append((np.abs(mu - mu_c).max() * 255, np.linalg.norm(cov - cov_c) / np.linalg.norm(cov_c)))
            e = np.array(errors)
            seconds = (time.perf_counter() - start) / len(pairs)
            label = "1" if rounds == 1 else f"up to {rounds}"
            print(f"| {method} | {label} | {e[:, 0].mean():.2f} / {e[:, 0].max():.2f} "
                  f"| {100 * e[:, 1].mean():.2f} % / {100 * e[:, 1].max():.2f} % | {seconds:.2f} s |")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "images")
