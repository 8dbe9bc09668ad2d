"""`nstyle compare` and the common judge, on two small backbones at 96 px."""

import csv
import os
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

from nstyle.cli import main
from nstyle.eval.compare import TABLE_COLUMNS
from nstyle.eval.judge import Judge, image_health
from nstyle.io.images import load_image

SMALL = ["squeezenet1_1", "alexnet"]


def test_image_health_flags_black_flat_and_washed_out():
    assert image_health(PIL.Image.new("RGB", (32, 32), (2, 2, 2))) == ["black", "flat"]
    assert image_health(PIL.Image.new("RGB", (32, 32), (250, 250, 250))) == ["washed-out", "flat"]
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert image_health(PIL.Image.fromarray(noise)) == []


@pytest.mark.integration
def test_judge_tells_content_from_style(images):
    content, style = load_image(images["tubingen"]), load_image(images["starry_night"])
    judge = Judge(content, style, size=96)
    on_content, on_style = judge(content), judge(style)
    assert on_content.content < 1e-6 and on_style.content > 0.5
    assert on_style.style < 0.5 * on_content.style


@pytest.mark.integration
def test_compare_writes_every_file(tmp_path, images, capsys):
    out = tmp_path / "cmp"
    code = main(["compare", str(images["tubingen"]), str(images["starry_night"]), "-o", str(out),
                 "--models", ",".join(SMALL), "--size", "96", "--iterations", "15", "-q"])
    assert code == 0, capsys.readouterr().err
    expected = {"grid.png", "losses.png", "losses_normalised.png", "table.md", "table.csv", "report.md"}
    expected |= {f"{m}{suffix}" for m in SMALL for suffix in (".png", ".losses.csv")}
    assert expected <= {p.name for p in out.iterdir()}
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert [r["model"] for r in rows] == SMALL and list(rows[0]) == list(TABLE_COLUMNS)
    for row in rows:
        assert int(row["iterations"]) == 15
        for column in ("seconds_per_iteration", "judge_content", "judge_style", "final_total"):
            assert np.isfinite(float(row[column])) and float(row[column]) >= 0
        assert 0 < float(row["judge_content"]) and 0 < float(row["judge_style"])
    grid = PIL.Image.open(out / "grid.png")
    assert grid.width > 4 * 96 and grid.height > 64  # content, style and two tiles
    md = (out / "table.md").read_text().splitlines()
    assert md[0].startswith("| model |") and len(md) == 2 + len(SMALL)
    report = (out / "report.md").read_text()
    assert "grid.png" in report and "losses.png" in report and all(m in report for m in SMALL)


def test_compare_unknown_model_is_a_usage_error(tmp_path, capsys):
    code = main(["compare", "a.jpg", "b.jpg", "-o", str(tmp_path / "o"), "--models", "vgg19,nonet"])
    err = capsys.readouterr().err
    assert code == 2 and "unknown network 'nonet'" in err and len(err.strip().splitlines()) == 1


def test_missing_weights_offline_is_one_clear_line(tmp_path, package_images):
    env = os.environ | {"NSTYLE_CACHE": str(tmp_path / "empty-cache"), "NSTYLE_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "nstyle", "compare", str(package_images["chelsea"]),
                           str(package_images["rocket"]), "-o", str(tmp_path / "o"), "--models", "alexnet",
                           "--size", "32", "--iterations", "1", "-q"], capture_output=True, text=True, env=env,
                          timeout=120)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr
    assert "are not in the cache" in lines[0] and "nstyle weights fetch" in lines[0]
    assert not (tmp_path / "o").exists(), "the folder made for the results goes when nothing could be written"


@pytest.fixture
def pictures(tmp_path):
    """A photo, a style, a truncated copy of the photo, and a folder ``cmp`` holding an input named grid.png."""
    rng = np.random.default_rng(0)
    PIL.Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "photo.jpg")
    PIL.Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "style.jpg")
    (tmp_path / "broken.jpg").write_bytes((tmp_path / "photo.jpg").read_bytes()[:300])
    (tmp_path / "cmp").mkdir()
    PIL.Image.new("RGB", (64, 48), "gray").save(tmp_path / "cmp" / "grid.png")
    return tmp_path


