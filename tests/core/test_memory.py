"""The peak-memory estimate and the refusal of runs that will not fit: the free memory is mocked, so these results
do not depend on the machine's load (the estimate against measured runs is at the end, with real weights)."""

import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import PIL.Image
import pytest

import nstyle
from nstyle.core import memory
from nstyle.core.catalog import STYLE_LOSSES
from nstyle.core.engine import prepare
from nstyle.core.memory import RUNTIME_BYTES, USABLE_SHARE, estimate_peak_bytes, needed_bytes
from nstyle.core.options import options_from
from nstyle.errors import ImageError, UsageError
from nstyle.models.weights import records

GB = 2**30
CONTENT, STYLE = (1024, 768), (1024, 640)  # tubingen and starry_night


def opts(**kw):
    return options_from(device="cpu", precision="float32", **kw)


def need(**kw) -> int:
    return needed_bytes(opts(**kw), CONTENT, [STYLE])


@pytest.fixture
def free(monkeypatch):
    """Set the memory free, as ``free(bytes)``."""
    def set_free(n: int) -> None:
        monkeypatch.setattr(memory, "available_bytes", lambda device=None: n)
    set_free(8 * GB)
    return set_free


def refusal(**kw) -> str:
    with pytest.raises(UsageError) as err:
        memory.check_fits(opts(**kw), PIL.Image.new("RGB", CONTENT), PIL.Image.new("RGB", STYLE))
    message = str(err.value)
    assert "\n" not in message
    return message


def test_every_network_has_measured_figures():
    assert set(records()) <= set(memory.NETWORKS)
    assert memory.network_memory("a-later-network").train["float32"][1] == max(
        n.train["float32"][1] for n in memory.NETWORKS.values())


def test_the_estimate_grows_with_size_style_scale_and_history_and_tiles_bound_it():
    assert need(size=256) < need(size=512) < need(size=1024)
    assert need(size=512) < need(size=512, style_scale=2) < need(size=512, style_scale=4)
    assert need(size=512, optimizer="adam") < need(size=512)  # no L-BFGS history
    assert need(size=512, iterations=100, levels=1) > need(size=512, iterations=10, levels=1)
    # Above --tile one tile's forward and backward is held, not the whole image's.
    assert need(size=2048, tile=512, iterations=2) < need(size=2048, tile=0, iterations=2)
    # bfloat16 activations take less than float32's.
    bf16 = needed_bytes(options_from(device="cpu", precision="bfloat16", size=512), CONTENT, [STYLE])
    assert bf16 < need(size=512)
    # A network already in memory (video's frames share one) is not counted again.
    loaded = needed_bytes(opts(size=512), CONTENT, [STYLE], loaded=True)
    assert need(size=512) - loaded == memory.NETWORKS["vgg19"].weights


def test_lbfgs_history_is_two_images_per_evaluation_up_to_100():
    one = need(size=1024, levels=1, iterations=50) - need(size=1024, levels=1, iterations=49)
    assert one == pytest.approx(2 * 12 * 1024 * 768 * memory.ALLOCATOR_SLACK, abs=2)  # with the allocator's slack
    assert need(size=1024, levels=1, iterations=500) == need(size=1024, levels=1, iterations=100)
    # Above --tile the peak is the last evaluation's tile pass: the direction and the previous gradient from the
    # second evaluation on, then a pair per evaluation before the last (the last step's pair comes after it).
    image = 12 * 2048 * 1536 * memory.ALLOCATOR_SLACK
    tiled = [need(size=2048, levels=1, iterations=n) for n in (1, 2, 3, 50)]
    assert tiled[1] - tiled[0] == pytest.approx(2 * image, abs=2)
    assert tiled[2] - tiled[1] == pytest.approx(2 * image, abs=2)
    assert tiled[3] - tiled[2] == pytest.approx(47 * 2 * image, abs=2)
    adam = [need(size=2048, levels=1, iterations=n, optimizer="adam") for n in (1, 2, 50)]
    assert adam[1] - adam[0] == pytest.approx(2 * image, abs=2) and adam[2] == adam[1]  # its two moments, then none
    # Smaller images (1300 px: 15 MB each, under glibc's mmap threshold) come from the heap, which keeps what the end
    # of every step frees: a tile's pass is counted with all of those (Adam's moments among them from the start).
    small = [need(size=1300, tile=512, levels=1, iterations=n, optimizer="adam") for n in (1, 2)]
    assert small[0] == small[1]


