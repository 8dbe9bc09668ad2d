"""`nstyle evaluate`: pairs matched by name, one-line errors before any network loads, the files it writes,
and numbers that do not depend on the order of the files."""

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import PIL.Image
import pytest

from nstyle.cli import main
from nstyle.eval import evaluate as evaluation
from nstyle.eval.evaluate import COLUMNS, evaluate, match_pairs

CONTENTS, STYLES = ("a", "b"), ("x", "y")


def save(path: Path, size=(64, 64), seed=0) -> Path:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    PIL.Image.fromarray(pixels).save(path)
    return path


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    """2 contents x 2 styles and all four results, 64 px, plus files evaluate must leave alone."""
    found = {name: tmp_path / name for name in ("contents", "styles", "results")}
    for folder in found.values():
        folder.mkdir()
    for i, c in enumerate(CONTENTS):
        save(found["contents"] / f"{c}.png", seed=i)
        for j, s in enumerate(STYLES):
            save(found["results"] / f"{c}_stylized_{s}.png", seed=10 + 2 * i + j)
    for j, s in enumerate(STYLES):
        save(found["styles"] / f"{s}.jpg", size=(80, 50), seed=20 + j)
    (found["results"] / "metrics.csv").write_text("an earlier run's table\n")
    (found["results"] / ".DS_Store").write_bytes(b"\0")
    (found["results"] / "sub").mkdir()
    return found


@pytest.fixture
def no_networks(monkeypatch):
    """Every check below must fail before a network loads."""
    def refuse(*_, **__):
        raise AssertionError("a network was loaded before the inputs were checked")

    monkeypatch.setattr("nstyle.models.weights.load_backbone", refuse)


def run(folders, capsys, *extra) -> tuple[int, str]:
    code = main(["evaluate", str(folders["results"]), "--contents", str(folders["contents"]), "--styles",
                 str(folders["styles"]), "-q", *extra])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("nstyle: error: "), err
    return lines[0]


def test_pairs_are_matched_by_stem_and_sorted(folders):
    pairs = match_pairs(folders["results"], folders["contents"], folders["styles"])
    assert [(p.content, p.style, p.result.name, p.style_path.name) for p in pairs] == [
        ("a", "x", "a_stylized_x.png", "x.jpg"), ("a", "y", "a_stylized_y.png", "y.jpg"),
        ("b", "x", "b_stylized_x.png", "x.jpg"), ("b", "y", "b_stylized_y.png", "y.jpg")]


def test_stems_with_underscores_and_the_separator_itself(tmp_path):
    for name in ("contents", "styles", "results"):
        (tmp_path / name).mkdir()
    save(tmp_path / "contents" / "my_photo.png")
    save(tmp_path / "contents" / "my.png")
    save(tmp_path / "styles" / "van_gogh.png")
    save(tmp_path / "styles" / "photo_stylized_van_gogh.png")
    for c, s in (("my_photo", "van_gogh"), ("my", "photo_stylized_van_gogh"), ("my", "van_gogh"),
                 ("my_photo", "photo_stylized_van_gogh")):
        save(tmp_path / "results" / f"{c}_stylized_{s}.png")
    # "my_photo_stylized_van_gogh" also reads as my + photo_stylized_van_gogh... only if that were a pair name
    pairs = match_pairs(tmp_path / "results", tmp_path / "contents", tmp_path / "styles")
    assert len(pairs) == 4 and len({(p.content, p.style) for p in pairs}) == 4


@pytest.mark.usefixtures("no_networks")
def test_a_missing_result_is_one_line_and_partial_lets_it_be(folders, capsys):
    (folders["results"] / "b_stylized_x.png").unlink()
    code, err = run(folders, capsys)
    line = one_line(err)
    assert code == 2 and "1 of 4 results are missing" in line and "b_stylized_x.png" in line and "--partial" in line
    assert len(match_pairs(folders["results"], folders["contents"], folders["styles"], partial=True)) == 3


@pytest.mark.usefixtures("no_networks")
@pytest.mark.parametrize("name", ["c_stylized_x.png", "a_stylised_x.png", "a_stylized_z.jpg", "notes.png"])
def test_an_extra_image_is_one_line(folders, capsys, name):
    save(folders["results"] / name)
    code, err = run(folders, capsys)
    line = one_line(err)
    assert code == 2 and name in line and "match no content and style" in line


@pytest.mark.usefixtures("no_networks")
def test_a_result_of_another_size_than_its_content_is_one_line(folders, capsys):
    save(folders["results"] / "b_stylized_y.png", size=(64, 60))
    code, err = run(folders, capsys)
    line = one_line(err)
    assert code == 2 and "b_stylized_y.png is 64x60 but its content b.png is 64x64" in line


