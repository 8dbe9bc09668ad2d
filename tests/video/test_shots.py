"""Shots: cuts found where a clip changes shot and nowhere else, and no frame warped or held across a cut (with the
tiny network of tests/tiny_backbone.py, 64 px, a few iterations: seconds, no weights)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from nstyle.cli import main
from nstyle.errors import UsageError
from nstyle.video import shot, stylise
from nstyle.video.settings import VideoSettings
from nstyle.video.shots import describe_shots, find_cuts, histogram_distances, shot_ranges
from nstyle.video.stability import pan_zoom_clip
from nstyle.video.stylise import STATE_NAME, stylise_frames
from tests.tiny_backbone import TinyBackbone
from tests.video.frames import frames_folder

SIZE = 64
OPTIONS = {"size": SIZE, "iterations": 3, "levels": 1, "device": "cpu", "tolerance": 0.0}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """At 64 px a second thread only adds synchronisation on a busy two-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def pan(path, frames, size=SIZE, like=None):
    """A slow pan and zoom across the picture at ``path``; resized to ``like``'s frame size when given."""
    out = pan_zoom_clip(Image.open(path), frames=frames, size=size)[0]
    return [f.resize(like.size, Image.Resampling.LANCZOS) for f in out] if like is not None else out


@pytest.fixture(scope="module")
def two_shots(package_images):
    """Three frames panning across the cat, then nine across the rocket: one cut, before frame index 3."""
    first = pan(package_images["chelsea"], 3)
    return first + pan(package_images["rocket"], 9, like=first[0])


@pytest.fixture
def tiny(monkeypatch):
    """stylise_frames paints with the tiny network, and records which path every frame takes: an ordinary
    transfer (``run``: the first-frame schedule from --init) or a frame after another (``_stylise_one``)."""
    calls = []
    run, one = shot.run, shot._stylise_one

    def recording_run(content, *args, **kwargs):
        calls.append(("run", None, None, kwargs.get("init", "content")))
        return run(content, *args, **kwargs)

    def recording_one(p, i, neighbours, *args):
        calls.append(("warp", p, i, tuple(neighbours)))
        return one(p, i, neighbours, *args)

    monkeypatch.setattr(stylise, "load_network", lambda opts, device: TinyBackbone())
    monkeypatch.setattr(shot, "load_network", lambda opts, device: TinyBackbone())  # a shot job loads its own
    monkeypatch.setattr(shot, "run", recording_run)
    monkeypatch.setattr(shot, "_stylise_one", recording_one)
    return calls


def test_the_cut_between_two_pans_is_found_and_only_it(two_shots):
    assert find_cuts(two_shots) == [3]
    distances = histogram_distances(two_shots)
    assert distances[2] > 0.6 and np.delete(distances, 2).max() < 0.3  # the histograms alone see it


@pytest.mark.parametrize("name", ["chelsea", "coffee", "astronaut", "rocket"])
def test_a_pan_and_zoom_has_no_cut(package_images, name):
    frames = pan(package_images[name], 12, size=96)
    assert find_cuts(frames) == []
    assert histogram_distances(frames).max() < 0.1


def test_the_flow_vetoes_a_colour_jump_it_can_follow(package_images):
    """The same pan with its colours turned (red to green, green to blue...) from frame 3 on: the histograms jump
    as at a cut, but the flow follows every pixel, so it is one shot."""
    frames = pan(package_images["coffee"], 6, size=96)
    turned = frames[:3] + [Image.fromarray(np.asarray(f)[..., [2, 0, 1]]) for f in frames[3:]]
    assert histogram_distances(turned)[2] > 0.3, "the colours do jump"
    assert find_cuts(turned) == []


