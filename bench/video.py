"""Flicker and cost of `impasto video`, on a clip whose true motion is known.

    .venv/bin/python bench/video.py [--size 256] [--frames 12] [--temporal-weight W,...]
                                    [--later-iterations K,...] [--out DIR] [--gif FILE]

The clip is a camera pan and zoom over a bundled photograph (Tübingen), made here, so the
true optical flow between its frames is known exactly. It is painted (The Starry Night, the
default recipe, seed 0) two ways: every frame on its own with the same settings
(*independent*), and with `impasto.paint_video` for each temporal weight and number of later
iterations asked for. Each result is measured by

- the warping error of Lai et al. (ECCV 2018): the mean squared difference (RGB in [0, 1])
  between each painted frame and the painted frame before it, warped by the true flow, over
  the pixels visible in both, averaged over the frames;
- the style loss of each frame (equation 5, float32, on the saved image) over the
  independent frame's: the worst and the mean;
- seconds per frame: the first, and the mean of the later ones (of the passes run now);
- the luminance detail (impasto.quality) of the first and the last frame: how much of the
  painting's brushwork is left, and whether it softens along the clip.

Rows are appended to DIR/video.jsonl as they finish, and frames already painted are kept,
so a long run can be stopped and resumed. `--gif` writes the independent frames beside the
last temporal setting's, as an animated GIF, for README.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

import impasto
from impasto import flow, images, paths, quality, video
from impasto.network import paper_network
from impasto.schedule import schedule

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_vs_time import machine  # noqa: E402

PHOTOGRAPH = paths.example("tubingen.jpg")
PAINTING = paths.example("starry_night.jpg")
ZOOM = 0.99  # each frame shows 1% less of the scene than the one before: a slow zoom in


@dataclass
class PanAndZoom:
    """A clip of `count` frames of width x height over `scene`: frame k shows the scene around
    centre c_k at s_k scene pixels per frame pixel, so that the point of frame k at x is the
    scene's c_k + s_k (x - middle)."""

    scene: np.ndarray  # (H, W, 3) float32 in [0, 1]
    width: int
    height: int
    count: int

    @classmethod
    def over(cls, photograph: Image.Image, width: int, count: int) -> PanAndZoom:
        height = round(width * photograph.height / photograph.width)
        scene = images.resize_long_side(photograph, round(max(width, height) * 1.25))  # frame 0: 80% of it
        return cls(np.asarray(scene, dtype=np.float32) / 255, width, height, count)

    def scale(self, k: int) -> float:
        return ZOOM**k

    def centre(self, k: int) -> np.ndarray:
        """From the left of the scene to its right, a little downwards, with a margin that
        keeps every frame inside the scene."""
        scene_height, scene_width = self.scene.shape[:2]
        half_first = np.array([self.width, self.height]) * self.scale(0) / 2
        half_last = np.array([self.width, self.height]) * self.scale(self.count - 1) / 2
        begin = half_first + 2
        end = np.array([scene_width, scene_height]) - half_last - 2
        end[1] = begin[1] + (end[1] - begin[1]) / 3
        return begin + (end - begin) * k / max(self.count - 1, 1)

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        columns, rows = np.meshgrid(np.arange(self.width, dtype=np.float64),
                                    np.arange(self.height, dtype=np.float64))  # fmt: skip
        return columns - (self.width - 1) / 2, rows - (self.height - 1) / 2

    def frame(self, k: int) -> Image.Image:
        dx, dy = self._grid()
        (cx, cy), s = self.centre(k), self.scale(k)
        map_x, map_y = (cx + s * dx).astype(np.float32), (cy + s * dy).astype(np.float32)
        pixels = cv2.remap(self.scene, map_x, map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        return Image.fromarray((np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8))

    def true_flow(self, k: int) -> np.ndarray:
        """The flow from frame k to frame k - 1 (flow.py's convention), exactly."""
        dx, dy = self._grid()
        (cx, cy), s = self.centre(k), self.scale(k)
        (px, py), t = self.centre(k - 1), self.scale(k - 1)
        earlier_x = (cx + s * dx - px) / t
        earlier_y = (cy + s * dy - py) / t
        return np.stack([earlier_x - dx, earlier_y - dy], axis=2).astype(np.float32)


def warping_error(painted: list[Image.Image], clip: PanAndZoom) -> float:
    """Lai et al.'s warping error of a painted clip, by the clip's true flow."""
    errors = []
    for k in range(1, len(painted)):
        field = clip.true_flow(k)
        now = np.asarray(painted[k], dtype=np.float32) / 255
        before = flow.warp(np.asarray(painted[k - 1], dtype=np.float32) / 255, field)
        visible = flow.inside(field)
        errors.append(float(((now - before) ** 2).mean(axis=2)[visible].mean()))
    return float(np.mean(errors))


def paint_independently(painter: impasto.Painter, frames: list[Path], folder: Path,
                        settings: impasto.Settings) -> list[float]:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    seconds = []
    for path in frames:
        target = folder / path.name
        if target.exists():
            continue
        result = painter.paint(path, PAINTING, settings)
        images.write_image(result.image, target)
        seconds.append(result.seconds)
    return seconds


def measure(name: str, folder: Path, clip: PanAndZoom, frames: list[Path],
            yardsticks: list[quality.Yardstick], reference: list[float] | None, seconds: list[float],
            extra: dict) -> dict:  # fmt: skip
    painted = [images.read_image(folder / path.name) for path in frames]
    styles = [yardstick(picture).style for yardstick, picture in zip(yardsticks, painted, strict=True)]
    painting = images.read_image(PAINTING)
    detail = [quality.detail(picture, painting) for picture in (painted[0], painted[-1])]
    row = {"method": name, "size": clip.width, "frames": clip.count, **extra,
           "warping_error": warping_error(painted, clip), "style": styles,
           "detail_first": detail[0], "detail_last": detail[1]}  # fmt: skip
    if reference is not None:
        ratios = [mine / theirs for mine, theirs in zip(styles, reference, strict=True)]
        row |= {"style_worst": max(ratios), "style_mean": float(np.mean(ratios))}
    if seconds:
        row |= {"first_s": seconds[0], "later_s": float(np.mean(seconds[1:])) if len(seconds) > 1 else None}
    return row


def side_by_side(left: Path, right: Path, frames: list[Path], gif: Path, labels: tuple[str, str]) -> None:
    pictures = []
    for path in frames:
        a, b = images.read_image(left / path.name), images.read_image(right / path.name)
        sheet = Image.new("RGB", (a.width + b.width + 4, a.height + 16), "white")
        sheet.paste(a, (0, 16))
        sheet.paste(b, (a.width + 4, 16))
        draw = ImageDraw.Draw(sheet)
        draw.text((4, 2), labels[0], fill="black")
        draw.text((a.width + 8, 2), labels[1], fill="black")
        pictures.append(sheet)
    pictures[0].save(gif, save_all=True, append_images=pictures[1:], loop=0, duration=80, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--temporal-weight", default=str(video.VideoSettings.temporal_weight))
    parser.add_argument("--later-iterations", default=str(video.VideoSettings.later_iterations))
    parser.add_argument("--temporal-frames", default="1")
    parser.add_argument("--passes", type=int, default=1, help="Ruder et al.'s multi-pass (video.py)")
    parser.add_argument("--detail-noise", type=float, default=video.VideoSettings.detail_noise)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out", type=Path, default=Path("bench/results/video"))
    parser.add_argument("--gif", type=Path)
    args = parser.parse_args()

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    clip = PanAndZoom.over(images.read_image(PHOTOGRAPH), args.size, args.frames)
    source = out / f"clip_{args.size}x{args.frames}"
    source.mkdir(exist_ok=True)
    frames = [video.frame_path(source, k + 1) for k in range(clip.count)]  # named as painted frames are
    for k, path in enumerate(frames):
        if not path.exists():
            images.write_image(clip.frame(k), path)

    painter = impasto.Painter(precision=args.precision)
    settings = impasto.Settings(size=max(clip.width, clip.height), seed=0)
    network = paper_network()
    yardsticks = [quality.Yardstick(path, PAINTING, network) for path in frames]
    log = out / "video.jsonl"
    done = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    # A frame painted as a picture (the first, and every one painted alone) follows this plan;
    # rows and folders are kept per plan (rows without it: 100, 50 at 256 px; 512 px as now).
    plan = [scale.iterations for scale in schedule(settings, (clip.width, clip.height))]
    planned = "-".join(map(str, plan))

    def record(row: dict) -> None:
        row |= {"first_frame_iterations": plan, "machine": machine()}
        print(json.dumps({k: v for k, v in row.items() if k not in ("style", "machine")}), flush=True)
        with log.open("a") as file:
            file.write(json.dumps(row) + "\n")

    def already(**key: object) -> bool:
        return any(all(row.get(k) == v for k, v in key.items()) for row in done)

    base = {"size": clip.width, "frames": clip.count, "first_frame_iterations": plan}
    if not already(method="input", **base):
        input_error = warping_error([images.read_image(path) for path in frames], clip)
        record({"method": "input", **base, "warping_error": input_error})
    independent = out / f"independent_{args.size}x{args.frames}_p{planned}"
    seconds = paint_independently(painter, frames, independent, settings)
    reference = [yardstick(images.read_image(independent / p.name)).style
                 for yardstick, p in zip(yardsticks, frames, strict=True)]  # fmt: skip
    if not already(method="independent", **base):
        record(measure("independent", independent, clip, frames, yardsticks, None, seconds, {}))

    last = None
    for weight in map(float, args.temporal_weight.split(",")):
        for later in map(int, args.later_iterations.split(",")):
            reach = tuple(int(j) for j in args.temporal_frames.split(","))
            extra = {"temporal_weight": weight, "later_iterations": later, "temporal_frames": list(reach),
                     "warp": "lanczos"}  # flow.warp(sharp=True); earlier rows were bilinear
            if args.passes > 1:
                extra["passes"] = args.passes
            extra["detail_noise"] = args.detail_noise  # rows without it: none (before it existed)
            # the frames of every pass are in one folder (pass_N/ from the second): more passes
            # go on from the frames of fewer
            name = f"w{weight:g}_k{later}_j{'-'.join(map(str, reach))}_n{args.detail_noise:g}"
            folder = out / f"temporal_{args.size}x{args.frames}_p{planned}_{name}"
            last = video.pass_folder(folder, args.passes)
            if already(method="temporal", **base, **extra):
                continue
            timings: list[float] = []  # seconds of each frame painted
            chosen = video.VideoSettings(temporal_weight=weight, later_iterations=later,
                                         temporal_frames=reach, passes=args.passes,
                                         detail_noise=args.detail_noise)
            keep = lambda p, seen=timings: p.painted and seen.append(p.seconds)  # noqa: E731
            video.paint_video(painter, source, PAINTING, folder, settings, chosen, progress=keep)
            record(measure("temporal", last, clip, frames, yardsticks, reference, timings, extra))
    if args.gif and last is not None:
        side_by_side(independent, last, frames, args.gif, ("each frame alone", "impasto video"))


if __name__ == "__main__":
    main()
