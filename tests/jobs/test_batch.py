"""``nstyle batch``: a job list checked before anything runs, failures recorded without stopping the others,
finished work kept and skipped on a rerun, locally and on Ray."""

import csv
import shutil
import sys
from concurrent.futures import Future
from pathlib import Path

import pytest
from PIL import Image

from nstyle.cli import main
from nstyle.errors import UsageError
from nstyle.jobs.batch import LOCK, RESULTS, holding, jobs_from_csv, jobs_from_globs, run_batch
from nstyle.jobs.spec import InputImage, JobOutcome, JobSpec, encode_png

TINY = "64,3,1"  # size, iterations, levels: one small level, a few evaluations


@pytest.fixture
def job_list(tmp_path, images) -> Path:
    """Four jobs at 64 px; the third's content is a truncated JPEG."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in ("tubingen", "starry_night", "shipwreck"):
        shutil.copy(images[name], folder / f"{name}.jpg")
    (folder / "broken.jpg").write_bytes((folder / "tubingen.jpg").read_bytes()[:3000])
    jobs = folder / "jobs.csv"
    jobs.write_text("content,style,size,iterations,levels,style_weight\n"
                    f"tubingen.jpg,starry_night.jpg,{TINY},\n"
                    f"shipwreck.jpg,starry_night.jpg;tubingen.jpg,{TINY},\n"
                    f"broken.jpg,starry_night.jpg,{TINY},\n"
                    f"tubingen.jpg,shipwreck.jpg,{TINY},1000\n")
    return jobs


def read_results(folder: Path) -> list[dict]:
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def outputs(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.png")}


EXPECTED = {"tubingen_starry_night.png", "shipwreck_starry_night+tubingen.png", "tubingen_shipwreck.png"}


def check_first_run(code: int, err: str, out: Path) -> None:
    assert code == 1
    assert "1 of 4 jobs failed" in err
    assert set(outputs(out)) == EXPECTED
    for name in EXPECTED:
        with Image.open(out / name) as image:
            assert max(image.size) == 64
    rows = read_results(out)
    assert [r["status"] for r in rows] == ["done", "done", "failed", "done"]
    failed = rows[2]
    assert failed["content"].endswith("broken.jpg") and "truncated" in failed["error"]
    assert "\n" not in failed["error"]
    assert all(float(r["seconds"]) > 0 and float(r["style_loss"]) > 0 for r in rows if r["status"] == "done")
    assert '"style_weight": 1000.0' in rows[3]["options"]


def check_rerun_skips(job_list: Path, out: Path, extra: list[str], capsys) -> None:
    before = outputs(out)
    code = main(["batch", str(job_list), "-o", str(out), "-q", *extra])
    assert code == 1  # the broken image fails again
    assert [r["status"] for r in read_results(out)] == ["skipped", "skipped", "failed", "skipped"]
    assert outputs(out) == before  # the same bytes, not even rewritten
    assert "0 done, 3 skipped, 1 failed" in capsys.readouterr().out


@pytest.mark.integration
def test_a_failing_job_is_recorded_and_a_rerun_skips_the_done_ones(job_list, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["batch", str(job_list), "-o", str(out), "-q", "--workers", "2"])
    check_first_run(code, capsys.readouterr().err, out)
    check_rerun_skips(job_list, out, ["--workers", "2"], capsys)


@pytest.mark.integration
def test_the_same_batch_on_a_local_ray_instance(job_list, tmp_path, capsys, ray_local):
    out = tmp_path / "out"
    code = main(["batch", str(job_list), "-o", str(out), "-q", "--ray"])
    check_first_run(code, capsys.readouterr().err, out)
    check_rerun_skips(job_list, out, ["--ray"], capsys)


@pytest.mark.integration
def test_a_changed_option_or_deleted_result_is_done_again(job_list, tmp_path, capsys):
    out = tmp_path / "out"
    main(["batch", str(job_list), "-o", str(out), "-q", "--workers", "0"])
    (out / "tubingen_shipwreck.png").unlink()
    job_list.write_text(job_list.read_text().replace(f"tubingen.jpg,starry_night.jpg,{TINY}",
                                                     "tubingen.jpg,starry_night.jpg,64,4,1"))
    capsys.readouterr()
    assert main(["batch", str(job_list), "-o", str(out), "-q", "--workers", "0"]) == 1
    assert [r["status"] for r in read_results(out)] == ["done", "skipped", "failed", "done"]


@pytest.mark.parametrize("header", ["content,size", "style,size", "contents,style", "content,style,sizee"])
def test_a_bad_header_is_a_usage_error_and_writes_nothing(tmp_path, capsys, header):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"{header}\na.jpg,b.jpg\n")
    out = tmp_path / "out"
    code = main(["batch", str(jobs), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


@pytest.mark.parametrize("row, message", [
    (",b.jpg,64", "needs a content and a style"),
    ("a.jpg,b.jpg,64,extra", "more cells"),
])
def test_a_bad_row_is_a_usage_error_before_anything_runs(tmp_path, capsys, row, message):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"content,style,size\ntubingen.jpg,starry.jpg,64\n{row}\n")
    out = tmp_path / "out"
    assert main(["batch", str(jobs), "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cells_take_the_transfer_options_types_and_paths_are_relative_to_the_csv(tmp_path):
    jobs = tmp_path / "sub" / "jobs.csv"
    jobs.parent.mkdir()
    jobs.write_text("content,style,output,size,style_blend,preserve_color,mask,init,content_layers\n"
                    "a.jpg,b.jpg;c.jpg,x/one.jpg,96,0.7;0.3,luminance,m.png,content,relu4_2\n"
                    "a.jpg,b.jpg,,,,,,noise,\n")
    first, second = jobs_from_csv(jobs, defaults={"seed": 3, "size": 32})
    assert first.options == {"seed": 3, "size": 96, "style_blend": [0.7, 0.3], "preserve_color": "luminance",
                             "mask": jobs.parent / "m.png", "init": "content", "content_layers": ["relu4_2"]}
    assert first.content == jobs.parent / "a.jpg" and first.styles == [jobs.parent / "b.jpg", jobs.parent / "c.jpg"]
    assert first.output == "x/one.jpg"
    assert second.options == {"seed": 3, "size": 32, "init": "noise"}  # empty cells take the defaults
    assert second.output == "a_b.png"


def test_choices_are_checked_and_outputs_stay_distinct(tmp_path):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style,preserve_color\na.jpg,b.jpg,sepia\n")
    with pytest.raises(UsageError, match="jobs.csv line 2: --preserve-color .sepia.: choose from luminance or"):
        jobs_from_csv(jobs)
    jobs.write_text("content,style,size\na.jpg,b.jpg,64\na.jpg,b.jpg,128\n")
    assert [j.output for j in jobs_from_csv(jobs)] == ["a_b.png", "a_b-2.png"]
    jobs.write_text("content,style,output\na.jpg,b.jpg,same.png\nc.jpg,b.jpg,same\n")
    with pytest.raises(UsageError, match="both write same.png"):
        jobs_from_csv(jobs)
    jobs.write_text("content,style,output\na.jpg,b.jpg,../up.png\n")
    with pytest.raises(UsageError, match="inside the output folder"):
        jobs_from_csv(jobs)


def test_contents_and_styles_give_every_pair(tmp_path, package_images):
    for name in ("coffee", "chelsea"):
        shutil.copy(package_images[name], tmp_path / f"{name}.jpg")
    (tmp_path / "notes.txt").write_text("not an image")
    jobs = jobs_from_globs(str(tmp_path), str(package_images["rocket"].parent / "*ock*.jpg"), {"size": 64})
    assert [j.output for j in jobs] == ["chelsea_rocket.png", "coffee_rocket.png"]
    assert all(j.options == {"size": 64} for j in jobs)
    with pytest.raises(UsageError, match="matches no image files"):
        jobs_from_globs(str(tmp_path / "*.png"), str(tmp_path))


def test_without_ray_the_flag_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style\na.jpg,b.jpg\n")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails, as where it is not installed
    assert main(["batch", str(jobs), "-o", str(tmp_path / "out"), "--ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install 'nstyle[ray]'" in err
    assert not (tmp_path / "out").exists()


class DoneExecutor:
    """Every job done at once with a small image: what is run, not how, is under test."""

    capacity = 1

    def __init__(self, ran: list[str]):
        self.ran = ran

    def submit(self, spec, on_progress=None, cancel=None, preview_every=0):
        self.ran.append("+".join(s.name for s in spec.styles))
        future = Future()
        future.set_result(JobOutcome("done", image=encode_png(Image.new("RGB", (8, 6))), seconds=0.1, iterations=1))
        return future

    def shutdown(self, cancel_pending=False):
        pass


def test_a_job_whose_style_file_changed_runs_again(tmp_path):
    """The same names, other bytes: the job is not the one that was done, so it is not skipped."""
    contents, styles = tmp_path / "contents", tmp_path / "styles"
    contents.mkdir(), styles.mkdir()
    Image.new("RGB", (40, 30), "green").save(contents / "photo.png")
    for name, colour in (("a", "blue"), ("b", "red")):
        Image.new("RGB", (40, 30), colour).save(styles / f"{name}.png")
    out, ran = tmp_path / "out", []

    def batch() -> list[str]:
        ran.clear()
        assert run_batch(jobs_from_globs(str(contents), str(styles), {"size": 32}), out, lambda n: DoneExecutor(ran),
                         quiet=True) == 0
        return [r["status"] for r in read_results(out)]

    assert batch() == ["done", "done"] and ran == ["a.png", "b.png"]
    assert batch() == ["skipped", "skipped"] and ran == []
    Image.new("RGB", (40, 30), "yellow").save(styles / "b.png")
    assert batch() == ["skipped", "done"] and ran == ["b.png"]
    assert batch() == ["skipped", "skipped"] and ran == []


def test_a_job_key_holds_every_input_s_bytes_and_every_option(tmp_path):
    weights = tmp_path / "weights.h5"
    weights.write_bytes(b"one")
    photo, style, mask = (InputImage(f"{n}.png", n.encode()) for n in ("photo", "style", "mask"))
    base = JobSpec(photo, [style], {"size": 32, "weights": str(weights)}, {"mask": mask})
    key = base.key()
    assert JobSpec(photo, [style], {"size": 32, "weights": str(weights)}, {"mask": mask}).key() == key
    changed = [JobSpec(InputImage("photo.png", b"other"), [style], base.options, base.option_files),
               JobSpec(photo, [InputImage("style.png", b"other")], base.options, base.option_files),
               JobSpec(photo, [style], base.options, {"mask": InputImage("mask.png", b"other")}),
               JobSpec(photo, [style], base.options | {"size": 33}, base.option_files)]
    assert all(spec.key() != key for spec in changed)
    moved = tmp_path / "moved.h5"
    weights.rename(moved)
    assert JobSpec(photo, [style], {"size": 32, "weights": str(moved)}, {"mask": mask}).key() == key, \
        "a weights file counts by its bytes, not its name"
    moved.write_bytes(b"two")
    assert JobSpec(photo, [style], {"size": 32, "weights": str(moved)}, {"mask": mask}).key() != key


def test_a_stop_ends_in_process_jobs_at_once_and_keeps_results_csv(tmp_path, monkeypatch, capsys):
    """--workers 0: SIGTERM (as Ctrl-C) stops the running job at its next iteration instead of waiting for its end;
    results.csv keeps the finished job and no row for the stopped one. No network: the engine's run is a stand-in."""
    import os
    import signal
    import threading
    import time

    import torch

    from nstyle import cli
    from nstyle.core import engine
    from nstyle.core.optim import IterationRecord, StopOptimization
    from nstyle.core.stops import Stop
    from nstyle.jobs.spec import ThreadExecutor

    started = threading.Event()

    def run(content, style, callback=None, **options):
        long = options.get("iterations") == 999
        for i in range(1, 100_000 if long else 3):
            try:
                callback(IterationRecord(i, 1.0, 0.5, 0.4, 0.1, 0.01, i * 0.01), torch.zeros(1, 3, 6, 8))
            except StopOptimization as stop:
                return engine.TransferResult(Image.new("RGB", (8, 6)), [], None, 0, Stop.of(str(stop)))
            if long and i == 2:
                started.set()
            time.sleep(0.01)
        return engine.TransferResult(Image.new("RGB", (8, 6)), [], None, 0, Stop.COMPLETED)

    monkeypatch.setattr(engine, "run", run)
    contents = tmp_path / "in"
    contents.mkdir()
    Image.new("RGB", (40, 30), "green").save(contents / "photo.png")
    Image.new("RGB", (40, 30), "blue").save(contents / "style.png")
    (tmp_path / "jobs.csv").write_text("content,style,iterations,output\n"
                                       "in/photo.png,in/style.png,2,quick.png\nin/photo.png,in/style.png,999,long.png\n")
    jobs = jobs_from_csv(tmp_path / "jobs.csv")
    results, default = tmp_path / "out" / RESULTS, signal.getsignal(signal.SIGTERM)

    def terminate_once_the_quick_one_is_kept() -> None:
        started.wait(30)
        deadline = time.monotonic() + 30
        while not (results.is_file() and "done" in results.read_text()) and time.monotonic() < deadline:
            time.sleep(0.01)
        if signal.getsignal(signal.SIGTERM) is not default:  # never the test runner's own end
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_once_the_quick_one_is_kept, daemon=True).start()
    begun = time.monotonic()
    with cli.sigterm_as_interrupt() as terminated:
        code = run_batch(jobs, tmp_path / "out", lambda n: ThreadExecutor(), quiet=True)
    assert code == 130 and terminated.is_set() and time.monotonic() - begun < 20
    assert "1 of 2 jobs done and kept" in capsys.readouterr().err
    assert [(r["output"], r["status"]) for r in read_results(tmp_path / "out")] == [("quick.png", "done")]