def test_shot_ranges_and_their_description():
    shots = shot_ranges(250, [120, 52])
    assert shots == [range(0, 52), range(52, 120), range(120, 250)]
    assert describe_shots(shots) == "3 shots: frames 1-52, 53-120, 121-250"
    assert describe_shots(shot_ranges(4, [])) == "1 shot: frames 1-4"
    assert describe_shots(shot_ranges(3, [1, 2])) == "3 shots: frames 1, 2, 3"
    assert shot_ranges(5, [0, 5, 3]) == [range(0, 3), range(3, 5)], "a cut before the first frame is none"


@pytest.mark.parametrize("value", [0.0, 1.0, -0.2, float("nan")])
def test_a_cut_threshold_out_of_range_is_refused(value):
    with pytest.raises(UsageError, match=r"^--cut-threshold must be between 0 and 1 .*, not "):
        VideoSettings(cut_threshold=value).check()


def test_the_cli_refuses_a_bad_cut_threshold_in_one_line(package_images, tmp_path, capsys):
    code = main(["video", str(tmp_path), str(package_images["rocket"]), "-o", str(tmp_path / "out"),
                 "--cut-threshold", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--cut-threshold must be between 0 and 1" in err, err


def test_no_frame_is_warped_or_held_across_the_cut(two_shots, package_images, tmp_path, tiny):
    """Two passes with long-term terms (offsets 1, 10, 20, 40): shot 2 starts afresh and no neighbour, in any
    pass, lies in the other shot. Frames 10 and 11 would reach frames 0 and 1 ten back without the shots."""
    settings = VideoSettings(passes=2, long_term=True)
    result = stylise_frames(two_shots, package_images["rocket"], tmp_path / "out", OPTIONS, settings)
    assert result.stopped == "completed" and result.shots == [range(0, 3), range(3, 12)]
    runs = [c for c in tiny if c[0] == "run"]
    warps = {(p, i): n for kind, p, i, n in tiny if kind == "warp"}
    assert len(runs) == 2 and runs[0][3] == runs[1][3] == "content", "frames 0 and 3 are ordinary transfers"
    assert (0, 0) not in warps and (0, 3) not in warps
    shot = {i: 0 if i < 3 else 1 for i in range(12)}
    for (p, i), neighbours in warps.items():
        assert all(shot[n] == shot[i] for n in neighbours), (p, i, neighbours)
    assert warps[(0, 4)] == (3,) and warps[(0, 2)] == (1, )
    assert warps[(0, 11)] == (10,), "without the shots, frame 11 would also be held to frame 1 (10 back)"
    assert warps[(1, 2)] == () and warps[(1, 11)] == (), "the backward pass starts each shot's last frame anew"
    assert warps[(1, 1)] == (2,) and warps[(1, 3)] == (4,)


def test_shot_two_is_painted_as_if_it_were_a_clip_of_its_own(two_shots, package_images, tmp_path, tiny):
    """The first frame of shot 2 is an ordinary transfer from --init: the same pixels as shot 2 stylised alone;
    with --no-cuts it is warped from frame 3 and differs."""
    style = package_images["rocket"]
    joined = stylise_frames(two_shots, style, tmp_path / "joined", OPTIONS)
    alone = stylise_frames(two_shots[3:], style, tmp_path / "alone", OPTIONS)
    uncut = stylise_frames(two_shots, style, tmp_path / "uncut", OPTIONS, VideoSettings(cuts=False))
    assert uncut.shots == [range(0, 12)] and alone.shots == [range(0, 9)]

    def pixels(path):
        return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)

    assert np.array_equal(pixels(joined.paths[3]), pixels(alone.paths[0]))
    assert np.abs(pixels(uncut.paths[3]) - pixels(alone.paths[0])).mean() > 2, "--no-cuts warps across"
    for a, b in zip(joined.paths[3:], alone.paths):
        assert np.array_equal(pixels(a), pixels(b)), "nothing of shot 1 reaches shot 2"


@pytest.mark.parametrize("stop_in, warm", [(3, True), (4, False), (4, True)])
def test_a_run_interrupted_in_shot_two_resumes_there(two_shots, package_images, tmp_path, tiny, stop_in, warm):
    """Stopped in shot 2's first frame (an ordinary transfer) or in its second (warped from the first): the resume
    takes the same path as an uninterrupted run and gives the same frames. Where the frame resumed at would have
    started from the previous frame's L-BFGS curvature, which an interrupted run does not keep, it starts cold with
    the cold start's evaluations: the same picture but for rounding, and the frames after it warm again."""
    style = package_images["rocket"]
    frames = two_shots[:6]
    settings = VideoSettings(warm_start=warm)
    reference = stylise_frames(frames, style, tmp_path / "reference", OPTIONS, settings)

    def interrupt(frame, record, image):
        if frame == stop_in and record.iteration == 2:
            raise KeyboardInterrupt

    folder = tmp_path / "out"
    first = stylise_frames(frames, style, folder, OPTIONS, settings, callback=interrupt)
    assert first.stopped == "interrupted"
    assert [p.is_file() for p in first.paths] == [True] * stop_in + [False] * (6 - stop_in)
    assert json.loads((folder / STATE_NAME).read_text())["done"] == [3, stop_in - 3]
    with pytest.raises(UsageError, match="made with"):
        stylise_frames(frames, style, folder, OPTIONS, VideoSettings(cuts=False, warm_start=warm), resume=True)
    tiny.clear()
    second = stylise_frames(frames, style, folder, OPTIONS, settings, resume=True)
    assert second.stopped == "completed" and [r.frame for r in second.reports] == list(range(stop_in + 1, 7))
    paths = [("run", None) if kind == "run" else ("warp", n) for kind, _, _, n in tiny]
    assert paths == [("run", None), ("warp", (3,)), ("warp", (4,))][stop_in - 3:]
    later = settings.frame_iterations
    cold_resume = warm and stop_in == 4
    assert [r.iterations for r in second.reports[-2:]] == [6 if cold_resume else later, later]
    assert [r.iterations for r in reference.reports[-2:]] == [later, later]
    for k, (resumed, uninterrupted) in enumerate(zip(second.paths, reference.paths, strict=True)):
        a, b = (np.asarray(Image.open(p), dtype=np.int16) for p in (resumed, uninterrupted))
        if cold_resume and k >= 4:
            assert np.abs(a - b).mean() < 2.0, k
        else:
            assert np.array_equal(a, b), k


@pytest.mark.parametrize("extra, line", [([], "nstyle video: 2 shots: frames 1-3, 4-6"),
                                         (["--no-cuts"], "nstyle video: 1 shot: frames 1-6 (--no-cuts)")])
def test_nstyle_video_prints_the_shots(two_shots, package_images, tmp_path, tiny, capsys, extra, line):
    source = frames_folder(two_shots[:6], tmp_path / "frames")
    code = main(["video", str(source), str(package_images["rocket"]), "-o", str(tmp_path / "out"), "--size", "64",
                 "--iterations", "2", "--levels", "1", "--device", "cpu", *extra])
    err = capsys.readouterr().err
    assert code == 0, err
    assert line in err.splitlines()
    assert sum(kind == "run" for kind, *_ in tiny) == (1 if extra else 2)


def _pixels(path):
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)


