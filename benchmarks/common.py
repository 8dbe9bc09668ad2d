"""What the benchmark scripts share: the test images, the machine's convolution peak, FLOP counting, contact sheets."""

from __future__ import annotations

import platform
import time
from datetime import date
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

IMAGES = Path(__file__).resolve().parents[2] / "shared" / "images"


def machine_line(title: str) -> str:
    return (f"# {title}, {date.today()}, {platform.processor() or platform.machine()}, "
            f"{torch.get_num_threads()} threads, torch {torch.__version__}")


def conv_throughput(seconds: float = 3.0, device: str = "cpu", dtype: torch.dtype = torch.float32) -> float:
    """GFLOP/s of channels-last 3x3 convolutions of VGG's middle size (256 -> 256 channels, 64x64).

    The reference the issue names ("channels-last convolutions reach about 170 GFLOP/s on 2 cores"):
    the rate a plain forward convolution reaches, to which one loss evaluation's rate is compared.
    """
    conv = torch.nn.Conv2d(256, 256, 3, padding=1).to(device, dtype, memory_format=torch.channels_last)
    x = torch.rand(1, 256, 64, 64, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    flops = 2 * 256 * 256 * 9 * 64 * 64
    with torch.no_grad():
        conv(x)
        synchronize(device)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            conv(x)
            count += 1
        synchronize(device)
    return flops * count / (time.perf_counter() - start) / 1e9


def synchronize(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def evaluation_flops(objective, image: torch.Tensor) -> float:
    """FLOPs of one loss evaluation, forward and backward to the image (PyTorch's own FLOP counter:
    convolutions, their input gradients, and the Gram matrix products)."""
    x = image.detach().clone().requires_grad_(True)
    with FlopCounterMode(display=False) as counter:
        loss, _ = objective(x)
        loss.backward()
    return float(counter.get_total_flops())


def contact_sheet(rows: list[list[tuple[Path, str]]], path: Path, thumb: int = 224,
                  titles: list[str] | None = None) -> None:
    """Square thumbnails of pictures, a row of them a line, each under its caption, column ``titles`` on top; saved
    as a small JPEG at ``path``, for looking at what a number says."""
    from PIL import Image, ImageDraw

    label, top = 14, 14 if titles else 0
    sheet = Image.new("RGB", (max(map(len, rows)) * thumb, top + len(rows) * (thumb + label)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, title in enumerate(titles or []):
        draw.text((k * thumb + 3, 1), title, fill="black")
    for r, row in enumerate(rows):
        y = top + r * (thumb + label)
        for k, (picture, caption) in enumerate(row):
            with Image.open(picture) as image:
                sheet.paste(image.convert("RGB").resize((thumb, thumb), Image.Resampling.LANCZOS),
                            (k * thumb, y + label))
            draw.text((k * thumb + 3, y + 1), caption, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path, quality=85, optimize=True)
