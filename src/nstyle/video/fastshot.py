"""One shot painted by the feed-forward network (``--method fast``), kept steady by the optical flow.

The network paints each frame in one pass, so the frames come fast, but each is painted on its own: its strokes
are redrawn at every frame, and played they boil. So each frame after a shot's first is blended with the previous
*output* warped onto it by the input's optical flow, where that flow is reliable (Ruder et al.'s masks: not on
occlusions, motion boundaries, or what came from outside the frame); elsewhere it is the network's frame alone.
The blend is the frame that minimises ``|x - network|^2 + W c |x - warped|^2`` (``W`` the ``--temporal-weight``,
``c`` the mask): per pixel ``x = (network + W c warped) / (1 + W c)``, the closed form of the optimised mode's
temporal term with the network's frame as the rest of the objective. A larger W holds the strokes longer; too large
and they are dragged along with every error of the flow (``FAST_TEMPORAL_WEIGHT``, docs/VIDEO.md). Nothing is
blended across a cut: a shot's first frame is the network's own.

The frames are painted in batches (faster per frame on a CPU), blended in order, and each handed on as it is
finished, so the run writes, resumes and stops as the optimised mode does. The previous output is taken as it was
written (8 bits a channel), so a resumed shot continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import PIL.Image
import torch

from ..core.catalog import METHODS
from ..core.engine import select_device
from ..core.feedforward import FastPainter
from ..core.optim import IterationRecord, StopOptimization
from ..core.options import TransferOptions
from ..core.stops import Stop
from ..errors import UsageError
from ..io.images import as_image
from .flow import frame_flow, warp
from .settings import DEFAULT_FRAME_ITERATIONS, VideoSettings

BATCH = 8  # frames painted together: about a third of the time a frame of one at a time (docs/VIDEO.md)


def paints_in_one_pass(method: str) -> bool:
    """Whether ``method`` paints a frame in one pass of a network (its catalog record names a painter): the frames
    then go through this module, not the optimiser."""
    return METHODS[method].painter is not None


def check_fast_settings(settings: VideoSettings) -> None:
    """Refuse what only the optimised mode has, rather than ignore it."""
    why = "paints each frame in one pass of its network, with no"
    if settings.passes != 1:
        raise UsageError(f"--passes {settings.passes}: --method fast {why} passes to repeat; leave out --passes")
    if settings.long_term:
        raise UsageError(f"--long-term: --method fast {why} long-term loss; leave out --long-term")
    if settings.frame_iterations not in (None, DEFAULT_FRAME_ITERATIONS):
        raise UsageError(f"--frame-iterations {settings.frame_iterations}: --method fast {why} iterations; leave "
                         "out --frame-iterations")
    if not settings.warm_start:
        raise UsageError(f"--no-warm-start: --method fast {why} optimiser to start; leave out --no-warm-start")


def blended(network: np.ndarray, warped: np.ndarray, mask: np.ndarray, weight: float) -> np.ndarray:
    """The network's frame blended with the warped previous output where ``mask`` trusts it (arrays [H, W, 3] in
    0..1, the mask [H, W]): ``(network + W c warped) / (1 + W c)``."""
    share = (weight * mask / (1.0 + weight * mask))[..., None]
    return share * warped + (1.0 - share) * network


def masked_distance(frame: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> float:
    """Mean over the reliable pixels and the channels of ``(frame - warped)^2``: the frame's warping error, as the
    optimised mode reports its temporal term (``shot.FrameReport.temporal``)."""
    covered = mask[..., None] * np.ones(3, np.float32)
    return float(((frame - warped) ** 2 * covered).sum() / max(covered.sum(), 1.0))


def _network_frames(painter: FastPainter, frames: list[PIL.Image.Image], styles, opts: list[TransferOptions]):
    """Each frame painted by the network with its own options (frames whose options agree in one batch)."""
    out: list[PIL.Image.Image | None] = [None] * len(frames)
    groups: dict[str, list[int]] = {}  # only a per-frame mask tells a frame's options from another's
    for j, o in enumerate(opts):
        groups.setdefault(str(o.mask), []).append(j)
    for idx in groups.values():
        o = opts[idx[0]]
        mask = None if o.mask is None else as_image(o.mask)
        painted = painter.stylise_many([frames[j] for j in idx], styles, size=None,
                                       blend=o.style_blend_for(len(styles)), strength=o.strength,
                                       preserve_color=o.preserve_color, histogram_method=o.histogram_method,
                                       mask=mask, mask_colors=o.mask_colors)
        for j, picture in zip(idx, painted):
            out[j] = picture
    return out


def _array(picture: PIL.Image.Image) -> np.ndarray:
    return np.asarray(picture.convert("RGB"), dtype=np.float32) / 255.0


def _picture(array: np.ndarray) -> PIL.Image.Image:
    return PIL.Image.fromarray(np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8))


def paint_fast_shot(work, on_step: Callable, on_iteration: Callable | None = None,
                    painter: FastPainter | None = None) -> str:
    """Paint ``work``'s (a ``shot.ShotWork``) remaining frames, each finished one handed to ``on_step(step, frame,
    picture, seconds, distance)`` (``distance``: its ``masked_distance`` to the warped previous output, 0 for a
    shot's first frame and without the blend); ``on_iteration(frame, record, image)`` runs once a frame (it may
    stop the run like the optimised mode's). Returns how it stopped. The network loads here unless given."""
    if painter is None:
        painter = FastPainter.load(select_device(work.options_of(work.start).device))
    contents = [np.asarray(f.convert("RGB")) for f in work.frames]
    previous = None
    if work.done > 0:  # resumed: the last finished frame, as it was written
        previous = _array(work.stylised[work.done - 1])
    started = time.perf_counter()
    for first in range(work.done, len(work.frames), BATCH):
        batch = range(first, min(first + BATCH, len(work.frames)))
        t0 = time.perf_counter()
        network = _network_frames(painter, [work.frames[j] for j in batch], work.styles,
                                  [work.options_of(work.start + j) for j in batch])
        per_frame = (time.perf_counter() - t0) / len(batch)
        for j, picture in zip(batch, network):
            t1 = time.perf_counter()
            frame, distance = _array(picture), 0.0
            if previous is not None and work.settings.temporal_weight > 0:
                flow, mask = frame_flow(contents[j], contents[j - 1], work.settings.flow)
                warped = warp(previous, flow, work.settings.warp)
                picture = _picture(blended(frame, warped, mask, work.settings.temporal_weight))
                frame = _array(picture)
                distance = masked_distance(frame, warped, mask)
            previous = frame  # as written, so that a resume goes on from the same frame
            seconds = per_frame + time.perf_counter() - t1
            if on_iteration is not None:
                how = _shown(on_iteration, work.start + j, seconds, time.perf_counter() - started, previous,
                             painter.device)
                if how is not None:
                    return how
            on_step(j, work.start + j, picture, seconds, distance)
    return Stop.COMPLETED


def _shown(on_iteration, i: int, seconds: float, elapsed: float, frame: np.ndarray, device) -> str | None:
    """Hand the finished frame to ``on_iteration``; how the run stops if it says so (else None)."""
    record = IterationRecord(1, 0.0, 0.0, 0.0, 0.0, seconds, elapsed)
    image = torch.from_numpy(frame).permute(2, 0, 1)[None].to(device)
    try:
        on_iteration(i, record, image)
    except KeyboardInterrupt:
        return Stop.INTERRUPTED
    except StopOptimization as stop:
        how = Stop.of(str(stop))
        if how in (Stop.INTERRUPTED, Stop.CANCELLED):
            return how
    return None
