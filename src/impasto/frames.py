"""Video in and out: a clip's frames from a video file or a folder of numbered frames, and
the painted frames back into a video (with the source's audio) or a folder.

Video files are decoded and encoded with PyAV, whose wheel ships FFmpeg; a GIF is written with
Pillow, whose adaptive palette keeps far more of a painting's colours than FFmpeg's fixed one.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from . import images
from .errors import ImpastoError, SettingError
from .paths import replacing

FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Output containers and their video codecs (PyAV); .gif is written with Pillow.
CONTAINERS = {
    ".mp4": ("mp4", "libx264"),
    ".mov": ("mov", "libx264"),
    ".mkv": ("matroska", "libx264"),
    ".webm": ("webm", "libvpx-vp9"),
    ".avi": ("avi", "mpeg4"),
}
FOLDER_FPS = 25  # the frame rate of a folder of frames, unless given


class VideoError(ImpastoError):
    pass


@dataclass(frozen=True)
class Clip:
    """The frames of a run: from `source` (a video file or a folder of numbered frames), those
    whose time falls in [start, start + duration), `count` of them, at `fps`."""

    source: Path
    fps: Fraction
    start: float
    duration: float | None
    count: int

    @property
    def is_video(self) -> bool:
        return self.source.is_file()

    def frames(self) -> Iterator[Image.Image]:
        """The clip's frames in order, as RGB images, all of the first one's size."""
        if self.is_video:
            decoded = _decoded(self.source, self.start, self.duration)
            pictures = (frame.to_image().convert("RGB") for frame in decoded)
        else:
            paths = _numbered(self.source)[self._first : self._first + self.count]
            pictures = (images.read_image(path) for path in paths)
        size = None
        for number, picture in enumerate(pictures, 1):
            size = size or picture.size
            if picture.size != size:
                raise VideoError(f"{self.source}: frame {number} is {picture.width}x{picture.height}, the "
                                 f"first {size[0]}x{size[1]}; a clip's frames must be one size")  # fmt: skip
            yield picture

    @property
    def _first(self) -> int:
        return round(self.start * self.fps)


def open_clip(
    source: str | os.PathLike[str],
    start: float = 0.0,
    duration: float | None = None,
    fps: float | None = None,
) -> Clip:
    """The clip of `source` from `start` seconds, `duration` long (default: to the end); `fps`
    is the rate of a folder of frames (default FOLDER_FPS) and may not be given for a video."""
    path = Path(source)
    if not path.exists():
        raise VideoError(f"{path}: no such file or folder")
    if path.is_dir():
        rate = Fraction(fps or FOLDER_FPS).limit_denominator(1001)
        numbered = _numbered(path)
        first = Clip(path, rate, start, duration, 0)._first
        last = len(numbered) if duration is None else min(len(numbered), first + round(duration * rate))
        count = max(0, last - first)
        _check_sizes(numbered[first:last])
    else:
        if fps is not None:
            raise SettingError("fps", f"is for a folder of frames; {path} is a video, with its own rate")
        rate = _rate(path)
        count = sum(1 for _ in _decoded(path, start, duration))
    if count == 0:
        raise VideoError(f"{path}: no frames" + (f" from {start:g} s" if start or duration else ""))
    return Clip(path, rate, start, duration, count)


def _check_sizes(paths: list[Path]) -> None:
    """Refuse, before any work, a folder whose frames are not all images of one size."""
    size = None
    for number, path in enumerate(paths, 1):
        try:
            with Image.open(path) as picture:  # reads the header only
                found = picture.size
        except OSError:
            raise VideoError(f"{path}: not an image that Pillow can read") from None
        size = size or found
        if found != size:
            raise VideoError(f"{path.parent}: frame {number} ({path.name}) is {found[0]}x{found[1]}, "
                             f"the first {size[0]}x{size[1]}; a clip's frames must be one size")  # fmt: skip


def _numbered(folder: Path) -> list[Path]:
    """The frames of a folder: image files whose names end in a number, in its order."""
    found = []
    for path in folder.iterdir():
        match = re.search(r"(\d+)$", path.stem)
        if match and path.suffix.lower() in FRAME_SUFFIXES:
            found.append((int(match.group(1)), path.name, path))
    return [path for _, _, path in sorted(found)]


def _open(path: Path):
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
        raise VideoError(f"{path}: not a video that FFmpeg can read") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream")
    if container.streams.video[0].codec_context is None:  # PyAV's sign of a codec with no decoder
        container.close()
        raise VideoError(f"{path}: its video is in a codec that FFmpeg cannot decode")
    return container


def _rate(path: Path) -> Fraction:
    with _open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate:
        raise VideoError(f"{path}: its frame rate cannot be read")
    return Fraction(rate)


def _decoded(path: Path, start: float, duration: float | None) -> Iterator:
    """The video's frames (PyAV) whose time falls in [start, start + duration)."""
    import av

    end = float("inf") if duration is None else start + duration
    with _open(path) as container:
        stream = container.streams.video[0]
        try:
            for number, frame in enumerate(container.decode(stream)):
                time = frame.time if frame.time is not None else number / float(_rate(path))
                if time < start - 1e-6:
                    continue
                if time >= end - 1e-6:
                    break
                yield frame
        except av.error.FFmpegError as error:
            raise VideoError(f"{path}: cannot decode its frames ({error})") from None


