"""Every transfer option on every frame of a real clip: four frames of bikes.mp4 around its first cut (two shots
of two frames each), small, with the real VGG19. Frames after a shot's first go through the same painter as a
still image, so each option must hold on them as on the first."""

import numpy as np
import pytest
from PIL import Image

from nstyle.core import engine
from nstyle.core.tiling import TiledObjective
from nstyle.io.videofile import read_clip
from nstyle.video.settings import VideoSettings
from nstyle.video.stylise import clip_shots, stylise_frames
from tests.video.frames import frames_folder

pytestmark = pytest.mark.integration

SIZE = 128
OPTIONS = {"size": SIZE, "iterations": 12, "levels": 1}


@pytest.fixture(scope="module")
def frames():
    """Frames 29-32 of bikes.mp4 (the cut falls before frame 31), 128x54."""
    from nstyle.video.samples import SampleError, sample_clip

    try:
        path = sample_clip("bikes")
    except SampleError as err:
        pytest.skip(f"the sample clip cannot be fetched here: {err}")
    clip = read_clip(path, SIZE, 28 / 25, 32 / 25).frames
    assert len(clip) == 4 and clip_shots(clip, VideoSettings()) == [range(0, 2), range(2, 4)]
    return clip


def pixels(image) -> np.ndarray:
    return np.asarray(Image.open(image).convert("RGB") if not isinstance(image, Image.Image) else image,
                      dtype=np.float64) / 255.0


@pytest.fixture
def objectives(monkeypatch):
    """Every objective the painter builds, as (long side, its type, the long side of its first style image)."""
    made = []
    build = engine.Painter.objective

    def recording(self, size):
        objective, content, styles = build(self, size)
        made.append((size, type(objective), max(styles[0].shape[-2:])))
        return objective, content, styles

    monkeypatch.setattr(engine.Painter, "objective", recording)
    return made


def test_preserve_color_keeps_every_frames_colours(frames, images, tmp_path):
    from tests.video.test_video import _chroma

    result = stylise_frames(frames, images["starry_night"], tmp_path / "out",
                            OPTIONS | {"preserve_color": "luminance"})
    for frame, path in zip(frames, result.paths, strict=True):
        moved = np.abs(_chroma(Image.open(path)) - _chroma(frame))
        assert moved.max() < 0.02, f"{path.name}: chroma moved by {moved.max():.4f}"
        assert np.abs(pixels(path) - pixels(frame)).mean() > 0.02, f"{path.name} is barely stylised"


