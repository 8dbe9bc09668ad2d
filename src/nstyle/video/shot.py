"""One shot painted frame by frame (Ruder, Dosovitskiy and Brox, 2016), here or in a worker.

Each frame after a shot's first starts from the previous stylised frame warped by the optical flow of the input,
and its loss gets a temporal term that keeps it close to that warped frame where the flow is reliable
(``temporal``). The first frame is an ordinary transfer with the engine's schedule (``engine.run``); every later
one runs ``VideoSettings.frame_iterations`` at the final size from its warped start, which is already close,
through the same ``Painter`` as a still image (so every transfer option applies) and with the style targets made
once (``Painter``'s ``shared``). Each frame's L-BFGS starts with the previous frame's curvature
(``optim.Curvature``): the frames' problems are alike, so the first evaluation is already a full quasi-Newton step
and 4 evaluations do what 6 cold ones did. The start is warped bicubically (``--warp cubic``): bilinear sampling blurs a
little at every frame, and along a shot the strokes went soft (``--warp linear``, as it was). Options:

* long-term consistency: also tie each frame to frames 10, 20 and 40 back (Ruder et al.'s J), each only
  where the nearer ones are occluded, so that something hidden for a moment comes back as it was;
* several passes: after the forward pass, passes alternate direction and start each frame from a blend of
  its current stylisation and the warped neighbour (delta = 0.5), which spreads consistency both ways and
  repairs the first frames; each later pass runs half the iterations.

Nothing reaches outside the shot, so shots can be painted in any order or side by side (``ShotWork``).
Frames are indexed as in the whole clip: the lists hold the shot's entries at its indices.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import PIL.Image
import torch

from ..core.catalog import ONE_PASS_METHODS
from ..core.engine import Painter, load_network, run, seed_everything, select_device
from ..core.optim import IterationRecord
from ..core.options import TransferOptions, options_from
from ..core.stops import Stop
from .fastshot import paint_fast_shot, paints_in_one_pass
from .flow import frame_flow, warp
from .masks import frame_options
from .settings import VideoSettings
from .temporal import TemporalLoss, long_term_masks, with_temporal

LONG_TERM_OFFSETS = (1, 10, 20, 40)  # Ruder et al.'s J for long-term consistency
PASS_BLEND = 0.5  # delta of the multi-pass algorithm: how much of the warped neighbour a new pass starts from

IterationCallback = Callable[[int, IterationRecord, torch.Tensor], None]  # (frame, record, image so far)


@dataclass
class FrameReport:
    frame: int  # 1-based, in the clip
    pass_: int  # 1-based
    iterations: int
    seconds: float
    loss: float
    temporal: float  # unweighted masked mean squared distance to the warped neighbour(s); 0 for none


def plan(frames: int, passes: int) -> list[tuple[int, int, int]]:
    """Every step as (pass, frame index, direction): pass 0 forward, then alternately backward and forward."""
    steps = []
    for p in range(passes):
        direction = 1 if p % 2 == 0 else -1
        order = range(frames) if direction == 1 else range(frames - 1, -1, -1)
        steps += [(p, i, direction) for i in order]
    return steps


def to_array(image: torch.Tensor | PIL.Image.Image) -> np.ndarray:
    """A picture as float32 [H, W, 3] in 0..1, the form in which stylised frames are warped."""
    if isinstance(image, PIL.Image.Image):
        return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return image.detach().to("cpu", torch.float32)[0].permute(1, 2, 0).numpy().copy()


def _to_tensor(array: np.ndarray, device: torch.device) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))
    return (t.permute(2, 0, 1) if t.dim() == 3 else t[None]).unsqueeze(0).to(device)


class ShotPainter:
    """Paints the steps of ``work`` (``ShotWork.steps``), each by ``paint(k)`` from the frames finished so far
    (``stylised``, indexed as in the clip: entries outside the shot are not read)."""

    def __init__(self, work: ShotWork, backbone, device: torch.device):
        self.work, self.shot, self.styles, self.settings = work, work.shot, work.styles, work.settings
        self.frame_options, self.backbone, self.device = work.frame_options, backbone, device
        self.contents = {work.start + j: np.asarray(f.convert("RGB")) for j, f in enumerate(work.frames)}
        self.steps = work.steps
        self.offsets = LONG_TERM_OFFSETS if work.settings.long_term else (1,)
        self.shared: dict = {}  # the style targets of the frames after the first (Painter's ``shared``)
        self.curvature = None  # the last step's L-BFGS curvature, which the next step starts with (warm_start)

    def paint(self, k: int, stylised: list[np.ndarray | None],
              on_iteration: Callable[[IterationRecord, torch.Tensor], None] | None = None):
        """Step ``k``: (picture, history, how it stopped, temporal error)."""
        p, i, direction = self.steps[k]
        # The frames 1, 10, 20, 40 back in this pass's direction, of the same shot: none across a cut.
        neighbours = [i - direction * j for j in self.offsets if i - direction * j in self.shot]
        if p == 0 and not neighbours:  # the shot's first frame: an ordinary transfer
            result = run(PIL.Image.fromarray(self.contents[i]), self.styles, callback=on_iteration,
                         backbone=self.backbone, **self.frame_options(i))
            self.curvature = result.curvature
            return result.image, result.history, result.stopped, 0.0
        warm = self.curvature if self.settings.warm_start else None
        picture, outcome, temporal = _stylise_one(
            p, i, neighbours, self.contents, stylised, self.work.options_of(i), self.settings, self.backbone,
            self.styles, self.device, self.work.planned(k), on_iteration, self.shared, warm)
        if outcome.stopped not in (Stop.INTERRUPTED, Stop.CANCELLED):
            self.curvature = outcome.curvature
        return picture, outcome.history, outcome.stopped, temporal


def _stylise_one(p, i, neighbours, contents, stylised, opts, settings, backbone, styles, device, iterations,
                 on_iteration, shared, warm):
    """One frame after the first, through the same painter as a still image (so every option applies): a warped
    start, and the temporal loss against the warped neighbour(s) added to the painter's objective."""
    painter = Painter(PIL.Image.fromarray(contents[i]), styles, opts, backbone=backbone, shared=shared)
    targets, masks = [], []
    for n in neighbours:
        flow, mask = frame_flow(contents[i], contents[n], settings.flow)
        targets.append(painter.working(_to_tensor(warp(stylised[n], flow, settings.warp), device)))
        masks.append(_to_tensor(mask, device))
    temporal = None
    if targets:
        weights = long_term_masks(masks) if len(masks) > 1 else masks
        temporal = TemporalLoss(targets, weights)
    current = painter.working(_to_tensor(stylised[i], device)) if stylised[i] is not None else None
    if p == 0:  # where the warp is unreliable (what came in, disocclusions), the frame painted in one pass
        init = targets[0]
        if settings.fill in ONE_PASS_METHODS:
            init = masks[0] * init + (1 - masks[0]) * painter.draft(settings.fill, init.shape)
    elif targets:  # a later pass: blend the frame as it is with its warped, already updated neighbour
        init = PASS_BLEND * masks[0] * targets[0] + (1 - PASS_BLEND * masks[0]) * current
    else:
        init = current

    def extra(objective, compose):
        return with_temporal(objective, temporal, settings.temporal_weight, compose)

    outcome, image = painter.paint(opts.size, iterations, init, on_iteration, extra if temporal is not None else None,
                                   warm=warm)
    with torch.no_grad():
        value = float(temporal(image)) if temporal is not None else 0.0
    return painter.picture(image), outcome, value


