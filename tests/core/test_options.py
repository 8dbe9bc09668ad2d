"""The options' schema: one declaration, checked for every entry point, and a UsageError for every wrong value.

The property tests draw option sets from the schema itself (valid and invalid values of every field): making the
options either succeeds or raises ``UsageError``, never another exception, and what it accepts really runs.
"""

import dataclasses
import math
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nstyle.core.options import TransferOptions, field_kinds, from_text, option_flag, options_from
from nstyle.errors import UsageError

FILE_FIELDS = ("mask", "content_map", "style_map", "weights")
NUMBERS = st.one_of(
    st.integers(-5, 70000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, -1, 1e400, float("nan"), 2**70, 0.5, 16, 256, 1e-9]),
)
JUNK = st.one_of(st.none(), st.text(max_size=8), st.booleans(), st.lists(st.integers(), max_size=2), NUMBERS)


def value_for(name: str):
    """Valid-looking and wrong values for one field, from the field's kind and choices in the schema."""
    kind, choices = field_kinds()[name]
    options = [JUNK]
    if choices:
        options.append(st.sampled_from(choices))
    if kind in ("int", "float"):
        options.append(NUMBERS)
    if kind in ("floats",):
        options.append(st.lists(NUMBERS, min_size=0, max_size=4))
    if kind in ("strs",):
        options.append(st.lists(st.sampled_from(["relu1_1", "relu4_2", "conv2_1", "nope", "red", "#00ff00"]),
                                max_size=3))
    if name == "init":
        options.append(st.sampled_from(["noise", "content", "style", "/no/such/file.png"]))
    return st.one_of(*options)


OPTION_SETS = st.fixed_dictionaries({}, optional={
    name: value_for(name) for name in field_kinds() if name not in FILE_FIELDS
})


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(OPTION_SETS)
def test_making_options_accepts_or_raises_a_usage_error(given_options):
    try:
        opts = TransferOptions(**given_options)
    except UsageError as err:
        message = str(err)
        assert "\n" not in message and message
        return
    for name in ("content_weight", "style_weight", "tv_weight", "lr", "style_scale", "tolerance", "strength"):
        value = getattr(opts, name)
        assert value is None or (math.isfinite(value) and value >= 0), (name, value)
    assert opts.size >= 16 and opts.iterations >= 1 and 0 <= opts.seed < 2**63
    opts.level_plan(), opts.resolved()  # what the engine asks of accepted options works


