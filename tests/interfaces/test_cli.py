"""The command line: bad input gets one clear line and exit 2; runs write their outputs atomically."""

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nstyle.cli import main

TINY = ["--size", "32", "--iterations", "2", "-q"]


def run_cli(args, capsys):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one line, got: {err!r}"
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def photo(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(path)
    return path


def bad_inputs(tmp_path: Path, photo: Path) -> dict[str, Path]:
    png = photo.read_bytes()
    files = {
        "missing": tmp_path / "nope.png",
        "empty": tmp_path / "empty.png",
        "corrupt": tmp_path / "corrupt.png",
        "truncated": tmp_path / "truncated.png",
        "text": tmp_path / "notes.jpg",
        "directory": tmp_path,
    }
    files["empty"].write_bytes(b"")
    files["corrupt"].write_bytes(os.urandom(2000))
    files["truncated"].write_bytes(png[: len(png) // 2])
    files["text"].write_text("hello, not an image")
    huge = Image.new("1", (20000, 20000))  # a small file that decodes to 400 million pixels
    files["huge"] = tmp_path / "huge.png"
    huge.save(files["huge"])
    return files


@pytest.mark.parametrize("which", ["missing", "empty", "corrupt", "truncated", "text", "directory", "huge"])
@pytest.mark.parametrize("role", ["content", "style"])
def test_bad_input_image_is_one_line_usage_error(which, role, tmp_path, photo, capsys):
    bad = bad_inputs(tmp_path, photo)[which]
    out = tmp_path / "out.png"
    args = [bad, photo] if role == "content" else [photo, bad]
    code, _, err = run_cli(["transfer", *args, "-o", out, *TINY], capsys)
    assert code == 2
    line = one_line_error(err)
    assert line.startswith("nstyle: error: cannot read")
    assert not out.exists()


@pytest.mark.parametrize("output, problem", [
    ("missing-dir/out.png", "does not exist"),
    ("out.gif", "unknown image extension"),
    ("/proc/out.png", "not writable"),
])
def test_bad_output_path_fails_before_the_run(output, problem, tmp_path, photo, capsys):
    target = output if output.startswith("/") else tmp_path / output
    code, _, err = run_cli(["transfer", photo, photo, "-o", target, *TINY], capsys)
    assert code == 2
    assert problem in one_line_error(err)


@pytest.mark.parametrize("args, problem", [
    (["--model", "vgg99"], "invalid choice"),
    (["--style-layers", "relu9_1"], "has no layer"),
    (["--size", "4"], "at least 16"),
    (["--init", "nowhere.png"], "--init must be"),
    (["--style-layer-weights", "1", "2"], "style layer weights"),
    (["--iterations", "many"], "invalid int"),
])
def test_bad_options_are_usage_errors(args, problem, tmp_path, photo, capsys):
    code, _, err = run_cli(["transfer", photo, photo, "-o", tmp_path / "o.png", *TINY, *args], capsys)
    assert code == 2
    assert problem in one_line_error(err)


def test_wrong_weights_file_is_one_line_error(tmp_path, photo, capsys):
    wrong = tmp_path / "weights.h5"
    wrong.write_bytes(b"\x89HDF\r\n\x1a\n" + os.urandom(100))
    code, _, err = run_cli(["transfer", photo, photo, "-o", tmp_path / "o.png", *TINY, "--weights", wrong], capsys)
    assert code == 1
    assert "is not a keras-hdf5 file of vgg19 weights" in one_line_error(err)


def odd_images(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (36, 40, 3), dtype=np.uint8)
    paths = {}
    for mode in ("L", "RGBA", "CMYK", "P"):
        paths[mode] = tmp_path / f"{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        Image.fromarray(rgb).convert(mode).save(paths[mode])
    paths["I;16"] = tmp_path / "gray16.png"
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257)).save(paths["I;16"])
    return paths


def test_any_pillow_mode_is_accepted_and_output_written(tmp_path, photo, capsys):
    for mode, path in odd_images(tmp_path).items():
        out = tmp_path / f"out-{mode.replace(';', '')}.jpg"
        code, stdout, err = run_cli(["transfer", path, photo, "-o", out, *TINY], capsys)
        assert code == 0, err
        assert Image.open(out).format == "JPEG" and Image.open(out).mode == "RGB"


@pytest.mark.integration
def test_transfer_writes_image_log_plot_and_snapshots(tmp_path, images, capsys):
    out = tmp_path / "result.png"
    code, stdout, _ = run_cli(["transfer", images["tubingen"], images["starry_night"], "-o", out, "--size", "64",
                               "--iterations", "6", "--save-every", "3", "--plot", "-q"], capsys)
    assert code == 0
    assert f"wrote {out}" in stdout
    assert Image.open(out).size == (64, 48)  # tubingen is 1024 x 768
    rows = list(csv.DictReader(open(tmp_path / "result.losses.csv")))
    assert [int(r["iteration"]) for r in rows] == list(range(1, 7))
    assert all(float(r["total"]) > 0 and float(r["seconds"]) > 0 for r in rows)
    assert Image.open(tmp_path / "result.losses.png").size[0] > 600
    assert (tmp_path / "result_iter0003.png").is_file() and (tmp_path / "result_iter0006.png").is_file()
    assert not (tmp_path / "result.resume.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary files


@pytest.mark.integration
def test_paper_mode_prints_the_papers_lines(tmp_path, images, capsys):
    out = tmp_path / "paper.png"
    code, stdout, _ = run_cli(["transfer", images["tubingen"], images["starry_night"], "-o", out, "--paper",
                               "--size", "48", "--iterations", "1"], capsys)
    assert code == 0
    assert "Current loss value:" in stdout and "Image saved as paper_at_iteration_0.png" in stdout
    assert "Iteration 0 completed in" in stdout
    assert Image.open(out).size[1] == 48
    code, _, err = run_cli(["transfer", images["tubingen"], images["starry_night"], "-o", out, "--paper",
                            "--style-weight", "3"], capsys)
    assert code == 2 and "--paper fixes these settings" in one_line_error(err)


def default_sigint():
    """Runs in the child: a test runner started in the background ignores SIGINT, and children inherit that: restore
    the default so that the child turns SIGINT into KeyboardInterrupt as it does in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.integration
@pytest.mark.parametrize("stop, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["ctrl-c", "sigterm"])
def test_a_stop_writes_best_image_and_checkpoint_and_resume_finishes(stop, code, tmp_path, images):
    """Ctrl-C and SIGTERM (kill, systemd, Docker, Ray) stop alike: the best image and a checkpoint are written."""
    out = tmp_path / "long.png"
    cmd = [sys.executable, "-m", "nstyle", "transfer", str(images["tubingen"]), str(images["starry_night"]),
           "-o", str(out), "--size", "64", "--iterations", "2000", "--save-every", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    try:
        deadline = time.time() + 120
        while not (tmp_path / "long_iter0004.png").exists():
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() else "timeout"
            time.sleep(0.2)
        proc.send_signal(stop)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "interrupted after" in err and "--resume" in err and "Traceback" not in err
    assert Image.open(out).size == (64, 48)  # tubingen is 1024 x 768
    done = sum(1 for _ in open(tmp_path / "long.losses.csv")) - 1
    assert done >= 4 and (tmp_path / "long.resume.json").is_file() and (tmp_path / "long.resume.png").is_file()
    killed_mid_write = tmp_path / ".long.resume.png.k2_9xq0a.tmp.png"  # what a SIGKILL while saving would leave
    killed_mid_write.write_bytes(b"half")
    # resume with a total of done + 3 iterations: exactly 3 more run
    resume = subprocess.run(cmd[:-7] + ["--size", "64", "--iterations", str(done + 3), "--resume", "-q"],
                            capture_output=True, text=True, timeout=120)
    assert resume.returncode == 0, resume.stderr
    rows = list(csv.DictReader(open(tmp_path / "long.losses.csv")))
    assert [int(r["iteration"]) for r in rows] == list(range(1, done + 4))
    assert not (tmp_path / "long.resume.json").exists() and not (tmp_path / "long.resume.png").exists()
    assert not killed_mid_write.exists()


def _process_state(pid: int) -> tuple[bool, bool]:
    """Whether the process catches SIGTERM (nstyle's handler is in place) and has a weights file open."""
    caught = any(line.startswith("SigCgt:") and int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1))
                 for line in open(f"/proc/{pid}/status"))
    try:
        opened = any(".safetensors" in line for line in open(f"/proc/{pid}/maps")) or any(
            ".safetensors" in os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        opened = False
    return caught, opened


@pytest.mark.integration
@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the process's state from /proc")
def test_sigterm_while_the_network_loads_is_one_line_and_writes_nothing(tmp_path, images):
    out = tmp_path / "o.png"
    # A first level large enough that the first iteration cannot end between two looks at the process.
    proc = subprocess.Popen([sys.executable, "-m", "nstyle", "transfer", str(images["tubingen"]),
                             str(images["starry_night"]), "-o", str(out), "--size", "256", "--levels", "1", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not all(_process_state(proc.pid)):
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read() if proc.poll() else "timeout"
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        stdout, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err
    assert one_line_error(err) == "nstyle: interrupted before the first iteration; nothing was written"
    assert stdout == "" and sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("stop, code", [("sigterm", 143), ("ctrl-c", 130)])
def test_a_stop_during_start_up_is_one_line_and_writes_nothing(stop, code, tmp_path, photo, capsys, monkeypatch):
    """In process, no network: the stop comes while the network would load."""
    from nstyle.core import engine

    before = signal.getsignal(signal.SIGTERM)

    def loading(*args, **kwargs):
        if stop == "ctrl-c":
            raise KeyboardInterrupt
        assert signal.getsignal(signal.SIGTERM) is not before, "nstyle's handler must be in place (else: killed)"
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(10)  # the handler raises here
        pytest.fail("SIGTERM did not interrupt")

    monkeypatch.setattr(engine, "load_network", loading)
    out = tmp_path / "o.png"
    code_seen, _, err = run_cli(["transfer", photo, photo, "-o", out, *TINY], capsys)
    assert code_seen == code
    assert one_line_error(err) == "nstyle: interrupted before the first iteration; nothing was written"
    assert not out.exists() and not (tmp_path / "o.resume.json").exists()
    assert signal.getsignal(signal.SIGTERM) is before, "main restores the handler it replaced"


def test_a_second_sigterm_does_not_cut_short_the_stop_the_first_started(capsys):
    """The first SIGTERM raises; one more while the best image is being written is ignored."""
    from nstyle import cli

    with cli.sigterm_as_interrupt() as terminated:
        with pytest.raises(cli.Terminated):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(10)
        os.kill(os.getpid(), signal.SIGTERM)  # ignored: the stop is under way
        time.sleep(0.05)
    assert terminated.is_set() and isinstance(cli.Terminated(), KeyboardInterrupt)


def test_resume_without_checkpoint_is_usage_error(tmp_path, photo, capsys):
    code, _, err = run_cli(["transfer", photo, photo, "-o", tmp_path / "o.png", *TINY, "--resume"], capsys)
    assert code == 2 and "no checkpoint" in one_line_error(err)


def test_version_and_demo(tmp_path, capsys):
    assert main(["--version"]) == 0 and capsys.readouterr().out.startswith("nstyle ")
    out = tmp_path / "demo.png"
    code, stdout, _ = run_cli(["demo", "-o", out, "--size", "40", "--iterations", "2"], capsys)
    assert code == 0 and "chelsea" in stdout
    assert Image.open(out).size == (40, 27) and (tmp_path / "demo.losses.png").is_file()


@pytest.fixture
def red_blue_mask(tmp_path) -> Path:
    mask = np.zeros((40, 48, 3), dtype=np.uint8)
    mask[:, :24] = (255, 0, 0)
    mask[:, 24:] = (0, 0, 255)
    path = tmp_path / "mask.png"
    Image.fromarray(mask).save(path)
    return path


@pytest.mark.parametrize("args, problem", [
    (["--style", "{p}", "{p}", "--style-blend", "0.7"], "--style-blend has 1 weight(s) for 2 style image(s)"),
    (["{p}", "--style", "{p}"], "either after CONTENT or with --style"),
    ([], "give a style image"),
    (["{p}", "--style-blend", "-1"], "--style-blend -1 (value 1): must be at least 0"),
    (["{p}", "--strength", "1.5"], "--strength 1.5: must be at most 1"),
    (["{p}", "--strength", "0.5", "--style-weight", "10"], "not both"),
    (["{p}", "--style-scale", "0"], "--style-scale 0: must be more than 0"),
    (["{p}", "--preserve-color", "hue"], "invalid choice"),
    (["--style", "{p}", "{p}", "--mask", "{mask}"], None),  # a colour mask needs --mask-colors: below
    (["--style", "{p}", "{p}", "--mask", "{mask}", "--mask-colors", "red"], "1 colour(s) for 2 style(s)"),
    (["--style", "{p}", "{p}", "--mask", "{mask}", "--mask-colors", "red", "green"], "has no style"),
    (["{p}", "--mask-colors", "red"], "--mask-colors needs a --mask"),
    (["{p}", "--content-map", "{mask}"], "needs both --content-map and --style-map"),
    (["{p}", "--content-map", "{mask}", "--style-map", "{red}"], "has no region of colour #0000ff"),
    (["{p}", "--mask", "{mask}", "--content-map", "{mask}", "--style-map", "{mask}"], "not both"),
    (["{p}", "--auto-maps", "1"], "--auto-maps '1': give a number of regions, 2 to 8, or auto"),
    (["{p}", "--auto-maps", "2", "--mask", "{mask}"], "--auto-maps finds the maps itself; give it or --mask"),
    (["{p}", "--save-maps", "{t}/maps"], "--save-maps writes the maps that --auto-maps finds"),
    (["{p}", "--auto-maps", "2", "--save-maps", "{t}/maps", "--paper"],
     "--paper replays the paper's run, which has no maps"),
])
def test_control_mistakes_are_one_line_usage_errors(args, problem, tmp_path, photo, red_blue_mask, capsys):
    red = tmp_path / "red.png"
    Image.new("RGB", (48, 40), "red").save(red)
    args = [a.format(p=photo, mask=red_blue_mask, red=red, t=tmp_path) for a in args]
    code, _, err = run_cli(["transfer", photo, *args, "-o", tmp_path / "o.png", *TINY], capsys)
    assert code == 2
    assert (problem or "give --mask-colors") in one_line_error(err)
    assert not (tmp_path / "o.png").exists()


def test_sweep_rejects_strengths_outside_0_1(tmp_path, photo, capsys):
    code, _, err = run_cli(["sweep", photo, photo, "-o", tmp_path / "g.png", "--strength", "0.2", "2", *TINY], capsys)
    assert code == 2 and "between 0 and 1" in one_line_error(err)


@pytest.mark.parametrize("stopped_at, code, kept", [(1, 130, False), (2, 130, True)])
def test_a_sweep_stopped_while_a_network_loads_keeps_the_strengths_done(stopped_at, code, kept, tmp_path, photo,
                                                                        capsys, monkeypatch):
    """Two styles (no judge network); the engine's run is a stand-in that is stopped on its ``stopped_at``-th call."""
    from nstyle.core import engine
    from nstyle.core.optim import IterationRecord

    calls = []

    def run(content, styles, callback=None, **options):
        calls.append(options["strength"])
        if len(calls) == stopped_at:
            raise KeyboardInterrupt  # while this strength's network loads
        return engine.TransferResult(Image.new("RGB", (48, 40)), [IterationRecord(1, 1, 1, 1, 0, 0.1, 0.1)],
                                     None, 1, "completed")

    monkeypatch.setattr(engine, "run", run)
    grid = tmp_path / "grid.png"
    code_seen, _, err = run_cli(["sweep", photo, "--style", photo, photo, "-o", grid, "--strength", "0.2", "0.8",
                                 *TINY], capsys)
    assert code_seen == code and grid.exists() == kept
    if kept:
        assert "sweep interrupted; writing the strengths done so far" in err
    else:
        assert one_line_error(err) == "nstyle: interrupted before the first iteration; nothing was written"


def test_output_piped_into_a_closed_reader_ends_quietly():
    """`nstyle models | head -1`: the reader leaves early; no traceback, only the line it read."""
    reader = subprocess.run(f"{sys.executable} -m nstyle models | head -1", shell=True, capture_output=True,
                            text=True, timeout=120)
    assert reader.stdout.startswith("vgg19")
    assert "Traceback" not in reader.stderr and "BrokenPipe" not in reader.stderr, reader.stderr


@pytest.fixture
def taken_port():
    """A port on 127.0.0.1 that another program is listening on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_serve_on_a_taken_port_is_one_line_before_the_banner(tmp_path, taken_port):
    pytest.importorskip("uvicorn", reason="the web extra is not installed")
    serve = subprocess.run([sys.executable, "-m", "nstyle", "serve", "--port", str(taken_port), "--data",
                            str(tmp_path / "data")], capture_output=True, text=True, timeout=120)
    assert serve.returncode == 2
    assert serve.stdout == ""  # no banner for a server that never listens
    assert one_line_error(serve.stderr) == (f"nstyle: error: port {taken_port} on 127.0.0.1 is in use; stop what "
                                            "is using it or give another --port")


def test_serve_hands_its_own_socket_and_hosts_to_uvicorn(tmp_path, capsys, monkeypatch):
    """The port is bound before the banner and uvicorn serves that socket; --allow-host reaches the app."""
    uvicorn = pytest.importorskip("uvicorn", reason="the web extra is not installed")
    served = {}

    def run(server, sockets=None):  # instead of serving: what uvicorn was given
        served["address"] = sockets[0].getsockname()
        served["hosts"] = server.config.app.user_middleware[0].kwargs["allowed_hosts"]

    monkeypatch.setattr(uvicorn.Server, "run", run)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out, _ = run_cli(["serve", "--port", port, "--data", tmp_path / "data", "--allow-host", "MyLaptop.lan",
                            "--allow-host", "192.168.1.5:8000"], capsys)
    assert code == 0 and out.startswith(f"nstyle serve: http://127.0.0.1:{port}/")
    assert served == {"address": ("127.0.0.1", port),
                      "hosts": ("localhost", "127.0.0.1", "::1", "mylaptop.lan", "192.168.1.5")}


@pytest.mark.parametrize("name", ["http://mylaptop/", "user@host", "a b", "*.example.com"])
def test_serve_refuses_an_allow_host_that_is_not_a_host_name(name, tmp_path, capsys):
    code, out, err = run_cli(["serve", "--allow-host", name, "--data", tmp_path / "data"], capsys)
    assert code == 2 and out == ""
    assert one_line_error(err).startswith(f"nstyle: error: --allow-host {name!r}: give a host name or address")


def test_serve_stops_on_sigterm_through_uvicorns_graceful_shutdown(tmp_path):
    """uvicorn catches SIGTERM while it serves, shuts down, then raises it again: nstyle's handler makes that the
    one line of any stop and exit 143."""
    pytest.importorskip("uvicorn", reason="the web extra is not installed")
    from .web_server import free_port, wait_until_serving

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "nstyle", "serve", "--port", str(port), "--data",
                               str(tmp_path / "data")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until_serving(server, f"http://127.0.0.1:{port}"), "nstyle serve did not start"
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    finally:
        server.kill()
    assert server.returncode == 143
    assert out.startswith("nstyle serve: http://127.0.0.1") and one_line_error(err) == "nstyle: interrupted"
# ----------------------------------------------------------------------------------------------------------
# No output replaces an input


def digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links followed) and the sha256 of its bytes."""
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def inputs(tmp_path) -> Path:
    """A 1024x768 photo, a style, links to them and small images named like the outputs of ``-o out.png``."""
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (768, 1024, 3), dtype=np.uint8)).save(tmp_path / "photo.jpg")
    Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "style.jpg")
    (tmp_path / "link.jpg").symlink_to(tmp_path / "style.jpg")
    os.link(tmp_path / "photo.jpg", tmp_path / "twin.jpg")
    for name in ("out.png", "out_iter0002.png", "out.resume.png", "out.losses.csv", "out.losses.png",
                 "out_at_iteration_1.png", "map.png", "grid.csv"):
        Image.new("RGB", (64, 48), "gray").save(tmp_path / name, format="PNG")
    return tmp_path


@pytest.mark.parametrize("args, message", [
    (["photo.jpg", "style.jpg", "-o", "photo.jpg"], "-o '{t}/photo.jpg' would replace the content image 'photo.jpg'"),
    (["photo.jpg", "style.jpg", "-o", "./style.jpg"], "-o '{t}/style.jpg' would replace the style image 'style.jpg'"),
    (["photo.jpg", "style.jpg", "-o", "link.jpg"],  # the link is named: it is the output (io.atomic replaces it)
     "-o '{t}/link.jpg' would replace the style image 'style.jpg' (the same file, through a symbolic link)"),
    (["photo.jpg", "link.jpg", "-o", "style.jpg"],
     "would replace the style image 'link.jpg' (the same file, through a symbolic link)"),
    (["photo.jpg", "style.jpg", "-o", "twin.jpg"], "the content image 'photo.jpg' (the same file, a hard link)"),
    (["photo.jpg", "--style", "out.png", "style.jpg", "-o", "style.jpg"], "would replace the style image 'style.jpg'"),
    (["photo.jpg", "style.jpg", "--mask", "out.png", "-o", "out.png"], "would replace --mask 'out.png'"),
    (["photo.jpg", "style.jpg", "--content-map", "map.png", "--style-map", "map.png", "out.png", "-o", "out.png"],
     "would replace --style-map 'out.png'"),
    (["out_iter0002.png", "style.jpg", "-o", "out.png", "--save-every", "2"],
     "a --save-every snapshot of -o '{t}/out_iter0002.png' would replace the content image"),
    (["photo.jpg", "style.jpg", "--init", "out.resume.png", "-o", "out.png"],
     "the checkpoint image of -o '{t}/out.resume.png' would replace --init 'out.resume.png'"),
    (["photo.jpg", "style.jpg", "--weights", "out.losses.csv", "-o", "out.png"],
     "the loss table of -o '{t}/out.losses.csv' would replace --weights"),
    (["photo.jpg", "out.losses.png", "-o", "out.png", "--plot"], "the loss curve of -o (--plot)"),
    (["--paper", "photo.jpg", "style.jpg", "-o", "photo.jpg"], "-o '{t}/photo.jpg' would replace the content image"),
    (["--paper", "photo.jpg", "style.jpg", "-o", "out.png", "--iterations", "2", "--weights",
      "out_at_iteration_1.png"], "a round's image of -o '{t}/out_at_iteration_1.png' would replace --weights"),
])
def test_transfer_never_writes_over_an_input(args, message, inputs, capsys, monkeypatch):
    monkeypatch.chdir(inputs)
    before = digests(inputs)
    code, out, err = run_cli(["transfer", *args, *TINY], capsys)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith("nstyle: error: ") and message.format(t=inputs) in line
    assert line.endswith("nstyle never writes over its inputs: give -o another name")
    assert digests(inputs) == before  # every input's bytes, and no file added


def test_saved_maps_never_write_over_an_input(inputs, capsys, monkeypatch):
    monkeypatch.chdir(inputs)
    Image.new("RGB", (64, 48), "gray").save(inputs / "style_map.png")
    before = digests(inputs)
    code, out, err = run_cli(["transfer", "photo.jpg", "style_map.png", "--auto-maps", "2", "--save-maps", ".",
                              "-o", "o.png", *TINY], capsys)
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert "a map of --save-maps 'style_map.png' would replace the style image 'style_map.png'" in line
    assert line.endswith("give --save-maps another folder")
    assert digests(inputs) == before


def test_demo_never_writes_over_its_images(inputs, capsys, monkeypatch):
    monkeypatch.setattr("nstyle.commands.demo.demo_images", lambda: (inputs / "photo.jpg", inputs / "style.jpg"))
    before = digests(inputs)
    code, _, err = run_cli(["demo", "-o", inputs / "style.jpg", "--size", "32", "--iterations", "1"], capsys)
    assert code == 2 and "would replace the style image" in one_line_error(err)
    assert digests(inputs) == before


@pytest.mark.parametrize("args, message", [
    (["photo.jpg", "style.jpg", "-o", "photo.jpg"], "-o '{t}/photo.jpg' would replace the content image"),
    (["photo.jpg", "link.jpg", "-o", "style.jpg"], "would replace the style image 'link.jpg' (the same file, through"),
    (["grid.csv", "style.jpg", "-o", "grid.png"], "the CSV of -o '{t}/grid.csv' would replace the content image"),
])
def test_sweep_never_writes_over_an_input(args, message, inputs, capsys, monkeypatch):
    monkeypatch.chdir(inputs)
    before = digests(inputs)
    code, _, err = run_cli(["sweep", *args, "--strength", "0.5", *TINY], capsys)
    assert code == 2 and message.format(t=inputs) in one_line_error(err)
    assert digests(inputs) == before


def test_sweep_api_never_writes_over_an_input(inputs):
    from nstyle import UsageError, sweep

    before = digests(inputs)
    with pytest.raises(UsageError, match="would replace the style image"):
        sweep(inputs / "photo.jpg", [inputs / "out.png", inputs / "style.jpg"], [0.5], inputs / "style.jpg",
              size=32, iterations=1)
    assert digests(inputs) == before


def test_serve_that_cannot_start_leaves_no_data_folder_but_keeps_an_old_one(tmp_path, taken_port):
    pytest.importorskip("uvicorn", reason="the web extra is not installed")
    old = tmp_path / "old"
    old.mkdir()
    for data in (tmp_path / "new" / "data", old):
        serve = subprocess.run([sys.executable, "-m", "nstyle", "serve", "--port", str(taken_port), "--data",
                                str(data)], capture_output=True, text=True, timeout=120)
        assert serve.returncode == 2 and "is in use" in one_line_error(serve.stderr)
    assert not (tmp_path / "new").exists()
    assert old.is_dir()
