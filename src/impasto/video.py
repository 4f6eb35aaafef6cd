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
- takes `later_iterations` iterations at the output size, far fewer than the first frame;
- starts with fine luminance noise added to the warped frame (`detail_noise`): each warp
  resamples the painted frame, and the temporal loss holds the next frame to that softer
  copy, so without it the brushwork fades along a clip (bench/RESULTS.md); the noise makes up
  `detail_noise` times the roughness that the warped frame lacks against the painting (the
  mean absolute Laplacian of luminance, start.py), and the optimiser shapes it into strokes.

Where this differs from their code, and why: the flow is DIS (OpenCV), not DeepFlow or
FlowNet, whose binaries or weights are not available here; the first frame takes the fast
recipe rather than 2000 iterations of L-BFGS from noise; later frames stop after a fixed
number of iterations rather than at a relative change of 1e-4 (measured in bench/video.py);
the temporal weight is calibrated for impasto's normalised losses and images in [0, 1]
(bench/video.py: a weight that holds the frames together without costing their style);
pixels that come in from outside the frame start as the mean pixel rather than as whatever
the warp brings.

Their multi-pass algorithm (`passes`): after the pass above, passes go over the clip
backward, then forward, and so on; in each, a frame starts from its result of the pass
before blended with its neighbour of this pass (the frame before it in this pass's
direction), warped: (x + δ c ω) / (1 + δ c), δ = BLEND, c the neighbour's reliability and ω
its warped frame, and is held to that neighbour by the temporal loss for `later_iterations`
iterations; the first frame of a pass starts from its own last result, without a temporal
loss. So what a frame learns reaches the frames before it too. Where this differs from
theirs: their passes start from noise, take 100 iterations and add the temporal loss from
the eighth of fifteen; here the first pass is already the temporal one above, every pass
has the temporal loss (short-term only), and a few passes are meant, not fifteen.

Frames are written as they finish, atomically, into OUT's work folder (OUT.frames/ for a
video; OUT itself for a folder; pass N's frames, from the second pass on, in its pass_N/),
with the run's description; where more passes follow, the first also leaves the input frames
at the output size in inputs/, which later passes read, so that no pass holds the clip in
memory. A later run of the same command skips the frames that are there and goes on, and, as
each frame is made from the finished frames on disk (8-bit, as saved) and a fixed seed, the
resumed video equals an uninterrupted one. The number of passes is not part of the
description, so a run with more passes goes on from a finished one. The video file is
encoded from the last pass's frames once they are all there.
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

from . import flow, frames, images, start
from .errors import ImpastoError, SettingError
from .images import ImageInput
from .inputs import digest
from .losses import Temporal
from .painter import Cancel, Painter, Result
from .paths import remove_unfinished, replacing
from .settings import Settings, number, option, require_number, require_whole, whole, wholes
from .vgg import CAFFE