@pytest.mark.parametrize("options, message", [
    ({"optimizer": "bogus"}, "--optimizer 'bogus': choose from lbfgs, adam or sgd"),
    ({"loss": "l1"}, "--loss 'l1': choose from nstyle, paper, keras or classic"),
    ({"pooling": "mean"}, "--pooling 'mean': choose from max or avg"),
    ({"style_weight": float("nan")}, "--style-weight nan: must be a finite number"),
    ({"style_weight": float("inf")}, "--style-weight inf: must be a finite number"),
    ({"content_weight": float("nan")}, "--content-weight nan: must be a finite number"),
    ({"tv_weight": float("inf")}, "--tv-weight inf: must be a finite number"),
    ({"style_blend": [float("nan"), 1]}, "--style-blend nan (value 1): must be a finite number"),
    ({"style_weight": -1}, "--style-weight -1: must be at least 0"),
    ({"lr": 0}, "--lr 0: must be more than 0"),
    ({"lr": -5}, "--lr -5: must be more than 0"),
    ({"levels": -1}, "--levels -1: must be at least 0"),
    ({"seed": 99999999999999999999999}, "--seed 99999999999999999999999: must be at most 9223372036854775807"),
    ({"size": 8}, "--size 8: must be at least 16"),
    ({"tile": 100}, "--tile 100: give 0 (never tile) or at least 256 pixels"),
    ({"model": "vgg99"}, "--model 'vgg99': choose from vgg19, vgg16"),
    ({"strength": 0.5, "style_weight": 3}, "give --strength or --style-weight, not both"),
    ({"style_blend": [0, 0]}, "--style-blend [0, 0]: give weights of 0 or more, not all 0"),
    ({"colour": "red"}, "unknown option(s) colour"),
])
def test_each_wrong_value_is_one_line_naming_the_option(options, message):
    with pytest.raises(UsageError) as caught:
        TransferOptions(**options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_api_refuses_before_any_network_loads(monkeypatch):
    """``nstyle.run`` with a wrong value fails at once: the weights loader is never reached."""
    import nstyle
    from nstyle.core import engine

    def no_loading(*args, **kwargs):
        raise AssertionError("the network was loaded before the options were checked")

    monkeypatch.setattr(engine, "load_network", no_loading)
    for wrong in ({"optimizer": "bogus"}, {"loss": "l1"}, {"pooling": "mean"}, {"style_weight": float("nan")}):
        with pytest.raises(nstyle.UsageError, match=option_flag(next(iter(wrong)))):
            nstyle.run("no-such-content.png", "no-such-style.png", **wrong)


def test_replace_checks_again():
    opts = TransferOptions(size=64)
    with pytest.raises(UsageError, match="--size 4"):
        dataclasses.replace(opts, size=4)


def test_flags_and_csv_cells_come_from_the_same_schema():
    assert option_flag("style_weight") == "--style-weight"
    assert from_text("style_blend", "0.7; 0.3") == [0.7, 0.3]
    assert from_text("size", " 256 ") == 256
    with pytest.raises(UsageError, match="--size 'big': must be a whole number"):
        from_text("size", "big")
    assert options_from(**{"size": from_text("size", "64")}).size == 64


def test_the_options_import_no_torch():
    code = "import sys; import nstyle.core.options; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def plausible(name: str):
    """Values inside each field's declared range (the run test needs sets that pass, so each is drawn apart)."""
    kind, choices = field_kinds()[name]
    if choices:
        return st.sampled_from(choices)
    ranges = {"size": st.integers(16, 2048), "iterations": st.integers(1, 50), "levels": st.integers(0, 4),
              "tile": st.sampled_from([0, 256, 1024]), "seed": st.integers(0, 2**63 - 1),
              "lr": st.floats(1e-4, 10), "tolerance": st.floats(0, 0.5), "style_scale": st.floats(1, 4),
              "strength": st.floats(0, 1), "smoothing": st.sampled_from([0.0, 5.0]),
              "init": st.sampled_from(["noise", "content", "style"]), "device": st.just("cpu")}
    if name in ranges:
        return ranges[name]
    if kind == "float":
        return st.floats(0, 1e4)
    if kind == "floats":
        return st.lists(st.floats(0.01, 10), min_size=1, max_size=3)
    if kind == "strs":
        return st.lists(st.sampled_from(["relu1_1", "relu2_1", "relu3_1", "relu4_2", "conv1_1"]), min_size=1,
                        max_size=3)
    return st.just(None)


PLAUSIBLE_SETS = st.fixed_dictionaries({}, optional={
    name: plausible(name) for name in field_kinds() if name not in FILE_FIELDS + ("mask_colors",)
})
_NETWORKS: dict = {}


def _network(model: str, pooling: str):
    from nstyle.models.weights import load_backbone

    if (model, pooling) not in _NETWORKS:
        _NETWORKS[(model, pooling)] = load_backbone(model, pooling=pooling)
    return _NETWORKS[(model, pooling)]


@pytest.mark.integration
@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(PLAUSIBLE_SETS, OPTION_SETS))
def test_accepted_options_run_one_iteration_at_16_px(given_options):
    """Whatever the schema accepts, the engine runs (at 16 px, one iteration) or refuses with a UsageError (a layer
    the network lacks, a network that needs larger images): never another exception."""
    from PIL import Image

    from nstyle.core.engine import run

    small = given_options | {"size": 16, "iterations": 1, "levels": 1, "device": "cpu"}
    try:
        opts = TransferOptions(**small)
    except UsageError:
        return
    content = Image.new("RGB", (16, 16), (180, 90, 40))
    styles = [Image.new("RGB", (20, 20), (30, 60, 200)), Image.new("RGB", (20, 20), (200, 200, 30))]
    n_styles = len(opts.style_blend) if opts.style_blend else 1
    if n_styles > len(styles):
        styles = styles * n_styles
    try:
        result = run(content, styles[:n_styles], backbone=_network(opts.model, opts.pooling), **small)
    except UsageError:
        return
    assert result.image.size == (16, 16) and len(result.history) >= 1
    RAN.append(opts.model)


