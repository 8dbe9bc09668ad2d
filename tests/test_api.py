"""The public Python API surface."""

import dataclasses

import pytest

import nstyle
from nstyle.cli import build_parser


def test_public_names():
    assert callable(nstyle.transfer) and callable(nstyle.run) and callable(nstyle.run_paper)
    assert callable(nstyle.sweep) and callable(nstyle.match_color) and callable(nstyle.recombine)
    assert issubclass(nstyle.StopOptimization, Exception)
    with pytest.raises(AttributeError):
        nstyle.no_such_thing  # noqa: B018


def test_cli_flags_come_from_the_options_dataclass():
    """Every option of the API is a flag of `nstyle transfer` and vice versa (one source of defaults)."""
    parser = build_parser()
    transfer = parser._subparsers._group_actions[0].choices["transfer"]
    dests = {a.dest for a in transfer._actions}
    fields = {f.name for f in dataclasses.fields(nstyle.TransferOptions)}
    assert fields <= dests
    assert dests - fields == {"help", "content", "style", "styles", "output", "save_every", "plot", "resume", "paper",
                             "quiet", "save_maps"}  # the outputs of one run, not options of the transfer
    help_text = transfer.format_help()
    defaults = nstyle.TransferOptions()
    assert f"(default: {defaults.iterations})" in help_text and f"(default: {defaults.optimizer})" in help_text
    assert f"(default: {defaults.tile})" in help_text


def test_unknown_option_is_rejected():
    with pytest.raises(nstyle.UsageError, match="unknown option.s. colour"):
        nstyle.run("a.png", "b.png", colour="red")


def test_the_sweep_function_survives_the_sweep_command_being_imported():
    """The module behind ``nstyle.sweep`` is not called ``sweep``: importing it would replace the function."""
    import nstyle
    import nstyle.commands.sweep  # noqa: F401
    from nstyle.eval.sweep import sweep  # what `nstyle sweep` imports

    assert nstyle.sweep is sweep and callable(nstyle.sweep)