def test_shots_painted_side_by_side_as_jobs_give_the_frames_painted_in_order(two_shots, package_images, tmp_path,
                                                                              tiny):
    """Each shot a job of an executor (its frames and style as bytes, its frames back as PNGs): the same pixels
    as one shot after another in this process, and the state file is gone."""
    from nstyle.jobs.shots import executor_runner
    from nstyle.jobs.spec import ThreadExecutor

    style = package_images["rocket"]
    here = stylise_frames(two_shots[:6], style, tmp_path / "here", OPTIONS)
    executor = ThreadExecutor()
    try:
        jobs = stylise_frames(two_shots[:6], style, tmp_path / "jobs", OPTIONS, runner=executor_runner(executor))
    finally:
        executor.shutdown()
    assert jobs.stopped == "completed" and not (tmp_path / "jobs" / STATE_NAME).exists()
    assert sorted(r.frame for r in jobs.reports) == list(range(1, 7))
    for a, b in zip(here.paths, jobs.paths, strict=True):
        assert np.array_equal(_pixels(a), _pixels(b))


def test_a_stop_while_shots_run_side_by_side_keeps_their_finished_frames_and_resumes(two_shots, package_images,
                                                                                    tmp_path, tiny):
    """Ctrl-C once shot 1 has come back: shot 2 is cancelled with what it finished, the state counts each shot's
    steps, and a resume paints only what is left, to the same pixels as an uninterrupted run (cold L-BFGS starts:
    shot 2 may stop at any frame, and a warm one resumes cold, as the test above shows)."""
    from nstyle.jobs.shots import executor_runner
    from nstyle.jobs.spec import ThreadExecutor

    style, frames = package_images["rocket"], two_shots[:6]
    cold = VideoSettings(warm_start=False)
    reference = stylise_frames(frames, style, tmp_path / "reference", OPTIONS, cold)
    executor = ThreadExecutor()
    inner = executor_runner(executor)

    def stop_after_the_first_shot(works, on_progress, on_outcome):
        def outcome(o):
            on_outcome(o)
            if o.index == 0:
                raise KeyboardInterrupt

        inner(works, on_progress, outcome)

    folder = tmp_path / "out"
    try:
        first = stylise_frames(frames, style, folder, OPTIONS, cold, runner=stop_after_the_first_shot)
    finally:
        executor.shutdown()
    done = json.loads((folder / STATE_NAME).read_text())["done"]
    assert first.stopped == "interrupted" and done[0] == 3 and done[1] < 3
    assert [p.is_file() for p in first.paths] == [True] * (3 + done[1]) + [False] * (3 - done[1])
    tiny.clear()
    second = stylise_frames(frames, style, folder, OPTIONS, cold, resume=True)
    assert second.stopped == "completed" and [r.frame for r in second.reports] == list(range(4 + done[1], 7))
    for resumed, uninterrupted in zip(second.paths, reference.paths, strict=True):
        assert np.array_equal(_pixels(resumed), _pixels(uninterrupted))


