"""``nstyle batch`` against a hostile output folder and job list (issue 33): links, bad rows by the thousand, a full
disk. No network runs: the engine is replaced by a stand-in that paints a flat picture."""

import csv
import hashlib
from pathlib import Path

import pytest
from PIL import Image

from nstyle.cli import main


def stand_in_run(content, style, callback=None, **options):
    from nstyle.core import engine
    from nstyle.core.stops import Stop

    return engine.TransferResult(Image.new("RGB", (8, 6), "red"), [], None, 0, Stop.COMPLETED)


@pytest.fixture
def pictures(tmp_path, monkeypatch) -> Path:
    from nstyle.core import engine

    monkeypatch.setattr(engine, "run", stand_in_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    Image.new("RGB", (40, 30), "green").save(tmp_path / "in" / "photo.png")
    Image.new("RGB", (40, 30), "blue").save(tmp_path / "in" / "style.png")
    (tmp_path / "victim.jpg").write_bytes(b"precious")
    (tmp_path / "out").mkdir()
    return tmp_path


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink() and p.name != "jobs.csv"}


def batch(rows: str, capsys, *extra) -> tuple[int, str]:
    Path("jobs.csv").write_text(rows)
    code = main(["batch", "jobs.csv", "-o", "out", "--workers", "0", "-q", *extra])
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    return code, err


def test_an_output_name_that_is_a_link_is_replaced_and_its_target_kept(pictures, capsys):
    (pictures / "out" / "a.png").symlink_to("../victim.jpg")
    code, _ = batch("content,style,output\nin/photo.png,in/style.png,a.png\n", capsys)
    assert code == 0 and (pictures / "victim.jpg").read_bytes() == b"precious"
    assert not (pictures / "out" / "a.png").is_symlink()
    with Image.open(pictures / "out" / "a.png") as image:
        assert image.size == (8, 6)


def test_a_link_to_a_folder_outside_is_refused_before_anything_runs(pictures, capsys):
    (pictures / "out" / "sub").symlink_to("..")
    before = digests(pictures)
    code, err = batch("content,style,output\nin/photo.png,in/style.png,a.png\nin/photo.png,in/style.png,sub/b.png\n",
                      capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'sub' is a symbolic link to '..', outside -o" in err
    assert digests(pictures) == before and not (pictures / "b.png").exists()
    assert sorted(p.name for p in (pictures / "out").iterdir()) == ["sub"]


def test_a_link_at_the_results_name_is_replaced(pictures, capsys):
    (pictures / "out" / "results.csv").symlink_to("../victim.jpg")
    code, _ = batch("content,style,output\nin/photo.png,in/style.png,a.png\n", capsys)
    assert code == 0 and (pictures / "victim.jpg").read_bytes() == b"precious"
    with open(pictures / "out" / "results.csv", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["done"]


def test_a_link_at_the_lock_name_is_refused_and_makes_no_file(pictures, capsys):
    (pictures / "out" / ".nstyle-batch.lock").symlink_to("../made-by-the-lock")
    code, err = batch("content,style,output\nin/photo.png,in/style.png,a.png\n", capsys)
    assert code == 2 and err.strip() == ("nstyle: error: -o out: .nstyle-batch.lock is a symbolic link; nstyle writes "
                                         "nothing through a link it did not make: remove it")
    assert not (pictures / "made-by-the-lock").exists() and not (pictures / "out" / "a.png").exists()