@pytest.mark.usefixtures("no_networks")
@pytest.mark.parametrize("which", ["results/a_stylized_y.png", "contents/b.png", "styles/x.jpg"])
def test_an_unreadable_image_is_one_line(folders, capsys, which):
    folder, name = which.split("/")
    (folders[folder] / name).write_bytes(b"not an image at all")
    code, err = run(folders, capsys)
    line = one_line(err)
    assert code == 2 and name in line and "not a recognised image format" in line


@pytest.mark.usefixtures("no_networks")
@pytest.mark.parametrize("args, problem", [
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--cross-network", "vgg99"], "unknown network 'vgg99'"),
    (["--cfsd-network", "vgg99"], "unknown network 'vgg99'"),
])
def test_bad_options_are_one_line(folders, capsys, args, problem):
    code, err = run(folders, capsys, *args)
    assert code == 2 and problem in one_line(err)


@pytest.mark.usefixtures("no_networks")
def test_folders_that_are_not_folders_or_hold_two_images_of_one_stem(folders, capsys, tmp_path):
    save(folders["contents"] / "a.jpg")
    code, err = run(folders, capsys)
    assert code == 2 and "two images of the stem 'a' (a.jpg, a.png)" in one_line(err)
    (folders["contents"] / "a.jpg").unlink()
    shutil.rmtree(folders["styles"])
    code, err = run(folders, capsys)
    assert code == 2 and "--styles" in one_line(err) and "does not exist" in err
    folders["styles"].write_text("a file")
    code, err = run(folders, capsys)
    assert code == 2 and "is not a folder" in one_line(err)
    shutil.rmtree(folders["results"])
    folders["results"].mkdir()
    (folders["styles"]).unlink()
    folders["styles"].mkdir()
    save(folders["styles"] / "x.png")
    code, err = run(folders, capsys)
    assert code == 2 and "RESULTS" in one_line(err) and "holds no images" in err


# --- with the real networks --------------------------------------------------------------------------------


def crops(tmp_path: Path, order) -> dict[str, Path]:
    """96 px pictures: a_stylized_x is its content unchanged, the others blends of content and style."""
    from skimage import data

    pictures = {"a": data.chelsea()[:288, 80:368], "b": data.coffee()[40:328, 150:438],
                "x": data.astronaut()[:288, :288], "y": data.rocket()[100:388, 200:488]}
    images = {k: PIL.Image.fromarray(v).resize((96, 96), PIL.Image.LANCZOS) for k, v in pictures.items()}
    found = {name: tmp_path / name for name in ("contents", "styles", "results")}
    for folder in found.values():
        folder.mkdir(parents=True)
    writes = [("contents", c, images[c]) for c in CONTENTS] + [("styles", s, images[s]) for s in STYLES]
    for c in CONTENTS:
        for s in STYLES:
            result = images[c] if (c, s) == ("a", "x") else PIL.Image.blend(images[c], images[s], 0.4)
            writes.append(("results", f"{c}_stylized_{s}", result))
    for folder, stem, image in order(writes):
        image.save(found[folder] / f"{stem}.png")
    return found


@pytest.mark.integration
def test_evaluate_writes_the_table_and_the_summary(tmp_path, capsys):
    found = crops(tmp_path, lambda w: w)
    evaluation = evaluate(found["results"], found["contents"], found["styles"], tmp_path / "out", batch_size=3,
                          device="cpu", judge_size=96, quiet=True)
    rows = list(csv.DictReader(open(tmp_path / "out" / "metrics.csv")))
    assert [(r["content"], r["style"]) for r in rows] == [(c, s) for c in CONTENTS for s in STYLES]
    assert list(rows[0]) == list(COLUMNS) and len(evaluation.rows) == 4
    same = rows[0]  # the result is its content
    assert all(float(same[k]) < 1e-6 for k in ("lpips", "lpips_gray", "cfsd", "judge_content"))
    assert abs(float(same["leak"])) < 1e-5  # the photograph itself: no object of the painting in it
    for row in rows[1:]:
        assert all(float(row[k]) > 1e-3 for k in ("lpips", "lpips_gray", "cfsd", "histogram", "cross_style"))
        assert float(row["leak"]) > 0.05  # 40 % of the painting laid over the photograph, in place
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary == json.loads(json.dumps(evaluation.summary))
    assert summary["pairs"] == 4 and summary["contents"] == summary["styles"] == 2 and summary["fid"] > 0
    assert summary["artfid_proxy"] == pytest.approx((1 + summary["lpips"]) * (1 + summary["fid"]))
    assert summary["kid_std"] == 0  # 4 pairs: every KID subset is the whole set
    assert summary["lpips"] == pytest.approx(np.mean([float(r["lpips"]) for r in rows]), rel=1e-4)
    leaks = [float(r["leak"]) for r in rows]
    assert summary["leak"] == pytest.approx(np.mean(leaks), abs=1e-5) and summary["leak_worst"] == pytest.approx(
        max(leaks), abs=1e-5)
    assert summary["settings"]["cfsd_network"] == "vgg16 relu3_1" and summary["notes"]["artfid_proxy"]
    assert "| ArtFID (proxy) |" in (tmp_path / "out" / "summary.md").read_text()
    assert f"| Object leak | {summary['leak']:.3g} (worst {summary['leak_worst']:.3g}) |" in (
        tmp_path / "out" / "summary.md").read_text()
    assert not (found["results"] / "metrics.csv").exists()


