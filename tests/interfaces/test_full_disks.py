"""Full disks and read-only folders end in one line naming the path and what to do, with what was finished kept
(issue 33, item 5). The transfers here run a stand-in engine (a flat picture, two iterations): what is written,
not what is painted, is under test."""

import socket

import pytest
from PIL import Image

from nstyle.cli import main
from tests.disks import fsync_fails_for, full_disk, read_only_disk  # noqa: F401 (fixtures)


def stand_in_run(content, style, callback=None, **options):
    import torch

    from nstyle.core import engine
    from nstyle.core.optim import IterationRecord
    from nstyle.core.stops import Stop

    history = []
    for i in range(1, 3):
        history.append(IterationRecord(i, 1.0, 0.5, 0.4, 0.1, 0.01, i * 0.01))
        callback(history[-1], torch.zeros(1, 3, 6, 8))
    return engine.TransferResult(Image.new("RGB", (8, 6), "red"), history, None, 0, Stop.COMPLETED)


@pytest.fixture
def pictures(tmp_path, monkeypatch):
    from nstyle.core import engine

    monkeypatch.setattr(engine, "run", stand_in_run)
    monkeypatch.chdir(tmp_path)
    Image.new("RGB", (40, 30), "green").save("photo.png")
    Image.new("RGB", (40, 30), "blue").save("style.png")
    return tmp_path


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_full_disk_at_the_loss_table_keeps_the_image(pictures, capsys, monkeypatch):
    """ENOSPC when losses.csv is flushed: the picture written before it stays, the table's temporary goes."""
    fsync_fails_for(monkeypatch, ".losses.csv")
    code = main(["transfer", "photo.png", "style.png", "-o", "out.png", "--iterations", "2", "-q"])
    line = one_line(capsys)
    assert code == 2 and line == (f"nstyle: error: cannot write {pictures / 'out.losses.csv'} (No space left on "
                                  f"device): free some space on the disk that holds {pictures} (or give another "
                                  "output) and run again; what was finished before is kept")
    assert (pictures / "out.png").is_file() and not list(pictures.glob(".out.losses.csv*"))


def test_save_maps_naming_a_file_is_refused_before_the_run(pictures, capsys, monkeypatch):
    from nstyle.core import engine

    monkeypatch.setattr(engine, "run", lambda *a, **k: pytest.fail("the run started"))
    (pictures / "afile").write_text("not a folder")
    code = main(["transfer", "photo.png", "style.png", "-o", "out.png", "--auto-maps", "2", "--save-maps", "afile"])
    assert code == 2 and one_line(capsys) == ("nstyle: error: --save-maps 'afile': 'afile' is a file, not a folder; "
                                              "give --save-maps a folder")
    assert not (pictures / "out.png").exists()


def test_video_frames_to_a_full_disk_are_one_line_and_leave_no_folder(pictures, capsys, full_disk):  # noqa: F811
    (pictures / "frames").mkdir()
    for i in range(2):
        Image.new("RGB", (64, 48), (90 * i, 20, 20)).save(pictures / "frames" / f"f{i}.png")
    code = main(["video", "frames", "style.png", "-o", str(full_disk / "out"), "--size", "64", "--iterations", "2",
                 "--frame-iterations", "2", "--model", "alexnet", "-q"])
    line = one_line(capsys)
    assert code == 2 and line.startswith(f"nstyle: error: cannot write {full_disk / 'out'}/")
    assert "(No space left on device): free some space" in line
    assert not (full_disk / "out").exists()


def test_serve_on_a_read_only_data_folder_is_one_line(capsys, read_only_disk):  # noqa: F811
    pytest.importorskip("uvicorn", reason="the web extra is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["serve", "--port", str(port), "--data", str(read_only_disk)])
    assert code == 2 and one_line(capsys) == (f"nstyle: error: cannot write in {read_only_disk} (Read-only file "
                                              "system); give another --data folder")