def digests(folder):
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def compare_cli(args, capsys):
    code = main(["compare", *map(str, args), "--models", "alexnet", "--size", "32", "--iterations", "1", "-q"])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return code, lines[0]


@pytest.mark.parametrize("output", ["fresh", "a/b/fresh"])
def test_compare_with_a_broken_image_leaves_no_folder(pictures, capsys, output):
    code, line = compare_cli([pictures / "broken.jpg", pictures / "style.jpg", "-o", pictures / output], capsys)
    assert code == 2 and line.startswith(f"nstyle: error: cannot read {str(pictures / 'broken.jpg')!r}")
    assert not (pictures / output.split("/")[0]).exists()


def test_compare_keeps_a_folder_that_existed_before(pictures, capsys):
    (pictures / "empty").mkdir()
    code, _ = compare_cli([pictures / "photo.jpg", pictures / "broken.jpg", "-o", pictures / "empty"], capsys)
    assert code == 2 and (pictures / "empty").is_dir()
    code, _ = compare_cli([pictures / "broken.jpg", pictures / "style.jpg", "-o", pictures / "cmp"], capsys)
    assert code == 2 and (pictures / "cmp" / "grid.png").is_file()


@pytest.mark.parametrize("content, style, message", [
    ("cmp/grid.png", "style.jpg", "compare's grid.png in -o '{t}/cmp/grid.png' would replace the content image"),
    ("photo.jpg", "cmp/alexnet.png", "compare's alexnet.png in -o '{t}/cmp/alexnet.png' would replace the style"),
    ("photo.jpg", "cmp/../cmp/table.md", "compare's table.md in -o '{t}/cmp/table.md' would replace the style image"),
])
def test_compare_never_writes_over_an_input(pictures, capsys, content, style, message):
    PIL.Image.new("RGB", (64, 48), "gray").save(pictures / "cmp" / "alexnet.png")
    PIL.Image.new("RGB", (64, 48), "gray").save(pictures / "cmp" / "table.md", format="PNG")
    before = digests(pictures)
    code, line = compare_cli([pictures / content, pictures / style, "-o", pictures / "cmp"], capsys)
    assert code == 2 and message.format(t=pictures) in line
    assert line.endswith("nstyle never writes over its inputs: give another -o folder")
    assert digests(pictures) == before


def test_compare_api_never_writes_over_an_input(pictures):
    from nstyle.errors import UsageError
    from nstyle.eval.compare import compare

    before = digests(pictures)
    with pytest.raises(UsageError, match="compare's alexnet.losses.csv in -o .* would replace --init"):
        compare(pictures / "photo.jpg", pictures / "style.jpg", pictures / "new", models=["alexnet"], size=32,
                iterations=1, init=str(pictures / "new" / "alexnet.losses.csv"))
    assert digests(pictures) == before and not (pictures / "new").exists()


@pytest.mark.parametrize("option", [{"content_layers": ["relu1_1"]}, {"weights": "vgg19.safetensors"},
                                    {"style_layer_weights": [1.0]}])
def test_compare_refuses_an_option_it_sets_per_network(option, pictures):
    """A network's layers or weights file would be given to every network: refused, naming it, before any work."""
    from nstyle.errors import UsageError
    from nstyle.eval.compare import compare

    with pytest.raises(UsageError, match=f"a comparison sets {next(iter(option))} per network"):
        compare(pictures / "photo.jpg", pictures / "style.jpg", pictures / "new", models=["alexnet"], size=32,
                iterations=1, **option)
    assert not (pictures / "new").exists()


def test_the_command_line_and_the_web_leave_out_what_compare_sets_per_network():
    """One COMPARE_FIXED: neither interface offers a per-network option; the web takes compare's own settings."""
    from nstyle.cli import build_parser
    from nstyle.eval.compare_options import OWN_SETTINGS, PER_NETWORK
    from nstyle.web.options import schema

    compare_parser = build_parser()._subparsers._group_actions[0].choices["compare"]
    flags = {a.dest for a in compare_parser._actions}
    assert not PER_NETWORK & flags and OWN_SETTINGS <= flags  # own flags (--size ...), with compare's defaults
    offered = {o["name"] for o in schema()["transfer"] if o["compare"]}
    assert not PER_NETWORK & offered and {"size", "iterations", "seed"} <= offered
