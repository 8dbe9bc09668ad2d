"""What each --style-loss costs: one forward and backward of the loss alone on VGG19's style-layer shapes.

    python benchmarks/style_losses.py [--size 512] [--threads 1] [--repeats 3]

The features are random, channels-last as the backbones give them, at the shapes of VGG19's relu1_1..relu5_1 for a
square image of --size px; the network's own forward and backward come on top (benchmarks/iteration_time.py).
All losses are timed in one process, so compare them as ratios.
"""

from __future__ import annotations

import argparse
import time

import torch
from common import machine_line

from nstyle.core.catalog import STYLE_LOSSES
from nstyle.core.losses import StyleSources
from nstyle.core.modes import get_mode

# VGG19's default style layers: channels and stride
LAYERS = (("relu1_1", 64, 1), ("relu2_1", 128, 2), ("relu3_1", 256, 4), ("relu4_1", 512, 8), ("relu5_1", 512, 16))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(machine_line("style losses"))
    print(f"{args.size} x {args.size} px, loss alone, forward + backward, mean of {args.repeats}\n")
    print("| --style-loss | " + " | ".join(name for name, _, _ in LAYERS) + " | total s | x gram |")
    print("|" + " --- |" * (len(LAYERS) + 3))
    gram_total = None
    for loss_name, record in STYLE_LOSSES.items():
        seconds = []
        for _, channels, stride in LAYERS:
            side = args.size // stride
            style = torch.rand(1, channels, side, side).to(memory_format=torch.channels_last)
            image = torch.rand(1, channels, side, side).to(memory_format=torch.channels_last).requires_grad_(True)
            loss = record.layer_loss(StyleSources([style], [1.0], get_mode("nstyle"), side * side))
            loss(image).backward()  # warm-up
            start = time.perf_counter()
            for _ in range(args.repeats):
                loss(image).backward()
            seconds.append((time.perf_counter() - start) / args.repeats)
        total = sum(seconds)
        gram_total = gram_total or total
        print(f"| {loss_name} | " + " | ".join(f"{s:.3f}" for s in seconds) + f" | {total:.2f} | "
              f"{total / gram_total:.2f} |", flush=True)


if __name__ == "__main__":
    main()
