"""The web page's instant preview (``POST /api/preview``): seconds per preview at the page's size (384 px), as
the server spends them, for the figure in docs/WEB.md.

A real app (``create_app``) in this process through FastAPI's TestClient (no sockets), the network loaded by a
first request that is not counted; then ROUNDS rounds of tubingen.jpg (1024 x 768) in the style of
starry_night.jpg with three option sets, each sent twice: "new pictures" with the server's kept style vectors
forgotten first (as for a newly chosen content or style: both networks run), then "options changed" (as when
a slider moves: the vectors are kept, the transformer alone runs). Per preview: the whole request (reading the
form, checking both uploads, decoding and shrinking them, painting, the JPEG), the painting alone (the
``X-Preview-Seconds`` header: both networks and the JPEG) and the process's CPU seconds, the median of each,
and the fastest request (the nearest to an idle machine). The load average is printed beside them: on a shared
machine the wall-clock figures grow with it.

    PYTHONPATH=src python benchmarks/web_preview.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time

from common import IMAGES, conv_throughput, machine_line
from fastapi.testclient import TestClient

from nstyle.web import create_app

CASES = {"default strength": {}, "strength 0.8": {"strength": 0.8},
         "strength 0.8, preserve_color luminance": {"strength": 0.8, "preserve_color": "luminance"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    files = [("content", ("tubingen.jpg", (IMAGES / "tubingen.jpg").read_bytes())),
             ("style", ("starry_night.jpg", (IMAGES / "starry_night.jpg").read_bytes()))]
    with tempfile.TemporaryDirectory() as data, TestClient(app := create_app(data),
                                                           base_url="http://127.0.0.1:8000") as client:
        def preview(options: dict) -> tuple[float, float, float]:
            start, cpu = time.perf_counter(), time.process_time()
            reply = client.post("/api/preview", files=files, data={"options": json.dumps(options)})
            assert reply.status_code == 200, reply.text
            return (time.perf_counter() - start, float(reply.headers["x-preview-seconds"]),
                    time.process_time() - cpu)

        preview({})  # loads the network
        times: dict[str, list[tuple[float, float, float]]] = {}
        for _ in range(args.rounds):  # the cases take turns, so that each meets the same load
            for name, options in CASES.items():
                app.state.previews._painter.kept.clear()
                times.setdefault(f"{name}, new pictures", []).append(preview(options))
                times.setdefault(f"{name}, options changed", []).append(preview(options))
    print(machine_line("POST /api/preview, 384 px, tubingen.jpg x starry_night.jpg"))
    print(f"# load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs; "
          f"3x3 convolutions {conv_throughput(2.0):.0f} GFLOP/s now; median of {args.rounds}")
    print("| options | request s | painting s | CPU s | fastest request s |\n|---|---|---|---|---|")
    for name, rows in times.items():
        request, painting, cpu = (statistics.median(column) for column in zip(*rows))
        print(f"| {name} | {request:.2f} | {painting:.2f} | {cpu:.2f} | {min(r[0] for r in rows):.2f} |")


if __name__ == "__main__":
    main()