@dataclass
class ShotWork:
    """One shot as a worker process or a Ray task paints it: self-contained but for the files the options name.

    ``frames`` and ``stylised`` hold the shot's frames only (``stylised``: as finished so far, None for the
    rest); ``options`` are the transfer options shared by its frames, ``per_frame`` the options that name one
    file a frame (``video.masks``), listed for the shot's frames."""

    index: int  # which shot of the clip, from 0
    start: int  # its first frame's index in the clip
    frames: list[PIL.Image.Image]
    styles: list[PIL.Image.Image]
    options: dict
    settings: VideoSettings
    per_frame: dict[str, list] = field(default_factory=dict)
    done: int = 0  # steps of the shot's plan already finished
    stylised: list[PIL.Image.Image | None] = field(default_factory=list)

    _options: dict[int, TransferOptions] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def shot(self) -> range:
        return range(self.start, self.start + len(self.frames))

    @functools.cached_property
    def steps(self) -> list[tuple[int, int, int]]:
        """The shot's plan as (pass, frame index in the clip, direction)."""
        return [(p, self.start + i, d) for p, i, d in plan(len(self.frames), self.settings.passes)]

    def frame_options(self, i: int) -> dict:
        """Frame ``i``'s options (``i`` counted in the clip)."""
        return frame_options(self.options, self.per_frame, i - self.start)

    def options_of(self, i: int) -> TransferOptions:
        """Frame ``i``'s options, checked (the last frame's kept: neighbours ask in turn)."""
        if i not in self._options:
            self._options = {i: options_from(**self.frame_options(i))}
        return self._options[i]

    def planned(self, k: int) -> int:
        """Evaluations planned for step ``k``: a shot's first frame runs the engine's whole schedule."""
        p, i, _ = self.steps[k]
        opts = self.options_of(i)
        if paints_in_one_pass(opts.method):  # one pass of the network a frame
            return 1
        if p == 0 and i == self.start:
            return opts.planned_iterations()
        # the first step of a resumed shot has no previous frame's curvature to start with (ShotPainter.curvature)
        later = self.settings.later_iterations(opts.iterations, warm=not (k == self.done and k > 0))
        return later if p == 0 else max(1, later // 2)


StepCallback = Callable[[int, int, PIL.Image.Image, FrameReport], None]  # (step, frame, picture, report)


def paint_shot(work: ShotWork, on_step: StepCallback, on_iteration: IterationCallback | None = None,
               backbone=None) -> str:
    """Paint ``work``'s remaining steps here, each finished one handed to ``on_step``; returns how it stopped
    (``completed``, or ``interrupted``/``cancelled`` when ``on_iteration`` stopped it). The network loads here
    unless given: a worker paints its shots with a network of its own. ``--method fast`` paints with its network
    instead (``fastshot``; ``backbone``, if given, is its ``FastPainter``)."""
    import time

    opts = options_from(**work.frame_options(work.start))
    if paints_in_one_pass(opts.method):
        def report(k: int, i: int, picture: PIL.Image.Image, seconds: float, distance: float) -> None:
            on_step(k, i, picture, FrameReport(i + 1, 1, 1, seconds, 0.0, distance))

        return paint_fast_shot(work, report, on_iteration, backbone)
    device = select_device(opts.device)
    seed_everything(opts.seed)
    backbone = backbone if backbone is not None else load_network(opts, device)
    painter = ShotPainter(work, backbone, device)
    stylised = [None] * work.start + [to_array(s) if s is not None else None
                                      for s in work.stylised or [None] * len(work.frames)]
    for k in range(work.done, len(painter.steps)):
        p, i, _ = painter.steps[k]
        t0 = time.perf_counter()
        shown = (lambda record, image, i=i: on_iteration(i, record, image)) if on_iteration else None
        picture, history, how, temporal = painter.paint(k, stylised, shown)
        if how in (Stop.INTERRUPTED, Stop.CANCELLED):
            return how
        stylised[i] = to_array(picture)
        on_step(k, i, picture, FrameReport(i + 1, p + 1, len(history), time.perf_counter() - t0,
                                           history[-1].total if history else 0.0, temporal))
    return Stop.COMPLETED
