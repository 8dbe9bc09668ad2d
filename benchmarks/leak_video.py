"""The object leak in video: shot 2 of bikes.mp4 (a man cycling past cars) in the style of starry_night.jpg, whose
first frame the W2 default of 2026-12-01..06 painted with the painting's moon over the man's face.

The shot's first frames are stylised with ``nstyle video``'s engine at the default size, once with today's default
and once with the default until 2026-12-06 (W2 at 170, relu5_1 at every level); each frame's object leak
(``nstyle.eval.metrics.leak``) is printed, and the input and both results are drawn side by side.

    nstyle samples fetch bikes
    python benchmarks/leak_video.py [--start 1.2] [--frames 5] [--figure docs/images/quality/leak_video.jpg]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import av
import numpy as np
import torch
from common import IMAGES, machine_line
from PIL import Image, ImageDraw

from nstyle.eval.metrics.leak import ObjectLeak
from nstyle.io.images import image_to_tensor, load_image
from nstyle.video.samples import sample_clip
from nstyle.video.settings import VideoSettings
from nstyle.video.stylise import stylise_frames

FIVE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
ROWS = (("input", None), ("the W2 default until 2026-12-06 (relu5_1 at every level)",
                          {"style_layers": FIVE, "style_weight": 170.0}),
        ("today's default", {}))


def frames_of(path: Path, start: float, count: int) -> list[Image.Image]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_image() for f in container.decode(stream) if f.time is not None and f.time >= start - 1e-6]
    return frames[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=float, default=1.2, help="second where the shot starts (bikes: 1.2)")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--style", default="starry_night")
    parser.add_argument("--figure", type=Path)
    args = parser.parse_args()
    print(machine_line("object leak in video").removeprefix("# "))
    frames = frames_of(sample_clip("bikes"), args.start, args.frames)
    style = load_image(IMAGES / f"{args.style}.jpg")
    measure = ObjectLeak()
    rows = {}
    for name, options in ROWS:
        if options is None:
            rows[name] = frames
            continue
        with tempfile.TemporaryDirectory() as folder:
            result = stylise_frames(frames, style, folder, options, VideoSettings())
            rows[name] = [Image.open(p).convert("RGB") for p in result.paths]
        with torch.no_grad():
            leaks = [float(measure(image_to_tensor(r), image_to_tensor(f.resize(r.size)), image_to_tensor(style))[0])
                     for r, f in zip(rows[name], frames)]
        print(f"{name}: leak per frame {' '.join(f'{v:+.3f}' for v in leaks)}, mean {np.mean(leaks):+.3f}")
    if args.figure:
        picks = [0, len(frames) - 1]
        w, h = rows["today's default"][0].size
        label = 14
        sheet = Image.new("RGB", (len(picks) * w, len(rows) * (h + label)), "white")
        draw = ImageDraw.Draw(sheet)
        for r, (name, seq) in enumerate(rows.items()):
            for c, t in enumerate(picks):
                sheet.paste(seq[t].convert("RGB").resize((w, h)), (c * w, r * (h + label) + label))
                draw.text((c * w + 3, r * (h + label) + 1), f"{name}, frame {t + 1} of the shot", fill="black")
        args.figure.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.figure, quality=85, optimize=True)
        print(f"wrote {args.figure}")


if __name__ == "__main__":
    main()
