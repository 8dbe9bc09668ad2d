"""``nstyle transfer --resume``: the checkpoint records every input's bytes and every option, so a resume with any
of them changed is refused before any work, naming what changed; the same inputs (and a new --iterations or
--device) are accepted."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nstyle.cli import main
from nstyle.core import engine
from nstyle.core.identity import run_identity
from nstyle.core.optim import IterationRecord
from nstyle.core.options import options_from
from nstyle.errors import UsageError
from nstyle.jobs.runner import RESUME_MAY_CHANGE, Checkpoint

OPTIONS = {"size": 32, "iterations": 5}


def noise(path: Path, seed: int) -> Path:
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def files(tmp_path) -> dict[str, Path]:
    return {name: noise(tmp_path / f"{name}.png", seed) for seed, name in enumerate(("photo", "style", "mask"))}


def checkpoint(output: Path, content, styles, **options) -> Checkpoint:
    """The checkpoint an interrupted ``nstyle transfer`` leaves (3 iterations done)."""
    made = Checkpoint(output, run_identity(content, styles, options_from(**OPTIONS | options), free=RESUME_MAY_CHANGE))
    made.save(Image.new("RGB", (38, 32)), [IterationRecord(i, 1.0, 0.5, 0.4, 0.1, 0.1, i) for i in (1, 2, 3)], 3)
    return made


def refusal(capsys, monkeypatch, args) -> str:
    """Run ``nstyle transfer ... --resume``; it must stop with exit 2 and one line before anything runs."""
    monkeypatch.setattr(engine, "run", lambda *a, **k: pytest.fail("a refused resume must not start the run"))
    code = main(["transfer", *map(str, args), "--size", "32", "--iterations", "5", "--resume", "-q"])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("nstyle: error: --resume: the unfinished run was made with ")
    return lines[0]


def test_a_changed_style_file_is_refused_naming_it(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.png"
    checkpoint(out, files["photo"], [files["style"]])
    noise(files["style"], 9)  # the same name, other bytes
    line = refusal(capsys, monkeypatch, [files["photo"], files["style"], "-o", out])
    assert "another style image (style.png changed)" in line
    assert (tmp_path / "out.resume.json").is_file(), "a refused resume keeps the checkpoint"


def test_another_content_or_style_file_is_refused_naming_it(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.png"
    checkpoint(out, files["photo"], [files["style"]])
    line = refusal(capsys, monkeypatch, [files["mask"], files["style"], "-o", out])
    assert "another content image (mask.png, not photo.png)" in line
    line = refusal(capsys, monkeypatch, [files["photo"], "--style", files["style"], files["mask"], "-o", out])
    assert "1 style image(s) (now 2: style.png, mask.png)" in line


def test_a_changed_added_or_dropped_mask_is_refused_naming_it(files, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out.png"
    checkpoint(out, files["photo"], [files["style"]], mask=str(files["mask"]))
    line = refusal(capsys, monkeypatch, [files["photo"], files["style"], "-o", out])
    assert "a mask (mask.png; now none)" in line
    noise(files["mask"], 7)
    line = refusal(capsys, monkeypatch, [files["photo"], files["style"], "-o", out, "--mask", files["mask"]])
    assert "another mask (mask.png changed)" in line
    checkpoint(out, files["photo"], [files["style"]])
    line = refusal(capsys, monkeypatch, [files["photo"], files["style"], "-o", out, "--mask", files["mask"]])
    assert "no mask (now mask.png)" in line


def test_init_and_weights_files_count_by_their_bytes(files, tmp_path):
    out, weights = tmp_path / "out.png", tmp_path / "weights.h5"
    weights.write_bytes(b"one")
    made = checkpoint(out, files["photo"], [files["style"]], init=str(files["mask"]), weights=str(weights))
    same = run_identity(files["photo"], [files["style"]], options_from(**OPTIONS, init=str(files["mask"]),
                                                                       weights=str(weights)), free=RESUME_MAY_CHANGE)
    assert Checkpoint(out, same).load()[0] == 3
    noise(files["mask"], 8)
    weights.write_bytes(b"two")
    changed = run_identity(files["photo"], [files["style"]], options_from(**OPTIONS, init=str(files["mask"]),
                                                                          weights=str(weights)), free=RESUME_MAY_CHANGE)
    with pytest.raises(UsageError) as refused:
        Checkpoint(out, changed).load()
    assert "another --init image (mask.png changed), another --weights file (weights.h5 changed)" in str(refused.value)
    keyword = run_identity(files["photo"], [files["style"]], options_from(**OPTIONS, weights=str(weights)),
                           free=RESUME_MAY_CHANGE)
    with pytest.raises(UsageError, match=r"--init mask.png \(now content\)"):
        Checkpoint(out, keyword).load()
    assert made.meta_path.is_file()


def test_an_option_change_is_refused_naming_it_and_iterations_or_device_may_change(files, tmp_path, capsys,
                                                                                   monkeypatch):
    out = tmp_path / "out.png"
    checkpoint(out, files["photo"], [files["style"]])
    line = refusal(capsys, monkeypatch, [files["photo"], files["style"], "-o", out, "--style-weight", "1000"])
    assert "--style-weight default (now 1000)" in line
    # What a resume may change: how far to go and how the arithmetic is done. The same files are accepted.
    for changed in ({"iterations": 50}, {"device": "cpu"}, {"precision": "float32"}, {"tolerance": 0}):
        again = run_identity(files["photo"], [files["style"]], options_from(**OPTIONS | changed),
                             free=RESUME_MAY_CHANGE)
        assert Checkpoint(out, again).load()[0] == 3
    # A default given on the command line is the default left out: the options are compared as checked.
    again = run_identity(files["photo"], [files["style"]], options_from(**OPTIONS, model="vgg19"),
                         free=RESUME_MAY_CHANGE)
    assert Checkpoint(out, again).load()[0] == 3


def test_a_checkpoint_without_fingerprints_is_refused(files, tmp_path, capsys):
    out = tmp_path / "out.png"
    made = checkpoint(out, files["photo"], [files["style"]])
    meta = json.loads(made.meta_path.read_text())
    made.meta_path.write_text(json.dumps({"done": 3, "options": meta["run"]["options"], "history": meta["history"]}))
    code = main(["transfer", str(files["photo"]), str(files["style"]), "-o", str(out), "--size", "32", "--resume"])
    err = capsys.readouterr().err
    assert code == 2 and "was written by an older nstyle" in err and len(err.strip().splitlines()) == 1