MEAN_PIXEL = CAFFE.mean  # what pixels coming in from outside the frame start as
RUN_FILE = "impasto-video.json"  # a work folder's description of its run
# Bumped whenever the frames a run makes change (2: Lanczos warping), so that a work folder
# of an older impasto is not resumed with frames that an uninterrupted run would not make.
METHOD = 3  # 3: later frames start with detail noise
BLEND = 0.5  # δ of the multi-pass start, Ruder et al.'s


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
    detail_noise: float = option(
        2.0,
        "fine luminance noise added where each later frame starts, as a multiple of the "
        "roughness that the warped frame before it lacks against the painting: brushwork that "
        "does not fade along the clip (0: none; calibrated in bench/video.py)",
        metavar="F",
        parse=number,
    )
    passes: int = option(
        1,
        "Ruder et al.'s multi-pass: after the first pass, N - 1 more, backward and forward in "
        "turn, each frame starting from its last result blended with its neighbour's",
        metavar="N",
        parse=whole,
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
        require_number("temporal_weight", self.temporal_weight)
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
        require_whole("later_iterations", self.later_iterations)
        require_number("detail_noise", self.detail_noise)
        require_whole("passes", self.passes)
        require_number("start", self.start)
        if self.duration is not None:
            require_number("duration", self.duration, positive=True)
        if self.fps is not None:
            require_number("fps", self.fps, positive=True)


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


def pass_folder(folder: Path, number: int) -> Path:
    """Where pass `number`'s frames go: the work folder itself for the first, pass_N/ in it after."""
    return folder if number == 1 else folder / f"pass_{number}"


def inputs_folder(folder: Path) -> Path:
    """Where the first pass leaves the input frames, at the output size, for later passes."""
    return folder / "inputs"


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
    total = clip.count * video.passes
    done = sum(frame_path(pass_folder(folder, k), i).exists()
               for k in range(1, video.passes + 1) for i in range(1, clip.count + 1))  # fmt: skip
    if progress:
        progress(Progress(done, total))

    def finished(result: Result, target: Path) -> None:
        nonlocal done
        if result.stopped:  # cancelled part-way: this frame is not finished
            raise KeyboardInterrupt
        images.write_image(result.image, target)
        done += 1
        if progress:
            progress(Progress(done, total, result.seconds, painted=True))

    roughness = float(np.mean([start.roughness(images.resize_long_side(images.read_image(p), settings.size))
                               for p in paintings]))  # fmt: skip
    try:
        _first_pass(painter, clip, folder, paintings, settings, video, roughness, cancel, finished)
        for number in range(2, video.passes + 1):
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            _later_pass(painter, number, clip.count, folder, paintings, settings, video, cancel, finished)
    except KeyboardInterrupt:  # the painter's Interrupted too: the frame in progress is dropped
        raise Stopped(done, total) from None
    if not output.suffix:
        return ""
    last = pass_folder(folder, video.passes)
    painted = [frame_path(last, number) for number in range(1, clip.count + 1)]
    return frames.write_video(painted, output, clip.fps, clip if clip.is_video else None)


Finished = Callable[[Result, Path], None]


def _first_pass(painter: Painter, clip: frames.Clip, folder: Path, paintings: list, settings: Settings,
                video: VideoSettings, roughness: float, cancel: Cancel | None,
                finished: Finished) -> None:  # fmt: skip
    """Paint the frames not yet on disk, in order, keeping only the last few input frames in
    memory; where more passes follow, leave every input frame at the output size in inputs/."""
    history: list[Image.Image] = []  # the last input frames, at the output size, newest last
    reach = max(video.temporal_frames)
    if video.passes > 1:
        inputs_folder(folder).mkdir(exist_ok=True)
    for index, frame in enumerate(clip.frames()):
        if cancel is not None and cancel.is_set():
            raise KeyboardInterrupt
        resized = images.resize_long_side(frame, settings.size)
        history = (history + [resized])[-(reach + 1) :]
        stored = frame_path(inputs_folder(folder), index + 1)
        if video.passes > 1 and not stored.exists():
            images.write_image(resized, stored)
        target = frame_path(folder, index + 1)
        if not target.exists():
            result = _paint_frame(painter, folder, index, history, paintings, settings, video, roughness,
                                  cancel)  # fmt: skip
            finished(result, target)


def _later_pass(painter: Painter, number: int, count: int, folder: Path, paintings: list,
                settings: Settings, video: VideoSettings, cancel: Cancel | None,
                finished: Finished) -> None:  # fmt: skip
    """Pass `number` (from 2) over the `count` frames: backward if it is even, forward if odd
    (see the module's description)."""
    before, here = pass_folder(folder, number - 1), pass_folder(folder, number)
    here.mkdir(exist_ok=True)
    read_input = lambda index: images.read_image(frame_path(inputs_folder(folder), index + 1))  # noqa: E731
    order = range(count - 1, -1, -1) if number % 2 == 0 else range(count)
    step = -1 if number % 2 == 0 else 1
    later = _later_frame(settings, video)
    for position, index in enumerate(order):
        target = frame_path(here, index + 1)
        if target.exists():
            continue
        last = images.read_image(frame_path(before, index + 1))
        resized = read_input(index)
        if position == 0:
            result = painter.paint(resized, paintings, later.replace(init=last), cancel=cancel)
        else:
            neighbour = index - step
            temporal, warped, reliable = _temporal(
                resized, [(read_input(neighbour), frame_path(here, neighbour + 1))], video.temporal_weight
            )
            mine = np.asarray(last, dtype=np.float32) / 255
            blend = BLEND * reliable[..., None]
            begin = _to_image((mine + blend * warped) / (1 + blend))
            result = painter.paint(resized, paintings, later.replace(init=begin), cancel=cancel,
                                   temporal=temporal)  # fmt: skip
        finished(result, target)


def _paint_frame(painter: Painter, folder: Path, index: int, history: list[Image.Image], paintings: list,
                 settings: Settings, video: VideoSettings, roughness: float,
                 cancel: Cancel | None) -> Result:  # fmt: skip
    """Frame `index` (0-based, the last of `history`) of the first pass: the first frame as a
    picture is painted, a later one from the frame before it, warped, with detail noise to
    make up the paintings' `roughness`, and held to the frames `temporal_frames` back by the
    temporal loss."""
    if index == 0:
        return painter.paint(history[-1], paintings, settings, cancel=cancel)
    earlier = [(history[-1 - back], frame_path(folder, index + 1 - back))
               for back in video.temporal_frames if back <= index]  # fmt: skip
    temporal, warped, _ = _temporal(history[-1], earlier, video.temporal_weight)
    missing = math.sqrt(max(roughness**2 - start.roughness(_to_image(warped)) ** 2, 0.0))
    generator = torch.Generator().manual_seed(settings.seed + index)  # a rerun draws the same
    height, width = warped.shape[:2]
    noise = start.luminance_noise((3, height, width), video.detail_noise * missing, generator)
    begin = _to_image(warped + noise[0].permute(1, 2, 0).numpy())
    later = _later_frame(settings, video).replace(init=begin)
    return painter.paint(history[-1], paintings, later, cancel=cancel, temporal=temporal)


def _later_frame(settings: Settings, video: VideoSettings) -> Settings:
    """A frame after the first: `later_iterations` at the output size alone."""
    return settings.replace(scales=(settings.size,), octaves=None, iterations=video.later_iterations)


def _temporal(current: Image.Image, others: Sequence[tuple[Image.Image, Path]],
              weight: float) -> tuple[Temporal, np.ndarray, np.ndarray]:  # fmt: skip
    """The temporal loss of the frame `current` against other painted frames, the closest
    first, each given as (its input frame, its painted file); and the closest one warped into
    `current` and its reliability weights, (H, W, 3) and (H, W)."""
    warped, weights = [], []
    for frame, painted_file in others:
        backward = flow.flow(current, frame)  # this frame -> the other
        forward = flow.flow(frame, current)
        painted = np.asarray(images.read_image(painted_file), dtype=np.float32) / 255
        warped.append(np.clip(flow.warp(painted, backward, fill=MEAN_PIXEL, sharp=True), 0, 1))
        weights.append(flow.reliability(backward, forward))  # where this frame's flow can be trusted
    weights = flow.closest_first(weights)
    held = tuple(_as_tensor(w[..., None]) for w in weights)
    temporal = Temporal(tuple(map(_as_tensor, warped)), held, weight)
    return temporal, warped[0], weights[0]


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """(H, W, C) -> (1, C, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1).unsqueeze(0)


def _to_image(array: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8))


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
            name: value(item)
            for name, item in asdict(video).items()
            if name not in ("start", "duration", "passes")
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
    for place in (folder, inputs_folder(folder), *folder.glob("pass_*")):  # one being written when killed
        remove_unfinished(place, "frame_*")
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
    if any(folder.glob("frame_*.png")) or inputs_folder(folder).exists():
        raise ImpastoError(
            f"{folder} already holds frames or an inputs/ folder that impasto video did not make; "
            "give another output"
        )
    seed = seed if seed is not None else int.from_bytes(os.urandom(4), "big")
    with replacing(record) as temporary:
        temporary.write_text(json.dumps({"run": described, "seed": seed}, indent=1))
    return seed
