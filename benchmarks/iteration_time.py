"""Time per iteration (one loss + gradient evaluation) of the default transfer, per network and size.

Runs everything in one process on tubingen + starry_night (../shared/images), so the figures compare
as ratios on a shared, noisy machine. Also counts the convolution FLOPs of one evaluation (forward,
plus the backward pass to the image, which costs about as much again) to report the throughput.

    python benchmarks/iteration_time.py [--sizes 256 512] [--models vgg19 vgg16] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import date
from pathlib import Path

import torch

from nstyle.engine import TransferOptions, build_loss
from nstyle.images import image_to_tensor, load_image, resize_to_long_side
from nstyle.weights import load_backbone

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


def conv_flops(objective, image: torch.Tensor) -> float:
    """Multiply-adds x 2 of every convolution that one forward pass of the loss runs."""
    total = 0.0

    def hook(module, inputs, output):
        nonlocal total
        k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
        total += 2.0 * k * output.numel()

    handles = [m.register_forward_hook(hook) for m in objective.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        objective(image)
    for h in handles:
        h.remove()
    return total


def time_evaluations(objective, image: torch.Tensor, repeats: int) -> float:
    x = image.clone().requires_grad_(True)
    samples = []
    for i in range(repeats + 1):  # the first is a warm-up
        start = time.perf_counter()
        loss, _ = objective(x)
        loss.backward()
        x.grad = None
        if i:
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--models", nargs="+",
                        default=["vgg19", "vgg16", "resnet50", "inception_v3", "squeezenet1_1", "alexnet"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    content_img = load_image(IMAGES / "tubingen.jpg")
    style_img = load_image(IMAGES / "starry_night.jpg")
    print(f"# iteration time, {date.today()}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}")
    print("| network | size | pixels | s / iteration | GFLOP / iteration | GFLOP/s |")
    print("|---|---|---|---|---|---|")
    for model in args.models:
        net = load_backbone(model)
        for size in args.sizes:
            content = image_to_tensor(resize_to_long_side(content_img, size))
            style = image_to_tensor(resize_to_long_side(style_img, size))
            objective = build_loss(TransferOptions(model=model, size=size), net, content, [style])
            flops = 2 * conv_flops(objective, content)  # backward to the image ~ forward
            seconds = time_evaluations(objective, content, args.repeats)
            h, w = content.shape[-2:]
            print(f"| {model} | {size} | {w}x{h} | {seconds:.3f} | {flops / 1e9:.1f} | {flops / 1e9 / seconds:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