def check_output(output: str | os.PathLike[str]) -> Path:
    """Fail now, before any work, if `output` could not be written later: a folder (made if
    missing), or a video whose extension names a format this can write."""
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix and suffix != ".gif" and suffix not in CONTAINERS:
        known = ", ".join([*CONTAINERS, ".gif"])
        raise VideoError(f"{path}: cannot write a video as {suffix!r}; use {known}, or a folder for frames")
    folder = path.parent if suffix else path
    if not folder.exists() and suffix:
        raise VideoError(f"{path}: the folder {folder} does not exist")
    if path.exists() and bool(suffix) == path.is_dir():
        raise VideoError(
            f"{path}: is a {'folder' if path.is_dir() else 'file'}; give a video file or a folder"
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".impasto-check-"):
            pass
    except OSError:
        raise VideoError(f"{path}: cannot write in {folder}") from None
    return path


def write_video(frames: list[Path], output: Path, fps: Fraction, audio: Clip | None = None) -> str:
    """Encode `frames` (image files, in order) into `output` at `fps`, atomically, with the audio
    of `audio`'s source over the same span where the container takes it. Returns a note on the
    audio ("" where there was none to copy)."""
    if output.suffix.lower() == ".gif":
        pictures = [images.read_image(frame) for frame in frames]
        with replacing(output) as temporary:
            pictures[0].save(
                temporary,
                format="GIF",
                save_all=True,
                append_images=pictures[1:],
                loop=0,
                duration=round(1000 / float(fps)),
                optimize=True,
            )
        return "a GIF has no audio" if audio is not None and _has_audio(audio.source) else ""
    import av

    try:
        return _encode(frames, output, fps, audio)
    except av.error.FFmpegError as error:
        if audio is None or not _has_audio(audio.source):
            raise VideoError(f"{output}: cannot encode the video ({error})") from None
    # FFmpeg refuses some audio only when the container's header is written: go without it.
    _encode(frames, output, fps, None)
    return f"the audio was left out: {output.suffix} does not take the source's audio"


def _encode(frames: list[Path], output: Path, fps: Fraction, audio: Clip | None) -> str:
    import av

    container_format, codec = CONTAINERS[output.suffix.lower()]
    note = ""
    with replacing(output) as temporary:
        with av.open(str(temporary), "w", format=container_format) as container:
            stream = container.add_stream(codec, rate=fps)
            first = images.read_image(frames[0])
            stream.width, stream.height = (
                first.width // 2 * 2,
                first.height // 2 * 2,
            )  # 4:2:0 wants even sides
            stream.pix_fmt = "yuv420p"
            if codec == "libx264":
                stream.options = {"crf": "18", "preset": "medium"}
            copied = _add_audio(container, audio) if audio is not None else None
            for path in frames:
                picture = images.read_image(path).crop((0, 0, stream.width, stream.height))
                for packet in stream.encode(av.VideoFrame.from_image(picture)):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
            if copied is not None:
                note = copied()
    return note


def _has_audio(path: Path) -> bool:
    if not path.is_file():
        return False
    with _open(path) as container:
        return bool(container.streams.audio)


def _add_audio(container, clip: Clip):
    """Prepare to copy the audio of `clip` into `container`; returns the function that copies
    it (after the video) and says how that went, or None where there is no audio."""
    if not _has_audio(clip.source):
        return None
    import av

    source = av.open(str(clip.source))
    incoming = source.streams.audio[0]
    try:
        outgoing = container.add_stream_from_template(incoming)
    except (av.error.FFmpegError, ValueError) as error:
        source.close()
        refused = f"the audio was left out: {container.format.name} does not take it ({error})"
        return lambda: refused

    def copy() -> str:
        end = float("inf") if clip.duration is None else clip.start + clip.duration
        offset = None
        try:
            for packet in source.demux(incoming):
                if packet.pts is None or packet.dts is None:
                    continue
                time = float(packet.pts * incoming.time_base)
                if time < clip.start or time >= end:
                    continue
                offset = packet.pts if offset is None else offset
                packet.pts -= offset
                packet.dts -= offset
                packet.stream = outgoing
                container.mux(packet)
        except av.error.FFmpegError as error:
            return f"the audio was cut short ({error})"
        finally:
            source.close()
        return "the audio was copied"

    return copy