def test_two_styles_each_in_its_own_region_on_every_frame(frames, images, tmp_path):
    """A colour mask: the left half in Starry Night, the right half in Matisse's Woman with a Hat. On every frame
    each half is nearer (in pixels) to that half of the clip painted in its own style alone than in the other."""
    w, h = frames[0].size
    mask = np.zeros((h, w, 3), dtype=np.uint8)
    mask[:, : w // 2] = (255, 0, 0)
    mask[:, w // 2:] = (0, 0, 255)
    Image.fromarray(mask).save(tmp_path / "mask.png")
    starry, matisse = images["starry_night"], images["woman-with-hat-matisse"]
    both = stylise_frames(frames, [starry, matisse], tmp_path / "both",
                          OPTIONS | {"mask": str(tmp_path / "mask.png"), "mask_colors": ["red", "blue"]})
    alone = [stylise_frames(frames, s, tmp_path / s.stem, OPTIONS | {"style_loss": "gram"}) for s in (starry, matisse)]
    halves = (slice(0, w // 2 - 4), slice(w // 2 + 4, w))
    for t, path in enumerate(both.paths):
        out = pixels(path)
        for k, half in enumerate(halves):  # k: 0 left (Starry Night's), 1 right (Matisse's)
            own, other = (np.abs(out[:, half] - pixels(alone[j].paths[t])[:, half]).mean() for j in (k, 1 - k))
            assert own < 0.9 * other, f"{path.name}, half {k}: {own:.3f} from its own style alone, {other:.3f}"


def test_a_mask_file_keeps_the_content_where_it_is_black_on_every_frame(frames, images, tmp_path):
    w, h = frames[0].size
    mask = Image.new("L", (w, h), 255)
    mask.paste(0, (0, 0, w // 2, h))
    mask.save(tmp_path / "mask.png")
    result = stylise_frames(frames, images["starry_night"], tmp_path / "out",
                            OPTIONS | {"mask": str(tmp_path / "mask.png")})
    for frame, path in zip(frames, result.paths, strict=True):
        out, content = pixels(path), pixels(frame)
        assert np.abs(out[:, : w // 2 - 4] - content[:, : w // 2 - 4]).max() <= 1 / 255, path.name
        assert np.abs(out[:, w // 2 + 4:] - content[:, w // 2 + 4:]).mean() > 0.03, path.name


def test_a_folder_of_masks_gives_each_frame_its_own(frames, images, tmp_path):
    """Frame t keeps the content in its own band of columns, which moves right frame by frame, and is painted
    elsewhere, in the bands of the other frames too."""
    w, h = frames[0].size
    band = w // 4
    folder = tmp_path / "masks"
    folder.mkdir()
    for t in range(len(frames)):
        mask = Image.new("L", (w, h), 255)
        mask.paste(0, (t * band, 0, (t + 1) * band, h))
        mask.save(folder / f"mask{t + 1}.png")
    # 12 evaluations a frame: a band kept in one frame starts the next as the photo, and takes a while to paint
    result = stylise_frames(frames, images["starry_night"], tmp_path / "out", OPTIONS | {"mask": str(folder)},
                            VideoSettings(frame_iterations=12))
    for t, (frame, path) in enumerate(zip(frames, result.paths, strict=True)):
        moved = np.abs(pixels(path) - pixels(frame)).mean(axis=(0, 2))  # per column
        for k in range(len(frames)):
            inner = moved[k * band + 3:(k + 1) * band - 3]
            if k == t:
                assert inner.max() <= 1 / 255, f"{path.name} moved its own kept band {k}"
            else:
                assert inner.mean() > 0.015, f"{path.name} kept band {k}, which is another frame's"


def test_a_folder_with_the_wrong_number_of_masks_is_refused_before_any_work(frames, images, tmp_path):
    from nstyle.errors import UsageError

    folder = tmp_path / "masks"
    folder.mkdir()
    Image.new("L", frames[0].size, 255).save(folder / "only.png")
    with pytest.raises(UsageError, match=r"^--mask .*masks: the folder holds 1 images for 4 frames"):
        stylise_frames(frames, images["starry_night"], tmp_path / "out", OPTIONS | {"mask": str(folder)})
    assert not (tmp_path / "out").exists()


def test_style_scale_reaches_every_frame(frames, images, tmp_path, objectives):
    """Every frame's objective is built on the style image at --style-scale times the frame's size: the first
    frame of each shot and the frames after it (whose style targets are made once, and shared)."""
    result = stylise_frames(frames, images["starry_night"], tmp_path / "out", OPTIONS | {"style_scale": 0.5})
    assert result.stopped == "completed"
    assert len(objectives) == len(frames) and {m[2] for m in objectives} == {SIZE // 2}


def test_tiling_paints_every_frame_tile_by_tile_like_the_whole(frames, images, tmp_path, objectives):
    """Frames of 288 px in tiles of 256 (shot 1's two frames and shot 2's first): every frame's objective is
    tiled, and the frames come out as the untiled ones do (the tiled loss is the whole image's, in pieces)."""
    options = {"size": 288, "iterations": 8, "levels": 1, "precision": "float32"}
    clip = frames[:3]
    tiled = stylise_frames(clip, images["starry_night"], tmp_path / "tiled", options | {"tile": 256})
    assert [m[1] for m in objectives] == [TiledObjective] * len(clip)
    whole = stylise_frames(clip, images["starry_night"], tmp_path / "whole", options | {"tile": 0})
    for a, b, frame in zip(tiled.paths, whole.paths, clip, strict=True):
        stylised = np.abs(pixels(b) - pixels(frame.resize(Image.open(b).size))).mean()
        assert stylised > 0.02, f"{b.name} is barely stylised"
        assert np.abs(pixels(a) - pixels(b)).mean() < 0.2 * stylised, a.name


def test_the_cli_paints_the_shots_in_worker_processes_like_one_after_another(frames, images, tmp_path, capsys):
    """`--workers 2`: each shot in a worker process of its own (the batch executor), joined in order: the frames
    are those of one shot after another in this process, on one thread as each worker has (two cores here)."""
    import torch

    from nstyle.cli import main
    from nstyle.jobs.executors import cpu_count

    source = frames_folder(frames, tmp_path / "clip")
    common = [str(source), str(images["starry_night"]), "--size", str(SIZE), "--iterations", "12", "--levels", "1"]
    assert main(["video", *common, "-o", str(tmp_path / "parallel"), "--workers", "2"]) == 0
    err = capsys.readouterr().err
    assert "2 shots: frames 1-2, 3-4 painted side by side" in err, err
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, cpu_count() // 2))
    try:
        assert main(["video", *common, "-o", str(tmp_path / "serial"), "--workers", "1", "-q"]) == 0
    finally:
        torch.set_num_threads(threads)
    parallel, serial = sorted((tmp_path / "parallel").iterdir()), sorted((tmp_path / "serial").iterdir())
    assert [p.name for p in parallel] == [p.name for p in serial] == [f"frame_{t:05d}.png" for t in range(1, 5)]
    for a, b in zip(parallel, serial, strict=True):
        assert np.abs(pixels(a) - pixels(b)).mean() < 2 / 255, a.name


def test_shots_painted_as_ray_tasks_come_back_in_order(frames, images, tmp_path, ray_local):
    """Each shot a Ray task (its frames and style as bytes: the nodes share no files), the frames joined in
    order: those of one shot after another here, with the threads a task has."""
    import torch

    from nstyle.jobs.executors import RayExecutor
    from nstyle.jobs.shots import executor_runner

    executor = RayExecutor()
    try:
        ray = stylise_frames(frames, images["starry_night"], tmp_path / "ray", OPTIONS,
                             runner=executor_runner(executor))
    finally:
        executor.shutdown()
    threads = torch.get_num_threads()
    torch.set_num_threads(int(executor.num_cpus))
    try:
        here = stylise_frames(frames, images["starry_night"], tmp_path / "here", OPTIONS)
    finally:
        torch.set_num_threads(threads)
    assert ray.stopped == "completed" and sorted(r.frame for r in ray.reports) == [1, 2, 3, 4]
    for a, b in zip(ray.paths, here.paths, strict=True):
        assert np.abs(pixels(a) - pixels(b)).mean() < 2 / 255, a.name
