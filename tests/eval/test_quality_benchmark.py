"""benchmarks/quality.py's subsets: deterministic and balanced, so a --pairs N table is a fair sample."""

import sys
from collections import Counter
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(scope="module")
def quality():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import quality  # benchmarks/quality.py
    finally:
        sys.path.remove(str(BENCHMARKS))
    return quality


def test_every_pair_once_and_the_first_n_balanced(quality):
    contents, styles = [f"{i:02d}" for i in range(10)], [f"{i:02d}" for i in range(20)]
    pairs = quality.all_pairs(contents, styles)
    assert len(pairs) == 200 and len(set(pairs)) == 200
    first = pairs[:60]
    assert set(Counter(c for c, _ in first).values()) == {6}
    assert set(Counter(s for _, s in first).values()) == {3}
    assert quality.all_pairs(contents, styles) == pairs


def test_uneven_sets_still_give_every_pair(quality):
    pairs = quality.all_pairs(["a", "b", "c"], ["x", "y", "z", "w", "v"])
    assert sorted(pairs) == sorted((c, s) for c in "abc" for s in "xyzwv")


def test_every_configuration_is_valid_options(quality):
    from nstyle.core.options import TransferOptions

    for name, config in quality.CONFIGS.items():
        if config.calibration is None:
            TransferOptions(size=quality.SIZE, **config.options)  # a wrong field or value raises UsageError
        else:
            assert config.calibration in ("content", "style") and not config.options, name


def test_a_defined_configuration_reads_numbers_and_is_checked_before_painting(quality):
    import argparse

    parser = argparse.ArgumentParser()
    config = quality.defined_config("w2-14", ["style_loss=w2", "iterations=14", "style_weight=2e2"], parser)
    assert config.options == {"style_loss": "w2", "iterations": 14, "style_weight": 200.0}
    for wrong in (["iterations=0"], ["colour=red"], ["iterations"]):
        with pytest.raises(SystemExit):
            quality.defined_config("bad", wrong, parser)


@pytest.fixture(scope="module")
def quality_record(quality):
    import quality_record  # benchmarks/quality_record.py, importable once quality is

    return quality_record


def _row(content: str, style: str, rng) -> dict:
    return {"content": content, "style": style, "result": f"{content}_stylized_{style}.png",
            "lpips": float(rng.random()), "lpips_gray": 0.1, "cfsd": 0.2, "histogram": 0.3, "cross_style": 0.4,
            "judge_content": 0.5, "judge_style": 0.6, "health": "", "wall": 40.0, "cpu": 80.0,
            "painted": "2026-12-02 06:00 UTC", "commit": "abc"}


def test_a_record_keeps_rows_and_features_and_summarises_as_evaluate_would(quality_record, tmp_path):
    import numpy as np

    from nstyle.eval.evaluate import summarise

    rng = np.random.default_rng(0)
    meta = {"size": 512, "options": {"style_loss": "w2"}}
    record = quality_record.Record.open(tmp_path / "w2.npz", meta)
    pairs = [("00", "00"), ("00", "01"), ("01", "00"), ("01", "02")]
    styles = {s: rng.random(2048) for s in ("00", "01", "02")}
    features = {}
    for content, style in pairs:
        row = _row(content, style, rng)
        features[row["result"]] = rng.random(2048)
        record.add(row, features[row["result"]], styles[style])
    record.save()
    again = quality_record.Record.open(tmp_path / "w2.npz", meta)
    assert again.names == {f"{c}_stylized_{s}.png" for c, s in pairs}
    names = sorted(again.names)[:3]  # a subset is summarised on its own
    summary = again.summary(names)
    rows = sorted((r for r in record.rows if r["result"] in names), key=lambda r: r["result"])
    expected = summarise(rows, np.stack([features[r["result"]] for r in rows]),
                         np.stack([styles[r["style"]] for r in rows]), kid_subsets=100, kid_subset_size=1000)
    assert summary["pairs"] == 3 and summary["contents"] == 2
    for key in ("fid", "kid", "lpips", "artfid_proxy"):
        assert summary[key] == pytest.approx(expected[key], rel=1e-5), key  # float32 storage


