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
from nstyle.io.images import load_image
from nstyle.eval.judge import Judge, image_health

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