def stand_in_run(content, style, callback=None, **options):
    """The engine's run without a network: a few iterations and a flat picture."""
    import torch

    from nstyle.core import engine
    from nstyle.core.optim import IterationRecord
    from nstyle.core.stops import Stop

    for i in range(1, 3):
        callback(IterationRecord(i, 1.0, 0.5, 0.4, 0.1, 0.01, i * 0.01), torch.zeros(1, 3, 6, 8))
    return engine.TransferResult(Image.new("RGB", (8, 6), "red"), [], None, 0, Stop.COMPLETED)


@pytest.fixture
def small_batch(tmp_path, monkeypatch) -> Path:
    from nstyle.core import engine

    monkeypatch.setattr(engine, "run", stand_in_run)
    (tmp_path / "in").mkdir()
    Image.new("RGB", (40, 30), "green").save(tmp_path / "in" / "photo.png")
    Image.new("RGB", (40, 30), "blue").save(tmp_path / "in" / "style.png")
    (tmp_path / "jobs.csv").write_text("content,style,iterations,output\nin/photo.png,in/style.png,2,a.png\n"
                                       "in/photo.png,in/style.png,3,b.png\n")
    return tmp_path / "jobs.csv"


def test_a_rerun_removes_what_a_killed_batch_was_writing_and_nothing_else(small_batch, tmp_path):
    """A batch killed with SIGKILL (no handler runs) leaves the temporaries of the image and of results.csv it was
    writing; the next run in that folder deletes them, and keeps every other file."""
    from nstyle.jobs.spec import ThreadExecutor

    out = tmp_path / "out"
    out.mkdir()
    leftovers = [".a.png.k2_9xq0a.tmp.png", ".results.csv.a1b2c3d4.tmp.csv"]
    kept = [".a.png.backup", "notes.txt", ".c.png.a1b2c3d4.tmp.png"]  # the user's, and no output of this batch
    for name in leftovers + kept:
        (out / name).write_bytes(b"x")
    assert run_batch(jobs_from_csv(small_batch), out, lambda n: ThreadExecutor(), quiet=True) == 0
    names = {p.name for p in out.iterdir()}
    assert not names & set(leftovers)
    assert names >= {"a.png", "b.png", RESULTS, *kept} and LOCK not in names