def test_a_record_refuses_other_options_and_a_save_replaces_it_whole(quality_record, tmp_path):
    import numpy as np

    rng = np.random.default_rng(1)
    path = tmp_path / "default.npz"
    record = quality_record.Record.open(path, {"size": 512, "options": {"style_weight": 170.0}})
    record.add(_row("00", "00", rng), rng.random(2048), rng.random(2048))
    record.save()
    with pytest.raises(quality_record.RecordMismatch, match="style_weight"):
        quality_record.Record.open(path, {"size": 512, "options": {"style_weight": 200.0}})
    record.add(_row("00", "00", rng), rng.random(2048), rng.random(2048))  # the same pair scored again
    record.save()
    assert len(quality_record.Record.open(path, record.meta).rows) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["default.npz"]


def test_every_configuration_has_a_record_meta_of_resolved_options(quality):
    metas = {name: quality.record_meta(name) for name in quality.CONFIGS}
    assert metas["content"] == {"size": 512, "calibration": "content"}
    default = metas["default"]["options"]
    assert default["size"] == 512 and "style_loss" in default and "iterations" in default
    assert metas["gram-20"]["options"]["iterations"] == 20 != default["iterations"]


def test_the_frontier_plot_skips_rows_without_an_artfid(quality, tmp_path):
    """One pair has no FID, hence no ArtFID: the table still shows the row, the plot leaves it out (and with no
    other row draws nothing) instead of failing after the painting."""
    def row(name, artfid):
        return {"name": name, "seconds": 30.0, "summary": {"artfid_proxy": artfid, "lpips": 0.6, "pairs": 1}}

    quality.plot([row("remd", None)], tmp_path / "none.png")
    assert not (tmp_path / "none.png").exists()
    quality.plot([row("remd", None), row("best", 400.0), row("default", 420.0)], tmp_path / "two.png")
    assert (tmp_path / "two.png").stat().st_size > 0


def test_the_frontier_plot_adds_a_leak_panel_when_painted_rows_have_the_leak(quality, tmp_path):
    from PIL import Image

    def row(name, artfid, leak):
        return {"name": name, "seconds": 30.0, "summary": {"artfid_proxy": artfid, "lpips": 0.6, "pairs": 2,
                                                           "leak": leak}}

    quality.plot([row("best", 400.0, None), row("default", 420.0, None)], tmp_path / "two.png")
    quality.plot([row("best", 400.0, 0.08), row("default", 420.0, -0.004), row("remd", 410.0, None)],
                 tmp_path / "three.png")
    two, three = (Image.open(tmp_path / f"{n}.png").size for n in ("two", "three"))
    assert three[0] > 1.3 * two[0] and three[1] == two[1]  # a third panel beside the two


@pytest.mark.integration
def test_recorded_pairs_get_the_leak_where_their_images_are_at_hand(quality, quality_record, tmp_path):
    """Records scored before the leak existed: the calibrations get it from the bench, a painted pair whose image
    is gone keeps none (and is counted)."""
    import numpy as np

    if not quality.BENCH.is_dir():
        pytest.skip(f"the benchmark images are not at {quality.BENCH}")
    rng = np.random.default_rng(2)
    leaks = {}
    for name in ("content", "style", "default"):
        record = quality_record.Record.open(tmp_path / f"{name}.npz", quality.record_meta(name))
        record.add(_row("00", "01", rng), rng.random(2048), rng.random(2048))
        record.save()
        lacking = quality.add_leaks(name, ["00_stylized_01.png"], tmp_path / "out", record)
        assert lacking == (1 if name == "default" else 0)
        leaks[name] = quality_record.Record.open(tmp_path / f"{name}.npz", record.meta).rows[0].get("leak")
    assert leaks["content"] == pytest.approx(0, abs=1e-5) and leaks["style"] > 0.4 and leaks["default"] is None
