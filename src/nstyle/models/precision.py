"""The number format the backbone computes in.

bfloat16 keeps float32's range with an 8-bit mantissa: on a CPU with native bfloat16 (AVX512-BF16 or AMX)
oneDNN's convolutions run about twice as fast as in float32 (446 against 220 GFLOP/s on this project's
2-core EPYC), and the judge distances of the default 512 px run move by about 2 % (docs/BENCHMARKS.md).
Only the network runs in bfloat16 (``torch.autocast``); its features come back as float32, so the Gram
matrices, the losses, the image and the optimiser stay in float32.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the names of the formats are read by the options, which load no torch
    import torch

from ..errors import UsageError

PRECISIONS = ("auto", "float32", "bfloat16")


def native_bfloat16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions in hardware (elsewhere they are emulated, and slower
    than float32)."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":
        cpu = torch.cpu
        checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private, so looked up with care
        return any(getattr(cpu, name, lambda: False)() for name in checks)
    return False


def compute_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``--precision`` on ``device``; None means plain float32."""
    import torch

    if precision not in PRECISIONS:
        raise UsageError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if precision == "bfloat16" or (precision == "auto" and native_bfloat16(device)):
        return torch.bfloat16
    return None
