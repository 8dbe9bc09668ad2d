"""Is one set of results closer to the paintings by KID than another, beyond noise? The KID of a recorded
configuration (benchmarks/records/quality/NAME.npz) and of a folder of another program's results on the same pairs
({content}_stylized_{style}.png), their difference, and its jackknife standard error over the pairs (the
difference again with each pair left out).

    python benchmarks/kid_difference.py --record fast --other /work/stlite-out
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from quality_record import RECORDS

from nstyle.eval.metrics.fid import InceptionFeatures, kernel_inception_distance
from nstyle.io.images import image_to_tensor, load_image


def kid_difference(ours: np.ndarray, theirs: np.ndarray, paintings: np.ndarray) -> tuple[float, float]:
    """KID(ours) - KID(theirs) against the paintings (row i of each the same pair), and its jackknife standard
    error over the pairs."""
    def difference(keep: np.ndarray) -> float:
        return (kernel_inception_distance(ours[keep], paintings[keep])[0]
                - kernel_inception_distance(theirs[keep], paintings[keep])[0])

    n = len(ours)
    left_out = np.array([difference(np.arange(n) != i) for i in range(n)])
    return difference(np.ones(n, bool)), float(np.sqrt((n - 1) / n * ((left_out - left_out.mean()) ** 2).sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record", required=True, help="a quality record's name")
    parser.add_argument("--other", type=Path, required=True, help="a folder of results on the record's pairs")
    args = parser.parse_args()
    with np.load(RECORDS / f"{args.record}.npz", allow_pickle=False) as data:
        rows = json.loads(str(data["rows"]))
        ours = np.asarray(data["features"], np.float64)
        styles = dict(zip((str(s) for s in data["style_names"]), data["style_features"], strict=True))
    paintings = np.stack([styles[r["style"]] for r in rows]).astype(np.float64)
    net = InceptionFeatures()
    with torch.no_grad():
        theirs = np.concatenate([net(image_to_tensor(load_image(args.other / r["result"]))).numpy()
                                 for r in rows]).astype(np.float64)

    whole, error = kid_difference(ours, theirs, paintings)
    n = len(rows)
    print(f"KID {args.record} {kernel_inception_distance(ours, paintings)[0]:.5f}, {args.other.name} "
          f"{kernel_inception_distance(theirs, paintings)[0]:.5f}: difference {whole:+.5f}, jackknife standard "
          f"error {error:.5f} over {n} pairs")


if __name__ == "__main__":
    main()