def test_the_tiled_default_costs_the_tiled_pass_not_the_whole_images_distribution():
    """Above --tile, w2 (the default) runs from the whole image's feature moments (``tiling.TiledW2``): a C x C
    matrix and a mean per style layer (VGG19: 64-512 channels, 2.4 MB in all, a few copies while the loss is
    differentiated), nothing per pixel. The estimate once added the untiled distribution loss's share of the whole
    image (18.4 GiB at 4096 px in float32, against the Gram's 11.8), refusing default runs that fit."""
    moments = 16 * 2**20
    for size in (2048, 4096):
        gram, w2 = need(size=size, style_loss="gram"), need(size=size, style_loss="w2")
        assert gram <= w2 <= gram + moments, (size, w2 / GB, gram / GB)
    # From 2048 to 4096 px (four times the pixels) the default grows as the tiled pass does.
    growth = need(size=4096, style_loss="w2") - need(size=2048, style_loss="w2")
    assert abs(growth - (need(size=4096, style_loss="gram") - need(size=2048, style_loss="gram"))) <= moments
    # Untiled, the distribution's share stays: its projections and sorts are of the whole image's features.
    share = STYLE_LOSSES["w2"].bytes_per_pixel * 1024 * 768
    assert need(size=1024, style_loss="w2", levels=1) - need(size=1024, style_loss="gram", levels=1) >= share


def test_a_run_that_fits_passes(free):
    free(8 * GB)
    memory.check_fits(opts(size=512), PIL.Image.new("RGB", CONTENT), PIL.Image.new("RGB", STYLE))


def test_a_size_that_does_not_fit_names_the_largest_that_does_and_that_one_fits(free):
    free(8 * GB)
    message = refusal(size=32768)
    assert re.fullmatch(r"--size 32768 needs about \d+(\.\d)? [GT]B of memory and 8\.0 GB is free \(a run may take 85% "
                        r"of it\); the largest --size that fits is about \d+( \(or give --[a-z]+ [a-z0-9]+\))?",
                        message), message
    best = int(re.search(r"the largest --size that fits is about (\d+)", message).group(1))
    assert need(size=best) <= USABLE_SHARE * 8 * GB < need(size=best + 100)
    memory.check_fits(opts(size=best), PIL.Image.new("RGB", CONTENT), PIL.Image.new("RGB", STYLE))


def test_a_style_scale_that_does_not_fit_names_the_largest_that_does(free):
    free(16 * GB)
    message = refusal(style_scale=16)
    assert message.startswith("--style-scale 16 needs about ") and " GB of memory and 16 GB is free" in message
    best = float(re.search(r"the largest --style-scale that fits is about ([\d.]+)", message).group(1))
    assert 1 <= best < 16
    assert need(style_scale=best) <= USABLE_SHARE * 16 * GB < need(style_scale=best + (1 if best >= 10 else 0.1))
    # A tile below the size makes the final level's style tile by tile too; it is offered where that fits.
    tile = int(re.search(r"\(or give --tile (\d+)\)$", message).group(1))
    assert tile < 512 and need(style_scale=16, tile=tile) <= USABLE_SHARE * 16 * GB


def test_untiled_sizes_are_offered_a_tile(free):
    free(16 * GB)
    message = refusal(size=4096, tile=0, iterations=2)
    assert "(or give --tile " in message


def test_nothing_fits_when_the_machine_is_full(free):
    free(100 * 2**20)
    assert "no --size fits in the memory free now" in refusal(size=512)
    assert refusal(size=512, style_scale=16).endswith(
        "no --style-scale fits in the memory free now; give a smaller --size too")


def test_a_network_in_memory_and_memory_a_running_job_will_free_count(free):
    size = 1400
    free(int(need(size=size) / USABLE_SHARE) - 2**20)  # one megabyte short
    content, style = PIL.Image.new("RGB", CONTENT), PIL.Image.new("RGB", STYLE)
    with pytest.raises(UsageError):
        memory.check_fits(opts(size=size), content, style)
    memory.check_fits(opts(size=size), content, style, loaded=True)
    memory.check_fits(opts(size=size), content, style, reclaimable=2 * 2**20)


def test_unreadable_inputs_are_left_to_the_painter(free, tmp_path):
    free(0)
    memory.check_fits(opts(size=512), tmp_path / "missing.png", PIL.Image.new("RGB", STYLE))
    with pytest.raises(ImageError, match="does not exist"):
        prepare(tmp_path / "missing.png", PIL.Image.new("RGB", STYLE), device="cpu")


