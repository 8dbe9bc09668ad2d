"""Time per iteration (one loss + gradient evaluation) of the default transfer, per network and size.

Runs everything in one process on tubingen + starry_night (../shared/images), so the figures compare
as ratios on a shared, noisy machine. Counts the FLOPs of one evaluation (forward and backward to the
image, with PyTorch's FLOP counter) and reports its rate as a share of the machine's channels-last
convolution throughput in the same number format, measured in the same run. With both precisions given,
the last column is float32's time over bfloat16's.

    python benchmarks/iteration_time.py [--sizes 256 512] [--models vgg19 vgg16] [--repeats 5]
                                        [--precisions float32 bfloat16]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from common import IMAGES, conv_throughput, evaluation_flops, machine_line

from nstyle.core.engine import TransferOptions, build_loss
from nstyle.io.images import image_to_tensor, load_image, resize_to_long_side
from nstyle.models.precision import compute_dtype
from nstyle.models.weights import load_backbone


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
    parser.add_argument("--precisions", nargs="+", default=["float32"], choices=["float32", "bfloat16"])
    args = parser.parse_args()
    content_img = load_image(IMAGES / "tubingen.jpg")
    style_img = load_image(IMAGES / "starry_night.jpg")
    print(machine_line("iteration time"))
    cpu = torch.device("cpu")
    peaks = {name: conv_throughput(dtype=getattr(torch, name)) for name in args.precisions}
    for name, peak in peaks.items():
        print(f"channels-last 3x3 convolution throughput, {name}: {peak:.0f} GFLOP/s")
    print("| network | size | pixels | precision | s / iteration | GFLOP / iteration | GFLOP/s | of conv peak "
          "| float32 / this |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in args.models:
        net = load_backbone(model)
        for size in args.sizes:
            content = image_to_tensor(resize_to_long_side(content_img, size))
            style = image_to_tensor(resize_to_long_side(style_img, size))
            h, w = content.shape[-2:]
            times = {}
            for name in args.precisions:
                net.compute_dtype = compute_dtype(name, cpu)
                objective = build_loss(TransferOptions(model=model, size=size), net, content, [style])
                flops = evaluation_flops(objective, content)
                times[name] = seconds = time_evaluations(objective, content, args.repeats)
                rate = flops / 1e9 / seconds
                ratio = f"{times['float32'] / seconds:.2f}x" if "float32" in times else ""
                print(f"| {model} | {size} | {w}x{h} | {name} | {seconds:.3f} | {flops / 1e9:.1f} | {rate:.0f} | "
                      f"{rate / peaks[name]:.0%} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
