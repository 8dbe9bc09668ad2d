"""`nstyle compare` stopped part-way says so and exits 130 (Ctrl-C) or 143 (SIGTERM), keeping what was done
(issue 33, item 6). Real networks, 96 px, a few iterations."""

import os
import signal

import pytest

from nstyle.cli import main

SMALL = ["squeezenet1_1", "alexnet"]


@pytest.mark.integration
@pytest.mark.parametrize("stop, code", [("sigterm", 143), ("ctrl-c", 130)])
def test_a_stop_during_the_last_network_is_not_reported_as_finished(tmp_path, images, capsys, monkeypatch, stop,
                                                                    code):
    from nstyle.core import engine

    real_run = engine.run

    def run_stopped_in_alexnet(content, style, callback=None, **options):
        def tick(record, image=None):
            if options.get("model") == "alexnet" and record.iteration == 3:
                if stop == "sigterm":
                    os.kill(os.getpid(), signal.SIGTERM)
                else:
                    raise KeyboardInterrupt
            callback(record, image)

        return real_run(content, style, callback=tick, **options)

    monkeypatch.setattr(engine, "run", run_stopped_in_alexnet)
    out = tmp_path / "cmp"
    result = main(["compare", str(images["tubingen"]), str(images["starry_night"]), "-o", str(out),
                   "--models", ",".join(SMALL), "--size", "96", "--iterations", "6", "-q"])
    captured = capsys.readouterr()
    printed = captured.out
    assert result == code, captured.err
    assert "(1 of 2 networks finished; alexnet interrupted after" in printed
    assert {"squeezenet1_1.png", "alexnet.png", "report.md", "table.csv"} <= {p.name for p in out.iterdir()}
