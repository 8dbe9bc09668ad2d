"""``nstyle batch`` against a hostile output folder and job list (issue 33): links, bad rows by the thousand, a full
disk. No network runs: the engine is replaced by a stand-in that paints a flat picture."""

import csv
import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from nstyle.cli import main
from nstyle.errors import UsageError
from nstyle.jobs.batch import jobs_from_csv
from tests.disks import full_disk, read_only_disk  # noqa: F401 (fixtures)


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


def test_ten_thousand_bad_rows_are_refused_in_one_line_before_anything_is_written(pictures, capsys):
    rows = "".join(f"in/photo.png,in/style.png,{'nan' if i % 2 else '1e3'},{'abc' if i % 3 == 0 else 64}\n"
                   for i in range(10_000))
    code, err = batch("content,style,style_weight,size\n" + rows, capsys)
    assert code == 2 and err.strip() == ("nstyle: error: jobs.csv line 2: --size 'abc': must be a whole number "
                                         "(and 6666 more rows with a wrong value); nothing was run: correct the job "
                                         "list")
    assert list((pictures / "out").iterdir()) == []


def test_thousands_of_missing_files_rewrite_results_csv_a_few_times_not_once_a_row(pictures, capsys, monkeypatch):
    from nstyle.jobs.batch import ResultsTable

    writes = []
    real_write = ResultsTable.write
    monkeypatch.setattr(ResultsTable, "write", lambda self: (writes.append(1), real_write(self)))
    rows = "".join(f"in/missing{i}.png,in/style.png,m{i}.png\n" for i in range(3000))
    code, err = batch("content,style,output\nin/photo.png,in/style.png,a.png\n" + rows, capsys)
    assert code == 1 and "3000 of 3001 jobs failed" in err
    with open(pictures / "out" / "results.csv", newline="") as f:
        statuses = [r["status"] for r in csv.DictReader(f)]
    assert statuses == ["done"] + ["failed"] * 3000
    assert len(writes) <= 10, len(writes)


def test_a_full_disk_is_one_line_naming_the_file(pictures, capsys, full_disk):  # noqa: F811
    Path("jobs.csv").write_text("content,style,output\nin/photo.png,in/style.png,a.png\n")
    code = main(["batch", "jobs.csv", "-o", str(full_disk / "out"), "--workers", "0", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert f"cannot write {full_disk / 'out'}" in err and "No space left on device" in err and "free some space" in err
    assert not [p for p in (full_disk / "out").iterdir() if ".tmp" in p.name]


def test_a_read_only_output_folder_is_refused_before_anything_runs(pictures, capsys, read_only_disk):  # noqa: F811
    Path("jobs.csv").write_text("content,style,output\nin/photo.png,in/style.png,a.png\n")
    code = main(["batch", "jobs.csv", "-o", str(read_only_disk), "--workers", "0", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == f"nstyle: error: cannot write in {read_only_disk} (Read-only file system); " \
                                        "choose another folder for the results"


CELLS = st.sampled_from(["", "64", "1e3", "0", "-1", "nan", "inf", "abc", "1e400", "32.5", " 48 "])


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(CELLS, CELLS), min_size=1, max_size=6))
def test_a_job_list_is_taken_whole_or_refused_naming_its_first_bad_row(tmp_path_factory, rows):
    """Whatever the cells: either every row is valid and every job made, or one UsageError names the first row
    at fault (checked against each row alone) and how many more there are."""
    folder = tmp_path_factory.mktemp("csv")
    jobs_csv = folder / "jobs.csv"

    def write(lines) -> None:
        jobs_csv.write_text("content,style,size,style_weight\n" + "".join(f"a.png,b.png,{s},{w}\n" for s, w in lines))

    bad = []
    for number, row in enumerate(rows, start=2):
        write([row])
        try:
            jobs_from_csv(jobs_csv)
        except UsageError:
            bad.append(number)
    write(rows)
    if not bad:
        assert len(jobs_from_csv(jobs_csv)) == len(rows)
        return
    with pytest.raises(UsageError) as refused:
        jobs_from_csv(jobs_csv)
    message = str(refused.value)
    assert message.startswith(f"jobs.csv line {bad[0]}: ") and "\n" not in message
    assert (f"(and {len(bad) - 1} more rows" in message) == (len(bad) > 1)


def test_a_full_disk_stops_the_batch_keeping_what_was_finished(pictures, capsys, monkeypatch):
    """ENOSPC at the second job's image: one line naming it, exit 2, the first job's result and row kept, the
    jobs after it not painted for nothing (beyond the two queued ahead)."""
    import errno
    import os

    from nstyle.core import engine

    painted = []
    monkeypatch.setattr(engine, "run", lambda *a, **k: (painted.append(1), stand_in_run(*a, **k))[1])
    real_fsync = os.fsync

    def fsync(fd):
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(".b.png."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    code, err = batch("content,style,output\n" + "".join(f"in/photo.png,in/style.png,{n}.png\n" for n in "abcdef"),
                      capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"cannot write {pictures / 'out' / 'b.png'} (No space left on device)" in err
    assert len(painted) <= 4 and (pictures / "out" / "a.png").is_file()
    assert not any((pictures / "out" / f"{n}.png").exists() for n in "bcdef")
    with open(pictures / "out" / "results.csv", newline="") as f:
        rows = {r["output"]: r["status"] for r in csv.DictReader(f)}
    assert rows["a.png"] == "done" and rows.get("b.png") in (None, "failed") and not set(rows) & {"d.png", "e.png"}