def test_image_sizes_come_from_the_header(tmp_path, images):
    assert memory.image_size(images["tubingen"]) == CONTENT
    assert memory.image_size(PIL.Image.new("RGB", (3, 2))) == (3, 2)
    assert memory.image_size(tmp_path / "missing.png") is None


def test_the_api_refuses_before_any_weights_load(free, monkeypatch, tmp_path):
    free(8 * GB)
    monkeypatch.setenv("NSTYLE_OFFLINE", "1")
    monkeypatch.setenv("NSTYLE_CACHE", str(tmp_path / "empty-cache"))
    content, style = PIL.Image.new("RGB", CONTENT), PIL.Image.new("RGB", STYLE)
    with pytest.raises(UsageError, match=r"^--size 32768 needs about .* the largest --size that fits is about"):
        nstyle.run(content, style, size=32768, device="cpu")
    with pytest.raises(UsageError, match=r"^--style-scale 16 needs about .* the largest --style-scale that fits"):
        nstyle.run(content, style, style_scale=16, device="cpu")


def test_the_free_memory_is_read_from_the_system():
    free = memory.available_bytes()
    assert free is not None and 0 < free < 2**50
    assert memory.resident_bytes() > 0
    memory.release_freed_memory()  # harmless anywhere


def test_a_cgroup_limit_caps_what_is_free(monkeypatch, tmp_path):
    files = {"/sys/fs/cgroup/memory.max": "1073741824", "/sys/fs/cgroup/memory.current": "900000000",
             "/sys/fs/cgroup/memory.stat": "anon 1\ninactive_file 100000000\n"}
    real_open = open

    def fake_open(path, *args, **kwargs):
        if str(path) in files:
            target = tmp_path / Path(path).name
            target.write_text(files[str(path)])
            return real_open(target, *args, **kwargs)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert memory._cgroup_available() == 1073741824 - 900000000 + 100000000


# -- the estimate against measured runs (real weights) ------------------------------------------------------------

RUN = """
import json, resource, sys
from nstyle.core.engine import run
result = run(sys.argv[2], sys.argv[3], **json.loads(sys.argv[1]))
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
# VmHWM starts afresh at exec; getrusage's maxrss keeps the forking parent's peak (the test process's, in a suite).
peak = int(hwm[0].split()[1]) * 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak": peak}))
"""


@pytest.mark.integration
@pytest.mark.parametrize("case", [
    {"model": "vgg19", "size": 256, "iterations": 5},
    {"model": "vgg19", "size": 192, "iterations": 5, "style_scale": 2.0, "precision": "float32"},
    {"model": "resnet50", "size": 256, "iterations": 5, "levels": 1},
])
def test_the_estimate_is_within_a_quarter_of_the_measured_peak(case, images):
    """A fresh process per run, its peak resident memory (getrusage) against the estimate."""
    options = {"device": "cpu", "tolerance": 0.0} | case
    src = Path(nstyle.__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", RUN, json.dumps(options), str(images["tubingen"]),
                           str(images["starry_night"])], capture_output=True, text=True, timeout=600,
                          env=os.environ | {"PYTHONPATH": str(src)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    measured = json.loads(proc.stdout.strip().splitlines()[-1])["peak"]
    estimate = estimate_peak_bytes(options_from(**options), CONTENT, [STYLE])
    assert 0.85 * measured <= estimate <= 1.25 * measured, (estimate / 2**20, measured / 2**20)
    assert estimate > RUNTIME_BYTES and resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0


@pytest.mark.integration
@pytest.mark.parametrize(("model", "precision"), [("vgg19", "bfloat16"), ("vgg19", "float32"),
                                                  ("squeezenet1_1", "bfloat16")])
def test_the_networks_figures_still_hold(model, precision):
    """The table's figures against a new measurement by the benchmark's own code (one size, 320 px)."""
    bench = Path(__file__).resolve().parents[2] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import memory as benchmark  # benchmarks/memory.py
    finally:
        sys.path.remove(str(bench))
    measured = benchmark.child(benchmark.MEASURE, json.dumps([model, precision, 320]))
    net = memory.NETWORKS[model]
    for what in ("style", "train"):
        expected = net.cost(what, precision, measured["pixels"])
        assert 0.75 * measured[what] <= expected <= 1.25 * measured[what], (what, expected, measured[what])
    # resident memory moves by a megabyte or two with what the allocator keeps: a tenth of SqueezeNet's 12 MB is less
    assert abs(measured["weights"] - net.weights) < max(0.1 * net.weights, 3 * 2**20)