def test_the_order_of_the_files_changes_nothing(folders, monkeypatch):
    """Pairs are scored in the order of their names, whatever order the folders list them in, and the set's
    statistics do not depend on the order of the pairs."""
    expected = match_pairs(folders["results"], folders["contents"], folders["styles"])
    listing = Path.iterdir
    monkeypatch.setattr(Path, "iterdir", lambda self: reversed(list(listing(self))))
    assert match_pairs(folders["results"], folders["contents"], folders["styles"]) == expected
    rng = np.random.default_rng(0)
    rows = [{k: float(rng.random()) for k in COLUMNS[3:-1]} | {"health": ""} for _ in range(6)]
    results, styles = rng.gamma(2, 0.2, (6, 32)), rng.gamma(2, 0.3, (6, 32))
    order = rng.permutation(6)
    assert evaluation.summarise([rows[i] for i in order], results[order], styles[order], 10, 100) == pytest.approx(
        evaluation.summarise(rows, results, styles, 10, 100))


def test_a_set_with_pairs_scored_before_the_leak_existed_has_no_leak():
    """Rows of a record made before the leak was measured have no "leak": the set's mean over the others would
    pass for the whole set's, so it is left out (None), and the other numbers are the same."""
    rng = np.random.default_rng(1)
    rows = [{k: float(rng.random()) for k in COLUMNS[3:-1]} | {"health": ""} for _ in range(4)]
    results, styles = rng.gamma(2, 0.2, (4, 32)), rng.gamma(2, 0.3, (4, 32))
    full = evaluation.summarise(rows, results, styles, 10, 100)
    assert full["leak"] == pytest.approx(np.mean([r["leak"] for r in rows]))
    assert full["leak_worst"] == max(r["leak"] for r in rows)
    del rows[2]["leak"]
    partial = evaluation.summarise(rows, results, styles, 10, 100)
    assert partial["leak"] is None and partial["leak_worst"] is None
    assert {k: v for k, v in partial.items() if "leak" not in k} == {k: v for k, v in full.items() if "leak" not in k}


def test_the_command_prints_the_summary_it_wrote(folders, capsys, monkeypatch):
    def scored(results, contents, styles, output, **options):
        assert options["batch_size"] == 2 and options["cfsd_network"] == "vgg19" and options["partial"]
        return evaluation.Evaluation({"results": str(results)})

    monkeypatch.setattr(evaluation, "evaluate", scored)
    monkeypatch.setattr(evaluation, "summary_markdown", lambda summary: f"| table of {summary['results']} |\n")
    code, _ = run(folders, capsys, "--batch-size", "2", "--cfsd-network", "vgg19", "--partial")
    assert code == 0


def test_summary_markdown_names_artfid_a_proxy_and_handles_one_pair():
    summary = {"results": "r", "pairs": 1, "contents": 1, "styles": 1, "seconds": 2.0, "seconds_per_pair": 2.0,
               "setup_seconds": 3.0,
               "unhealthy": 1, "settings": {"device": "cpu", "cfsd_network": "vgg16 relu3_1",
                                            "cross_network": "inception_v3"},
               **{k: 0.5 for k, _, _ in evaluation.TABLE}, "kid_std": 0.0, "leak_worst": 0.75}
    summary |= {"fid": None, "kid": None, "artfid_proxy": None}
    text = evaluation.summary_markdown(summary)
    assert "| ArtFID (proxy) | n/a |" in text and "| KID | n/a |" in text and "1 result(s) black" in text
    assert "| Object leak | 0.5 (worst 0.75) |" in text