@pytest.mark.parametrize(("extra", "message"), [
    (["--workers", "-1"], "--workers must be 0 (in this process) or more, not -1"),
    (["--ray", "--workers", "2"], "--workers counts processes on this machine; not with --ray"),
    (["--frame-iterations", "0"], "--frame-iterations must be at least 1, not 0"),
])
def test_the_cli_refuses_bad_shot_painting_options_in_one_line(package_images, tmp_path, capsys, extra, message):
    code = main(["video", str(tmp_path), str(package_images["rocket"]), "-o", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_auto_maps_on_a_video_is_refused_before_any_work(two_shots, package_images, tmp_path, tiny):
    with pytest.raises(UsageError, match="--auto-maps finds each picture's regions anew, and on a video"):
        stylise_frames(two_shots, package_images["rocket"], tmp_path / "out", OPTIONS | {"auto_maps": 2})
    assert not tiny and not (tmp_path / "out").exists()


def test_a_state_file_without_the_shots_is_refused_on_resume(two_shots, package_images, tmp_path, tiny):
    """A state file of an nstyle before shots counted one number of steps for the whole clip: a resume cannot
    know which shot it was in, and says so in one line instead of guessing."""
    style, frames, folder = package_images["rocket"], two_shots[:6], tmp_path / "out"

    def interrupt(frame, record, image):
        if frame == 4:
            raise KeyboardInterrupt

    assert stylise_frames(frames, style, folder, OPTIONS, callback=interrupt).stopped == "interrupted"
    state = json.loads((folder / STATE_NAME).read_text())
    (folder / STATE_NAME).write_text(json.dumps({"done": 4, "run": state["run"]}))
    with pytest.raises(UsageError, match="written by an older nstyle .* shots; start afresh"):
        stylise_frames(frames, style, folder, OPTIONS, resume=True)
