"""``nstyle demo``: a first transfer on images scikit-image ships, so nothing has to be found or downloaded."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from .options import _option_default

DEMO_CONTENT = "chelsea.png"
DEMO_STYLE = "ihc.png"


def add(sub) -> None:
    d = sub.add_parser("demo", help="stylise an image shipped with scikit-image (no files needed)")
    d.add_argument("-o", "--output", default="nstyle-demo.png", help="output image (default: %(default)s)")
    d.add_argument("--size", type=int, default=_option_default("size"),
                   help="long side in pixels (default: %(default)s)")
    d.add_argument("--iterations", type=int, default=_option_default("iterations"),
                   help="iterations at the final size (default: %(default)s)")
    d.add_argument("--device", default=_option_default("device"), help="cpu, cuda or auto (default: %(default)s)")
    d.set_defaults(func=cmd_demo)


def demo_images() -> tuple[Path, Path]:
    """Content and style images that scikit-image ships in its package (no download needed)."""
    try:
        import skimage.data
    except ImportError:
        raise UsageError("the demo uses images shipped with scikit-image; pip install scikit-image") from None
    folder = Path(skimage.data.__file__).parent
    return folder / DEMO_CONTENT, folder / DEMO_STYLE


def cmd_demo(args: argparse.Namespace) -> int:
    from ..core.options import options_from
    from ..io.images import check_output_path
    from ..jobs.runner import run_transfer_job

    output = check_output_path(args.output)
    content, style = demo_images()
    print(f"nstyle demo: {content.name} in the style of {style.name} (from scikit-image)")
    options = options_from(size=args.size, iterations=args.iterations, device=args.device)
    return run_transfer_job(content, style, output, options, plot=True)