def test_a_second_batch_in_a_folder_in_use_is_refused_in_one_line(small_batch, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with holding(out) as alone:
        assert alone
        assert main(["batch", str(small_batch), "-o", str(out), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "another nstyle batch is running in this folder" in err
    assert not (out / RESULTS).exists()
    assert main(["batch", str(small_batch), "-o", str(out), "--workers", "0", "-q"]) == 0  # free again


@pytest.mark.integration
def test_sigterm_stops_the_worker_processes_and_keeps_results_csv(tmp_path, images):
    """nstyle batch --workers 2 sent SIGTERM after a job is done: exit 143, every worker gone, results.csv whole."""
    import signal
    import subprocess
    import time

    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style,size,iterations,levels\n" + "".join(
        f"{images['tubingen']},{images[s]},64,{n},1\n"
        for s, n in (("starry_night", 2), ("shipwreck", 2000), ("starry_night", 2000))))
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "nstyle", "batch", str(jobs), "-o", str(out), "--workers", "2",
                               "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def workers() -> list[int]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) if entry.name.isdigit() else 0
                if parent == driver.pid:
                    found.append(int(entry.name))
            except OSError:
                pass
        return found

    try:
        deadline = time.time() + 240
        while not ((out / "results.csv").is_file() and "done" in (out / "results.csv").read_text()):
            assert driver.poll() is None and time.time() < deadline, \
                driver.stderr.read() if driver.poll() is not None else "timeout"
            time.sleep(0.2)
        children = workers()
        driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=60)
    finally:
        driver.kill()
    assert driver.returncode == 143, err
    assert "1 of 3 jobs done and kept" in err and "Traceback" not in err
    deadline = time.time() + 10
    while any(Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()
              for pid in children) and time.time() < deadline:
        time.sleep(0.2)
    assert time.time() < deadline, "the worker processes outlived the driver"
    assert [r["status"] for r in read_results(out)] == ["done"]
    assert sorted(p.name for p in out.iterdir()) == ["results.csv", "tubingen_starry_night.png"]
