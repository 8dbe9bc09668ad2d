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
