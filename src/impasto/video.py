"""Video without flicker: each frame painted from the last one, held to it by optical flow.

Ruder, Dosovitskiy & Brox, "Artistic style transfer for videos" (GCPR 2016). Painted one by
one, frames flicker: each starts from fresh noise and settles into different strokes. Here
the first frame is painted as a picture is (the settings' recipe), and every later frame
- starts from the painted frame before it, warped into the new frame by the optical flow
  (flow.py; pixels that come in from outside the frame start as the network's mean pixel);
- is held to that warped frame, and to those of the frames `temporal_frames` back, by the
  temporal loss: a mean squared difference weighted per pixel by where the flow is trusted
  (long-term weights "closest first": a pixel answers to the nearest earlier frame in which
  it was visible);
- takes `later_iterations` iterations at the output size, far fewer than the first frame.

Where this differs from their code, and why: the flow is DIS (OpenCV), not DeepFlow or
FlowNet, whose binaries or weights are not available here; the first frame takes the fast
recipe rather than 2000 iterations of L-BFGS from noise; later frames stop after a fixed
number of iterations rather than at a relative change of 1e-4 (measured in bench/video.py);
the temporal weight is calibrated for impasto's normalised losses and images in [0, 1]
(bench/video.py: a weight that holds the frames together without costing their style);
pixels that come in from outside the frame start as the mean pixel rather than as whatever
the warp brings. Their multi-pass algorithm (passes forward and backward over the clip,
blending each frame with its neighbours') is not implemented: one pass with the short-term
loss already brings the warping error well below the goal (bench/RESULTS.md), and several
passes would break the "a frame is final once it is written" that resuming relies on.

Frames are written as they finish, atomically, into OUT's work folder (OUT.frames/ for a
video; OUT itself for a folder), with the run's description: a later run of the same command
skips the frames that are there and goes on, and, as each frame is made from the finished
frames on disk (8-bit, as saved) and a fixed seed, the resumed video equals an uninterrupted
one. The video file is encoded from the frames once they are all there.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import flow, frames, images
from .errors import ImpastoError, SettingError
from .images import ImageInput
from .inputs import digest
from .losses import Temporal
from .painter import Cancel, Painter, Result
from .paths import remove_unfinished, replacing
from .settings import Settings, number, option, whole, wholes
from .vgg import CAFFE

MEAN_PIXEL = CAFFE.mean  # what pixels coming in from outside the frame start as
RUN_FILE = "impasto-video.json"  # a work folder's description of its run
# Bumped whenever the frames a run makes change (2: Lanczos warping), so that a work folder
# of an older impasto is not resumed with frames that an uninterrupted run would not make.
METHOD = 2


@dataclass(frozen=True)
class VideoSettings:
    """How a video is painted, beyond the settings of each frame (`Settings`)."""

    temporal_weight: float = option(
        50.0,
        "weight of the temporal loss: how strongly a frame holds to the one before, warped "
        "(calibrated in bench/video.py)",
        metavar="W",
        parse=number,
    )
    temporal_frames: tuple[int, ...] = option(
        (1,),
        "the earlier frames a frame is held to, counted back (long-term consistency: 1,2,4)",
        metavar="J,...",
        parse=wholes,
    )
    later_iterations: int = option(
        25, "iterations of each frame after the first (which takes the recipe's)", metavar="K", parse=whole
    )
    start: float = option(0.0, "where to begin, in seconds", metavar="SECONDS", parse=number)
    duration: float | None = option(
        None, "how much to paint, in seconds (default: to the end)", metavar="SECONDS", parse=number
    )
    fps: float | None = option(
        None,
        "the frame rate of a folder of frames (default: 25; a video keeps its own)",
        metavar="FPS",
        parse=number,
    )

    def __post_init__(self) -> None:
        if isinstance(self.temporal_frames, int) and not isinstance(self.temporal_frames, bool):
            object.__setattr__(self, "temporal_frames", (self.temporal_frames,))
        if not _finite(self.temporal_weight) or self.temporal_weight < 0:
            raise SettingError(
                "temporal_weight", f"must be a number of 0 or more, not {self.temporal_weight!r}"
            )
        back = self.temporal_frames
        if (
            not isinstance(back, tuple | list)
            or any(isinstance(j, bool) or not isinstance(j, int) or j < 1 for j in back)
            or 1 not in back
        ):
            raise SettingError(
                "temporal_frames", f"must be whole numbers from 1, with 1 (the frame before), not {back!r}"
            )
        object.__setattr__(self, "temporal_frames", tuple(sorted(set(back))))
        if (
            isinstance(self.later_iterations, bool)
            or not isinstance(self.later_iterations, int)
            or self.later_iterations < 1
        ):
            raise SettingError(
                "later_iterations", f"must be a positive whole number, not {self.later_iterations!r}"
            )
        if not _finite(self.start) or self.start < 0:
            raise SettingError("start", f"must be 0 or more seconds, not {self.start!r}")
        if self.duration is not None and (not _finite(self.duration) or self.duration <= 0):
            raise SettingError("duration", f"must be a positive number of seconds, not {self.duration!r}")
        if self.fps is not None and (not _finite(self.fps) or self.fps <= 0):
            raise SettingError("fps", f"must be a positive number, not {self.fps!r}")


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass
class Progress:
    """What a caller hears: once before any work (`done`: the frames already on disk, from a
    stopped run), then after each frame painted."""

    done: int  # frames finished, of `frames`
    frames: int
    seconds: float = 0.0  # how long the frame just painted took
    painted: bool = False  # a frame was just painted (False: the first report)


class Stopped(KeyboardInterrupt):
    """Ctrl-C, or the cancel token, during a video: the `done` frames finished so far are on
    disk, and the frame in progress is dropped."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__("stopped")
        self.done, self.total = done, total