# ----------------------------------------------------------------------------------------------------------
# No output replaces an input


@pytest.fixture
def pictures(tmp_path) -> Path:
    """Two small pictures in ``pics``, a link to one, and a job list beside them."""
    pics = tmp_path / "pics"
    pics.mkdir()
    for name, colour in (("photo.png", "blue"), ("style.png", "red"), ("photo_style.png", "green")):
        Image.new("RGB", (40, 30), colour).save(pics / name)
    (pics / "link.png").symlink_to(pics / "photo.png")
    return pics


def digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def refused(args: list, capsys) -> str:
    code = main(["batch", *map(str, args), "-q", "--workers", "0", "--size", "32", "--iterations", "1"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("rows, folder, message", [
    ("photo.png,style.png,a.png\nphoto.png,style.png,photo.png\n", ".",
     "jobs.csv line 3: the output '{p}/photo.png' would replace its content image '{p}/photo.png'"),
    ("photo.png,style.png,./style.png\n", ".", "jobs.csv line 2: the output '{p}/style.png' would replace its style"),
    ("link.png,style.png,photo.png\n", ".",
     "the output '{p}/photo.png' would replace its content image '{p}/link.png' (the same file, through a symbolic"),
    ("photo.png,style.png,out/x.png,\nphoto.png,style.png,out/y.png,out/y.png\n", ".",
     "jobs.csv line 3: the output '{p}/out/y.png' would replace its --mask '{p}/out/y.png'"),
    ("photo.png,style.png,a.png,\nphoto.png,style.png,b.png,a.png\n", ".",  # one row's output, another's mask
     "jobs.csv line 2: the output '{p}/a.png' would replace the --mask of jobs.csv line 3 '{p}/a.png'"),
    ("photo.png,style.png,\n", "..", "the results table results.csv in -o '{p}/../results.csv' would replace the job"),
])
def test_a_row_whose_output_is_an_input_is_refused_before_anything_runs(pictures, capsys, rows, folder, message):
    jobs = pictures / "jobs.csv"
    jobs.write_text("content,style,output,mask\n" + rows)
    if folder == "..":  # the job list is DIR/results.csv
        jobs = jobs.rename(pictures.parent / "results.csv")
    before = digests(pictures.parent)
    line = refused([jobs, "-o", pictures / folder], capsys)
    assert line.startswith("nstyle: error: ") and message.format(p=pictures) in line
    assert digests(pictures.parent) == before and not (pictures / "out").exists()


def test_an_output_named_by_contents_and_styles_over_another_jobs_content_is_refused(pictures, capsys):
    before = digests(pictures)
    line = refused(["--contents", pictures / "photo*.png", "--styles", pictures / "style.png", "-o", pictures], capsys)
    assert ("--contents/--styles job 1: the output" in line
            and "would replace the content image of --contents/--styles job 2" in line)
    assert digests(pictures) == before


def test_a_wrong_option_for_contents_and_styles_is_one_usage_error_before_any_work(pictures, capsys):
    """Every job of --contents/--styles takes the command line's options: a wrong one is refused once (exit 2), not
    reported as the failure of every job."""
    code = main(["batch", "--contents", str(pictures / "photo.png"), "--styles", str(pictures / "style.png"), "-o",
                 str(pictures / "out"), "-q", "--workers", "0", "--size", "5"])
    err = capsys.readouterr().err
    assert code == 2 and "--size 5: must be at least 16" in err and len(err.strip().splitlines()) == 1, err
    assert not (pictures / "out").exists()


def test_run_batch_refuses_an_output_over_an_input(pictures):
    from nstyle.jobs.batch import run_batch

    jobs = pictures / "jobs.csv"
    jobs.write_text("content,style,output\nphoto.png,style.png,style.png\n")
    before = digests(pictures)
    with pytest.raises(UsageError, match="jobs.csv line 2: the output .* would replace its style image"):
        run_batch(jobs_from_csv(jobs), pictures, lambda n: pytest.fail("no executor before the check"))
    assert digests(pictures) == before


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_row_with_a_wrong_value_refuses_the_list_before_anything_runs(tmp_path, capsys, workers):
    """With --workers 0 as with worker processes: the first bad row is named in one line, with how many more there
    are (exit 2), and nothing runs or is written (the README's promise; issue 33)."""
    import nstyle.jobs.executors as executors

    for name, colour in (("a", "red"), ("b", "blue")):
        Image.new("RGB", (40, 30), colour).save(tmp_path / f"{name}.png")
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("content,style,size,style_weight\na.png,b.png,32,\na.png,b.png,32,nan\nb.png,a.png,big,\n"
                    "b.png,a.png,32,-1\nb.png,a.png,32,\n")
    ran: list[str] = []
    real = executors.make_executor
    try:
        executors.make_executor = lambda *args, **kwargs: DoneExecutor(ran)
        code = main(["batch", str(jobs), "-o", str(tmp_path / "out"), "--workers", workers, "-q"])
    finally:
        executors.make_executor = real
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == ("nstyle: error: jobs.csv line 3: --style-weight nan: must be a finite number "
                                         "(and 2 more rows with a wrong value); nothing was run: correct the job list")
    assert ran == [] and not (tmp_path / "out").exists()
