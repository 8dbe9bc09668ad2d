"""What makes a run the same run: the fingerprint of every input and the value of every option.

A checkpoint (``nstyle transfer --resume``) and a video's state file record :func:`run_identity`; a resume
compares it with the identity of what it was given and refuses, naming what changed (:func:`differences`),
rather than finish a mixture of two runs. The options a resume may change are the caller's to say (``free``).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import ImageError
from ..io.fingerprint import input_digest
from ..io.images import checked_image_path, one_or_many
from .options import INIT_KEYWORDS, TransferOptions, option_flag

#: The options that name files, whose bytes (not names) are the run's.
FILE_OPTIONS = ("mask", "content_map", "style_map", "init", "weights")
#: How the inputs are named in messages, in the order they are listed.
LABELS = {"frames": "input frames", "content": "content image", "style": "style image", "mask": "mask",
          "content_map": "content map", "style_map": "style map", "init": "--init image", "weights": "--weights file"}
SHOWN_CHANGES = 4  # more are counted, not listed: the message stays one readable line


def fingerprint(value, must_exist: bool = True) -> dict:
    """An input's name (for messages) and sha256: the file's bytes, or an in-memory image's pixels. A file that
    need not exist (``--init``, ``--weights``: the run itself says what is wrong with them) may have none."""
    if not isinstance(value, (str, os.PathLike)):
        return {"name": "an image in memory", "sha256": input_digest(value)}
    name = Path(value).name
    if not must_exist and not Path(value).is_file():
        return {"name": name, "sha256": None}
    shown = checked_image_path(value) if must_exist else repr(os.fspath(value))
    try:
        return {"name": name, "sha256": input_digest(value)}
    except OSError as err:
        raise ImageError(f"cannot read {shown}: {err.strerror or err}") from None


def run_identity(content, styles, options: TransferOptions, free: Sequence[str] = (), inputs: dict | None = None,
                 settings: dict | None = None) -> dict:
    """The run's identity as plain JSON: ``inputs`` (role -> fingerprints) and ``options`` (every option but the
    ``free`` ones and the files; ``settings`` adds a caller's own, e.g. video's). ``content`` may be None when the
    caller fingerprints its own (``inputs``, e.g. a video's frames)."""
    found = dict(inputs or {})
    if content is not None:
        found["content"] = [fingerprint(content)]
    found["style"] = [fingerprint(s) for s in one_or_many(styles)]
    values = {}
    for field in dataclasses.fields(TransferOptions):
        name, value = field.name, getattr(options, field.name)
        if name in free:
            continue
        if name in FILE_OPTIONS and not (name == "init" and value in INIT_KEYWORDS):
            if value is not None:
                found[name] = [fingerprint(v, must_exist=name not in ("init", "weights")) for v in one_or_many(value)]
            continue
        values[name] = value
    if "style_loss" in values:  # the statistic the run matches, whether given or the default
        values["style_loss"] = options.resolved().style_loss
    described = {"inputs": found, "options": values | (settings or {})}
    return json.loads(json.dumps(described, default=str))


def differences(recorded: dict, now: dict) -> list[str]:
    """What differs between two identities, each as it reads after "the run was made with"."""
    found = []
    old, new = recorded.get("inputs", {}), now.get("inputs", {})
    for role in sorted(set(old) | set(new), key=lambda r: list(LABELS).index(r) if r in LABELS else len(LABELS)):
        change = _input_change(LABELS.get(role, role), old.get(role) or [], new.get(role) or []) \
            if role != "init" else _init_change(_init_of(recorded), _init_of(now))
        if change:
            found.append(change)
    old, new = recorded.get("options", {}), now.get("options", {})
    for name in [*old, *(n for n in new if n not in old)]:
        if name == "init" and ("init" in recorded.get("inputs", {}) or "init" in now.get("inputs", {})):
            continue  # a file on one side: said with the inputs
        if old.get(name) != new.get(name):
            found.append(f"{option_flag(name)} {_shown(old.get(name))} (now {_shown(new.get(name))})")
    return found


def described_differences(recorded: dict, now: dict) -> str:
    """:func:`differences` as one phrase for a message (the first few, then how many more)."""
    found = differences(recorded, now)
    text = ", ".join(found[:SHOWN_CHANGES])
    if len(found) > SHOWN_CHANGES:
        text += f" and {len(found) - SHOWN_CHANGES} more change(s)"
    return text


def _input_change(label: str, old: list[dict], new: list[dict]) -> str:
    if [f["sha256"] for f in old] == [f["sha256"] for f in new]:
        return ""
    names = ", ".join(f["name"] for f in new)
    if label == "input frames":  # one fingerprint of them all, named by their count
        recount = old and new and old[0]["name"] != new[0]["name"]
        return "other input frames" + (f" ({old[0]['name']}, now {new[0]['name']})" if recount else "")
    if not old:
        return f"no {label} (now {names})"
    if not new:
        return f"a {label} ({', '.join(f['name'] for f in old)}; now none)"
    if len(old) != len(new):
        return f"{len(old)} {label}(s) (now {len(new)}: {names})"
    changed = [f"{b['name']} changed" if a["name"] == b["name"] else f"{b['name']}, not {a['name']}"
               for a, b in zip(old, new, strict=True) if a["sha256"] != b["sha256"]]
    return f"another {label} ({', '.join(changed)})"


def _init_of(identity: dict):
    """``--init``: its file's fingerprint, or its keyword."""
    return identity.get("inputs", {}).get("init") or identity.get("options", {}).get("init")


def _init_change(old, new) -> str:
    if isinstance(old, list) and isinstance(new, list):
        return _input_change(LABELS["init"], old, new)
    if old == new:
        return ""
    named = [", ".join(f["name"] for f in v) if isinstance(v, list) else _shown(v) for v in (old, new)]
    return f"--init {named[0]} (now {named[1]})"


def _shown(value) -> str:
    if value is None:
        return "default"
    if isinstance(value, list):
        return " ".join(_shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
