"""``nstyle weights`` (list, fetch, path) and ``nstyle models``: the networks and their cached weights.

The records come from ``nstyle.models.registry``, so ``weights list``, ``weights path`` and ``nstyle models`` import
no torch; ``nstyle models --details`` and ``--layers`` build each network (parameters, preprocessing and layers are
the class's own, declared once there).
"""

from __future__ import annotations

import argparse
import sys

from ..exitcodes import FAILED, OK
from .options import Parser


def add(sub) -> None:
    w = sub.add_parser("weights", help="list, fetch or locate pretrained weights")
    wsub = w.add_subparsers(dest="weights_command", metavar="ACTION", parser_class=Parser)
    wsub.required = True
    wsub.add_parser("list", help="networks, whether cached, size").set_defaults(func=cmd_weights_list)
    wf = wsub.add_parser("fetch", help="download, verify and convert weights into the cache")
    wf.add_argument("names", nargs="+", metavar="NAME",
                    help="network names (the backbones and --method fast's arbitrary_style), or 'all'")
    wf.add_argument("--force", action="store_true", help="fetch again even if cached")
    wf.set_defaults(func=cmd_weights_fetch)
    wp = wsub.add_parser("path", help="print where a network's converted weights are cached")
    wp.add_argument("name", metavar="NAME")
    wp.set_defaults(func=cmd_weights_path)

    m = sub.add_parser("models", help="every backbone and whether its weights are cached (--details: its layers)")
    m.add_argument("--details", action="store_true",
                   help="also each network's parameters, preprocessing and default layers (builds the networks)")
    m.add_argument("--layers", action="store_true", help="also list every layer name (implies --details)")
    m.set_defaults(func=cmd_models)


def cmd_weights_list(args: argparse.Namespace) -> int:
    from ..models.registry import feedforward_records, records
    from ..models.weights import is_cached

    rows = [("name", "cached", "size", "source", "description")]
    for rec in [*records().values(), *feedforward_records().values()]:
        cached = is_cached(rec)
        size = rec.cache_path().stat().st_size if cached else rec.download_size
        rows.append((rec.name, "yes" if cached else "no", f"{size / 1e6:.0f} MB" if size else "?",
                     rec.source.describe(), rec.description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    return OK


def cmd_weights_fetch(args: argparse.Namespace) -> int:
    from ..models.registry import feedforward_records, model_names
    from ..models.weights import fetch

    names = [*model_names(), *feedforward_records()] if "all" in args.names else args.names
    for name in names:
        print(fetch(name, force=args.force))
    return OK


def cmd_weights_path(args: argparse.Namespace) -> int:
    from ..models.registry import find_record
    from ..models.weights import is_cached

    record = find_record(args.name)
    print(record.cache_path())
    if not is_cached(record):
        print(f"nstyle: {args.name} is not fetched yet; run `nstyle weights fetch {args.name}`", file=sys.stderr)
        return FAILED
    return OK


def coarse_layers_line(net) -> str:
    """What the default transfer of a 512 px square matches at its coarse levels, where that is not every style
    layer (``engine.sparse_style_layers``: none whose style map has fewer positions than channels)."""
    from ..core.engine import coarse_style_layers
    from ..core.options import TransferOptions

    every = net.resolve(net.default_style_layers)
    said = [f"{' '.join(layers)} at {size} px"
            for size, layers in coarse_style_layers(TransferOptions(size=512), net).items() if layers != every]
    return f" (the default transfer at 512 px: {'; '.join(said)}; all at 512 px)" if said else ""


def cmd_models(args: argparse.Namespace) -> int:
    from ..models.registry import records
    from ..models.weights import is_cached

    details = args.details or args.layers
    for rec in records().values():
        print(f"{rec.name}: {rec.description}")
        cached = "cached" if is_cached(rec) else "not fetched"
        if not details:
            size = f", {rec.download_size / 1e6:.0f} MB download" if rec.download_size and cached != "cached" else ""
            print(f"  weights {cached}{size}")
            continue
        net = rec.build()
        params = sum(p.numel() for p in net.parameters())
        print(f"  parameters {params / 1e6:.1f} M, preprocessing {net.preprocessing.name}, weights {cached}")
        print(f"  content layers: {' '.join(net.default_content_layers)}; "
              f"style layers: {' '.join(net.default_style_layers)}" + coarse_layers_line(net))
        if args.layers:
            print(f"  layers: {' '.join(net.layer_names)}")
    if not details:
        print("(nstyle models --details: parameters, preprocessing and default layers; --layers: every layer)")
    return OK
