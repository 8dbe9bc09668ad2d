"""The committed record of a quality configuration: every pair scored so far, kept in the repository.

A row of benchmarks/quality.py costs about a minute a pair on 2 cores, so 60 pairs of five methods outlast a
session, and the painted images (derived from ../shared/bench, which may not be redistributed) cannot be
committed. What the table needs can: each pair's numbers and times, and the 2048-d pool features of its result
and its style, from which FID, KID and ArtFID (proxy) of any set of recorded pairs are computed again
(``nstyle.eval.evaluate.summarise``). A record is tied to the transfer options it was painted with, resolved
(so a changed default is noticed): painting more pairs under other options is refused.

    benchmarks/records/quality/NAME.npz: meta (JSON), rows (JSON, one a pair), features [N, 2048],
                                          style_names [S], style_features [S, 2048]
"""

from __future__ import annotations

import io
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RECORDS = Path(__file__).resolve().parent / "records" / "quality"
REPO = Path(__file__).resolve().parents[1]


def painted_by() -> str:
    """The commit the pairs are painted with, "+dirty" where the library differs from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


class RecordMismatch(Exception):
    """The record was made under other options than the configuration now has."""


@dataclass
class Record:
    path: Path
    meta: dict
    rows: list[dict] = field(default_factory=list)
    features: dict[str, np.ndarray] = field(default_factory=dict)  # result name -> [2048]
    style_features: dict[str, np.ndarray] = field(default_factory=dict)  # style name -> [2048]

    @classmethod
    def open(cls, path: Path, meta: dict | None) -> Record:
        """The record at ``path``, or a new empty one; ``RecordMismatch`` where it holds other options than
        ``meta`` (None: whatever it holds, for a record that is only read)."""
        if not path.exists():
            return cls(path, meta)
        with np.load(path, allow_pickle=False) as data:
            stored = json.loads(str(data["meta"]))
            if meta is not None and stored != meta:
                changed = sorted(k for k in stored.get("options", {}) | meta.get("options", {})
                                 if stored.get("options", {}).get(k) != meta.get("options", {}).get(k))
                raise RecordMismatch(f"{path} was painted with other options ({', '.join(changed) or 'meta'}): "
                                     "give the configuration another name, or move the record away")
            rows = json.loads(str(data["rows"]))
            features = dict(zip((r["result"] for r in rows), data["features"], strict=True))
            styles = dict(zip((str(s) for s in data["style_names"]), data["style_features"], strict=True))
        return cls(path, stored, rows, features, styles)

    @property
    def names(self) -> set[str]:
        return set(self.features)  # keyed by result name, one a row

    def add(self, row: dict, features: np.ndarray, style_features: np.ndarray) -> None:
        self.rows = [r for r in self.rows if r["result"] != row["result"]] + [row]
        self.features[row["result"]] = np.asarray(features, dtype=np.float32)
        self.style_features[row["style"]] = np.asarray(style_features, dtype=np.float32)

    def save(self) -> None:
        """Written whole to a temporary file, then renamed: an interrupted save keeps the previous record."""
        from nstyle.io.atomic import write_bytes

        styles = sorted(self.style_features)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, meta=json.dumps(self.meta, sort_keys=True), rows=json.dumps(self.rows),
            features=np.stack([self.features[r["result"]] for r in self.rows]) if self.rows else np.zeros((0, 2048)),
            style_names=np.array(styles, dtype=str),
            style_features=np.stack([self.style_features[s] for s in styles]) if styles else np.zeros((0, 2048)))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(self.path, buffer.getvalue())

    def summary(self, names: list[str]) -> dict:
        """The set's numbers over these recorded results, as ``nstyle evaluate`` gives them for one run."""
        from nstyle.eval.evaluate import summarise

        wanted = set(names)
        rows = [r for r in self.rows if r["result"] in wanted]
        rows.sort(key=lambda r: r["result"])
        results = np.stack([self.features[r["result"]] for r in rows]).astype(np.float64)
        styles = np.stack([self.style_features[r["style"]] for r in rows]).astype(np.float64)
        summary = summarise(rows, results, styles, kid_subsets=100, kid_subset_size=1000)
        return {"pairs": len(rows), "contents": len({r["content"] for r in rows}),
                "styles": len({r["style"] for r in rows}), **summary,
                "painted": sorted({r["painted"] for r in rows}), "commits": sorted({r["commit"] for r in rows})}