def work_folder(output: Path) -> Path:
    """Where the painted frames of `output` go: the folder itself, or OUT.frames/ beside a video."""
    return output if not output.suffix else output.with_name(output.name + ".frames")


def frame_path(folder: Path, number: int) -> Path:
    return folder / f"frame_{number:06d}.png"


def paint_video(
    painter: Painter,
    source: str | os.PathLike[str],
    style: ImageInput | Sequence[ImageInput],
    output: str | os.PathLike[str],
    settings: Settings | None = None,
    video: VideoSettings | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
) -> str:
    """Paint the clip of `source` (a video file or a folder of numbered frames) in the style of
    `style` into `output` (a video file or a folder). Resumes a run of the same command that
    was stopped. Returns a note on the audio ("" where there was none)."""
    settings = settings or Settings()
    video = video or VideoSettings()
    clip = frames.open_clip(source, video.start, video.duration, video.fps)
    output = frames.check_output(output)
    paintings = [style] if isinstance(style, str | os.PathLike | Image.Image) else list(style)
    folder = work_folder(output)
    described = _describe(clip, paintings, settings, video) | {
        "method": METHOD, "device": str(painter.device), "precision": str(painter.precision)}  # fmt: skip
    seed = _claim(folder, described, settings.seed)
    settings = settings.replace(seed=seed)
    history: list[Image.Image] = []  # the last input frames, at the output size, newest last
    reach = max(video.temporal_frames)
    done = 0
    while done < clip.count and frame_path(folder, done + 1).exists():
        done += 1
    if progress:
        progress(Progress(done, clip.count))
    try:
        for index, frame in enumerate(clip.frames()):
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            history = (history + [images.resize_long_side(frame, settings.size)])[-(reach + 1) :]
            target = frame_path(folder, index + 1)
            if target.exists():
                continue
            result = _paint_frame(painter, folder, index, history, paintings, settings, video, cancel)
            if result.stopped:  # cancelled part-way: this frame is not finished
                raise KeyboardInterrupt
            images.write_image(result.image, target)
            done = index + 1
            if progress:
                progress(Progress(done, clip.count, result.seconds, painted=True))
    except KeyboardInterrupt:  # the painter's Interrupted too: the frame in progress is dropped
        raise Stopped(done, clip.count) from None
    if not output.suffix:
        return ""
    painted = [frame_path(folder, number) for number in range(1, clip.count + 1)]
    return frames.write_video(painted, output, clip.fps, clip if clip.is_video else None)