RAN: list[str] = []


@pytest.mark.integration
def test_the_run_property_ran_real_transfers():
    """The property above is not vacuous: many of its drawn option sets reached the engine and painted."""
    if not RAN:
        test_accepted_options_run_one_iteration_at_16_px()
    assert len(RAN) >= 15, f"only {len(RAN)} drawn option sets reached the engine"


def test_quality_best_fills_only_what_is_not_given():
    from nstyle.core.options import QUALITY_PRESETS

    best = TransferOptions(quality="best")
    assert all(getattr(best, k) == v for k, v in QUALITY_PRESETS["best"].items())
    assert TransferOptions(quality="best", iterations=3).iterations == 3
    assert TransferOptions(quality="default") == TransferOptions()


def test_the_default_style_loss_follows_the_normalisation_and_the_method():
    assert TransferOptions().resolved().style_loss == "w2"
    assert TransferOptions(loss="classic").resolved().style_loss == "gram"  # the distribution losses are nstyle's only
    assert TransferOptions(method="strotss").resolved().style_loss == "remd"  # the method's own statistic
    assert TransferOptions(method="nnst").resolved().style_loss is None  # its neighbours: no style loss at all
    assert TransferOptions(style_loss="gram").resolved().weights["style"] == 100.0
    assert TransferOptions().style_loss is None  # the field keeps what the user gave


@pytest.mark.parametrize("given", [
    {"mask": "mask.png"}, {"content_map": "c.png", "style_map": ["s.png"]}, {"auto_maps": 3}, {"loss": "classic"},
    {"method": "strotss"}, {"method": "nnst"}, {"size": 2048}, {"strength": 0.8}, {"style_loss": "sliced"},
])
def test_options_changed_with_replace_equal_options_made_so(given):
    """No field holds a value settled from others: ``replace`` of the defaults is the same as making them anew."""
    made, replaced = TransferOptions(**given), dataclasses.replace(TransferOptions(), **given)
    assert replaced == made
    assert replaced.resolved() == made.resolved()
    assert made.style_loss == given.get("style_loss")


def test_masks_and_maps_keep_grams_however_the_options_are_made():
    for options in (TransferOptions(mask="m.png"), dataclasses.replace(TransferOptions(), mask="m.png"),
                    dataclasses.replace(TransferOptions(mask="m.png"), size=256)):
        assert options.resolved().style_loss == "gram"
    assert dataclasses.replace(TransferOptions(mask="m.png"), mask=None).resolved().style_loss == "w2"


def test_resolved_is_a_settled_frozen_view():
    options = TransferOptions(size=512, levels=2, iterations=10)
    resolved = options.resolved()
    assert resolved.plan == tuple(options.level_plan()) and [s for s, _ in resolved.plan] == [256, 512]
    assert resolved.weights == {"content": 20.0, "style": 220.0, "tv": 1.0}  # coarse to fine: content 20; w2's beta
    with pytest.raises(dataclasses.FrozenInstanceError):
        resolved.style_loss = "gram"


def test_a_runs_identity_holds_the_style_loss_it_matches():
    """What a resume compares: the default and the same loss given by name are one run, a masked run another."""
    from nstyle.core.identity import run_identity

    def identity(**given):
        return run_identity(None, [], TransferOptions(**given))["options"]

    assert identity() == identity(style_loss="w2") and identity()["style_loss"] == "w2"
    assert identity(loss="classic")["style_loss"] == "gram"


def test_quality_best_takes_a_strength_around_its_own_style_weight():
    """--quality best sets the style weight the user left out; --strength then scales that weight (0.5 is best's
    own), and is not taken for a --style-weight the user gave."""
    from nstyle.core.options import QUALITY_PRESETS

    best = QUALITY_PRESETS["best"]["style_weight"]
    assert TransferOptions(quality="best", strength=0.5).resolved().weights["style"] == pytest.approx(best)
    assert TransferOptions(quality="best", strength=0.9).resolved().weights["style"] > best
    assert TransferOptions(quality="best", strength=0.9).style_weight is None
    with pytest.raises(UsageError, match="not both"):
        TransferOptions(quality="best", strength=0.9, style_weight=10.0)