def _paint_frame(painter: Painter, folder: Path, index: int, history: list[Image.Image], paintings: list,
                 settings: Settings, video: VideoSettings, cancel: Cancel | None) -> Result:  # fmt: skip
    """Frame `index` (0-based, the last of `history`): the first as a picture is painted, a
    later one from the frame before it, warped, and held to it by the temporal loss."""
    if index == 0:
        return painter.paint(history[-1], paintings, settings, cancel=cancel)
    temporal, start = _temporal(folder, index, history, video)
    later = settings.replace(
        scales=(settings.size,), octaves=None, iterations=video.later_iterations, init=start
    )
    return painter.paint(history[-1], paintings, later, cancel=cancel, temporal=temporal)


def _temporal(
    folder: Path, index: int, history: list[Image.Image], video: VideoSettings
) -> tuple[Temporal, Image.Image]:
    """The temporal loss of frame `index` (0-based) against the painted frames before it, and the
    image it starts from: the painted frame before it, warped into it."""
    current = history[-1]
    warped, weights = [], []
    for back in video.temporal_frames:
        if back > index:
            break
        earlier = history[-1 - back]
        backward = flow.flow(current, earlier)  # this frame -> the earlier one
        forward = flow.flow(earlier, current)
        painted = np.asarray(images.read_image(frame_path(folder, index + 1 - back)), dtype=np.float32) / 255
        warped.append(np.clip(flow.warp(painted, backward, fill=MEAN_PIXEL, sharp=True), 0, 1))
        weights.append(flow.reliability(backward, forward))  # where this frame's flow can be trusted
    weights = flow.closest_first(weights)
    as_tensor = lambda array: torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0)  # noqa: E731
    temporal = Temporal(
        tuple(as_tensor(w) for w in warped),
        tuple(as_tensor(c[..., None]) for c in weights),
        video.temporal_weight,
    )
    start = Image.fromarray((np.clip(warped[0], 0, 1) * 255 + 0.5).astype(np.uint8))
    return temporal, start


def _describe(clip: frames.Clip, paintings: list, settings: Settings, video: VideoSettings) -> dict:
    """What a work folder's frames depend on: a run that differs in any of it cannot resume there."""

    def value(item: object) -> object:
        if isinstance(item, Image.Image):
            return digest(images.to_rgb(item))
        if isinstance(item, str | os.PathLike):
            path = Path(item)
            return digest(images.read_image(path)) if path.is_file() else str(item)
        if isinstance(item, tuple | list):
            return [value(part) for part in item]
        return item

    source = clip.source.stat()
    return {
        "source": [str(clip.source.resolve()), source.st_size, source.st_mtime_ns],
        "frames": clip.count,
        "fps": str(clip.fps),
        "paintings": [value(painting) for painting in paintings],
        "settings": {name: value(item) for name, item in asdict(settings).items()},
        "video": {
            name: value(item) for name, item in asdict(video).items() if name not in ("start", "duration")
        }
        | {"start": clip.start, "duration": clip.duration},
    }


def _claim(folder: Path, described: dict, seed: int | None) -> int:
    """Make `folder` this run's, or find it already so (a stopped run of the same command), and
    return the run's seed: `seed`, or the one drawn for the run's first try. A folder of another
    run's frames is refused, not overwritten."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImpastoError(f"{folder}: cannot hold the painted frames ({error.strerror})") from None
    remove_unfinished(folder, "frame_*")  # a frame being written when the run was killed
    record = folder / RUN_FILE
    if record.exists():
        try:
            earlier = json.loads(record.read_text())
            same, seed = earlier["run"] == described, int(earlier["seed"])
        except (ValueError, KeyError, TypeError):
            raise ImpastoError(f"{record}: cannot be read; remove {folder}, or give another output") from None
        if not same:
            raise ImpastoError(
                f"{folder} holds the frames of another run (other inputs, settings or impasto); "
                "remove it, or give another output"
            )
        return seed
    if any(folder.glob("frame_*.png")):
        raise ImpastoError(
            f"{folder} already holds frames that impasto video did not make; give another output"
        )
    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
    with replacing(record) as temporary:
        temporary.write_text(json.dumps({"run": described, "seed": seed}, indent=1))
    return seed
