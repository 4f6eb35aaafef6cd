"""`impasto video`: the optical flow and its consistency check on known motion, warping, a
stopped run that resumes to the same frames, and one line with status 2 for bad input."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN, run_cli
from PIL import Image

import impasto
from impasto import flow, frames, images, quality, video
from impasto.losses import Temporal

COMMAND = Path(sys.executable).parent / "impasto"
SIZE = 64
SETTINGS = impasto.Settings(size=SIZE, iterations=20, seed=3)
FEW = video.VideoSettings(later_iterations=8)


def scene(width: int = 160, height: int = 120) -> np.ndarray:
    """A textured picture (H, W) to move about: Tübingen, grey, float32 in [0, 1]."""
    picture = images.read_image(TUBINGEN).convert("L").resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(picture, dtype=np.float32) / 255


def as_image(pixels: np.ndarray) -> Image.Image:
    return Image.fromarray((np.clip(pixels, 0, 1) * 255 + 0.5).astype(np.uint8)).convert("RGB")


def panned_frames(folder: Path, count: int, step: int = 3, zoom: int = 1) -> Path:
    """`count` frames of a camera panning right by `step` px a frame, numbered from 1, each
    SIZE x 48 px (times `zoom`)."""
    folder.mkdir(parents=True, exist_ok=True)
    picture = images.read_image(TUBINGEN).resize((160 * zoom, 120 * zoom), Image.Resampling.LANCZOS)
    for k in range(count):
        left, top = (10 + step * k) * zoom, 20 * zoom
        picture.crop((left, top, left + SIZE * zoom, top + 48 * zoom)).save(folder / f"frame_{k + 1:04d}.png")
    return folder


def test_flow_finds_a_known_shift():
    pixels = scene()
    a = as_image(pixels[20:68, 20:84])
    b = as_image(pixels[18:66, 17:81])  # the camera moved 3 px left and 2 px up: a(x) = b(x + (3, 2))
    field = flow.flow(a, b)
    inner = field[8:-8, 8:-8].reshape(-1, 2)
    assert np.allclose(np.median(inner, axis=0), (3, 2), atol=0.2)
    assert np.mean(np.linalg.norm(inner - (3, 2), axis=1) < 0.5) > 0.9


def test_warping_by_a_flow_moves_pixels_and_fills_what_came_from_outside():
    pixels = scene()[:48, :64]
    shift = np.zeros((48, 64, 2), np.float32)
    shift[..., 0] = 5  # every pixel takes the one 5 px to its right
    warped = flow.warp(pixels, shift, fill=0.25)
    assert np.allclose(warped[:, :-5], pixels[:, 5:], atol=1e-5)
    assert np.all(warped[:, -4:] == 0.25)
    assert not flow.inside(shift)[:, -4:].any() and flow.inside(shift)[:, :-5].all()


def test_sharp_warping_keeps_strokes_that_repeated_bilinear_warping_blurs():
    pixels = scene()[:48, :64]
    half = np.full((48, 64, 2), 0.5, np.float32)
    kept = {}
    for sharp in (False, True):
        moved = pixels
        for _ in range(6):  # half a pixel there and back, three times: as frames are warped in turn
            moved = flow.warp(flow.warp(moved, half, sharp=sharp), -half, sharp=sharp)
        detail = lambda image: np.abs(np.diff(image[8:-8, 8:-8], axis=1)).mean()  # noqa: E731
        kept[sharp] = detail(moved) / detail(pixels)
    assert kept[False] < 0.6 and kept[True] > 0.8


def test_the_consistency_check_distrusts_an_occluded_region_and_trusts_the_rest():
    # A 32 px square moving 8 px right over a still background (128 x 96: DIS's patches are
    # 8 px, so a smaller scene would be mostly boundary).
    background = scene(320, 240)[:96, :128]
    patch = scene(320, 240)[120:152, 200:232]
    a, b = background.copy(), background.copy()
    a[32:64, 32:64] = patch
    b[32:64, 40:72] = patch
    forward, backward = flow.flow(as_image(a), as_image(b)), flow.flow(as_image(b), as_image(a))
    weights = flow.reliability(forward, backward)
    covered = weights[34:62, 65:71]  # background of A that B's square covers: nowhere to go
    still = np.concatenate([weights[:16].ravel(), weights[80:].ravel(), weights[:, 96:].ravel()])
    assert covered.mean() < 0.2
    assert still.mean() > 0.9


def test_long_term_weights_hold_a_pixel_to_the_closest_frame_that_saw_it():
    near, far = np.array([[1.0, 0.0, 0.0]]), np.array([[1.0, 1.0, 0.0]])
    kept = flow.closest_first([near, far])
    assert np.array_equal(kept[0], near) and np.array_equal(kept[1], [[0.0, 1.0, 0.0]])


def test_later_frames_flicker_less_than_frames_painted_alone(tmp_path):
    clip = panned_frames(tmp_path / "in", 3)
    painter = impasto.Painter()
    video.paint_video(painter, clip, STARRY_NIGHT, tmp_path / "out", SETTINGS, FEW)
    alone = [painter.paint(path, STARRY_NIGHT, SETTINGS).image for path in sorted(clip.iterdir())]
    together = [images.read_image(video.frame_path(tmp_path / "out", k)) for k in (1, 2, 3)]

    def flicker(painted):  # the painted frames' difference, where the camera moved 3 px
        arrays = [np.asarray(p, dtype=np.float32) / 255 for p in painted]
        return np.mean([((arrays[k][:, :-3] - arrays[k - 1][:, 3:]) ** 2).mean() for k in (1, 2)])

    assert np.array_equal(np.asarray(together[0]), np.asarray(alone[0]))  # the first frame is painted alike
    assert flicker(together) < flicker(alone) / 2


def test_a_stopped_run_resumes_to_the_frames_of_an_uninterrupted_one(tmp_path):
    clip = panned_frames(tmp_path / "in", 3)
    painter = impasto.Painter()
    video.paint_video(painter, clip, STARRY_NIGHT, tmp_path / "whole", SETTINGS, FEW)

    cancel = threading.Event()
    with pytest.raises(video.Stopped) as stopped:  # stops once frame 2 is written
        video.paint_video(painter, clip, STARRY_NIGHT, tmp_path / "resumed", SETTINGS, FEW, cancel=cancel,
                          progress=lambda p: cancel.set() if p.done == 2 else None)  # fmt: skip
    assert (stopped.value.done, stopped.value.total) == (2, 3)
    assert not video.frame_path(tmp_path / "resumed", 3).exists()
    seen = []
    video.paint_video(painter, clip, STARRY_NIGHT, tmp_path / "resumed", SETTINGS, FEW, progress=seen.append)
    assert [(p.done, p.painted) for p in seen] == [(2, False), (3, True)]  # two found, one painted
    for k in (1, 2, 3):
        whole = video.frame_path(tmp_path / "whole", k).read_bytes()
        assert video.frame_path(tmp_path / "resumed", k).read_bytes() == whole


def test_more_passes_go_backward_and_forward_and_resume_from_fewer(tmp_path):
    clip = panned_frames(tmp_path / "in", 3, zoom=2)  # larger than the output: later passes read them resized
    painter = impasto.Painter()
    two = video.VideoSettings(later_iterations=8, passes=2)
    whole = tmp_path / "whole"
    video.paint_video(painter, clip, STARRY_NIGHT, whole, SETTINGS, two)
    first, second = video.pass_folder(whole, 1), video.pass_folder(whole, 2)
    assert second == whole / "pass_2"
    kept = [video.frame_path(video.inputs_folder(whole), k) for k in (1, 2, 3)]
    assert all(images.read_image(path).size == (SIZE, 48) for path in kept)
    before = [np.asarray(images.read_image(video.frame_path(first, k)), dtype=np.float32) for k in (1, 2, 3)]
    after = [np.asarray(images.read_image(video.frame_path(second, k)), dtype=np.float32) for k in (1, 2, 3)]
    # the backward pass changes every frame, the first most: only there does a later frame now
    # hold it (in the first pass nothing came before it)
    changes = [np.abs(a - b).mean() for a, b in zip(after, before, strict=True)]
    assert min(changes) > 0
    assert changes[0] > changes[2]

    # one pass, stopped in the second of two, then resumed: the frames of an uninterrupted run
    resumed = tmp_path / "resumed"
    video.paint_video(painter, clip, STARRY_NIGHT, resumed, SETTINGS, FEW)  # the first pass alone
    cancel = threading.Event()
    with pytest.raises(video.Stopped) as stopped:
        video.paint_video(painter, clip, STARRY_NIGHT, resumed, SETTINGS, two, cancel=cancel,
                          progress=lambda p: cancel.set() if p.done == 4 else None)  # fmt: skip
    assert (stopped.value.done, stopped.value.total) == (4, 6)
    video.paint_video(painter, clip, STARRY_NIGHT, resumed, SETTINGS, two)
    for k in (1, 2, 3):
        expected = video.frame_path(second, k).read_bytes()
        assert video.frame_path(resumed / "pass_2", k).read_bytes() == expected


def test_detail_noise_keeps_the_brushwork_that_warping_takes_away(tmp_path):
    clip = tmp_path / "in"  # a pan of 1.5 px a frame: each warp resamples between pixels
    clip.mkdir()
    picture = images.read_image(TUBINGEN).resize((160, 120), Image.Resampling.LANCZOS)
    for k in range(6):
        shifted = picture.transform((SIZE, 48), Image.Transform.AFFINE, (1, 0, 10 + 1.5 * k, 0, 1, 20),
                                    resample=Image.Resampling.BICUBIC)  # fmt: skip
        shifted.save(clip / f"frame_{k + 1:04d}.png")
    painter = impasto.Painter()
    painting = images.read_image(STARRY_NIGHT)
    settings = SETTINGS
    detail = {}
    for amount in (0.0, video.VideoSettings.detail_noise):
        out = tmp_path / f"noise_{amount:g}"
        chosen = video.VideoSettings(later_iterations=8, detail_noise=amount)
        video.paint_video(painter, clip, STARRY_NIGHT, out, settings, chosen)
        detail[amount] = quality.detail(images.read_image(video.frame_path(out, 6)), painting)
    assert detail[video.VideoSettings.detail_noise] > 1.05 * detail[0.0]  # measured: 1.10x


class CountDown:
    """A cancel token that is set from its `calls`-th look on: a stop part-way through a frame."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def is_set(self) -> bool:
        self.calls -= 1
        return self.calls < 0


def test_a_frame_cancelled_part_way_is_not_written(tmp_path):
    clip = panned_frames(tmp_path / "in", 2)
    with pytest.raises(video.Stopped) as stopped:
        video.paint_video(impasto.Painter(), clip, STARRY_NIGHT, tmp_path / "out", SETTINGS, FEW,
                          cancel=CountDown(5))  # fmt: skip
    assert stopped.value.done == 0 and not list((tmp_path / "out").glob("frame_*"))


def test_another_run_in_the_same_folder_is_refused(tmp_path):
    clip = panned_frames(tmp_path / "in", 2)
    out = tmp_path / "out"
    video.paint_video(impasto.Painter(), clip, STARRY_NIGHT, out, SETTINGS, FEW)
    with pytest.raises(impasto.ImpastoError, match="another run"):
        video.paint_video(impasto.Painter(), clip, STARRY_NIGHT, out, SETTINGS.replace(seed=4), FEW)
    mine = tmp_path / "mine"  # a folder of the user's, with an inputs/ of its own
    (mine / "inputs").mkdir(parents=True)
    with pytest.raises(impasto.ImpastoError, match="inputs/ folder that impasto video did not make"):
        video.paint_video(impasto.Painter(), clip, STARRY_NIGHT, mine, SETTINGS, FEW)
    assert sorted(p.name for p in mine.iterdir()) == ["inputs"]


def write_clip(path: Path, count: int, rate: int = 10, audio: bool = False) -> Path:
    """A short video of the panned frames, with a tone if `audio`."""
    pictures = [images.read_image(p) for p in sorted(panned_frames(path.parent / "source", count).iterdir())]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = SIZE, 48, "yuv420p"
        sound = container.add_stream("aac", rate=8000) if audio else None
        for picture in pictures:
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            samples = int(8000 * count / rate)
            tone = (0.2 * np.sin(np.arange(samples) * 2 * np.pi * 440 / 8000)).astype(np.float32)
            chunk = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
            chunk.sample_rate = 8000
            for packet in [*sound.encode(chunk), *sound.encode()]:
                container.mux(packet)
    return path


def test_the_command_paints_a_video_keeps_its_rate_and_audio_and_resumes_after_ctrl_c(tmp_path):
    source = write_clip(tmp_path / "walk.mp4", 4, rate=10, audio=True)
    output = tmp_path / "painted.mp4"
    command = [str(COMMAND), "video", str(source), str(STARRY_NIGHT), "-o", str(output), "--size", str(SIZE),
               "--iterations", "20", "--later-iterations", "8", "--seed", "3"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    first = video.frame_path(video.work_folder(output), 1)
    deadline = time.monotonic() + 300
    while not first.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "run the same command again" in err and "Traceback" not in err
    assert first.exists() and not output.exists()

    finished = subprocess.run(command, stderr=subprocess.PIPE, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert "the audio was copied" in finished.stderr
    with av.open(str(output)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate == 10 and (stream.width, stream.height) == (SIZE, 48)
        assert sum(1 for _ in container.decode(stream)) == 4
        assert container.streams.audio


def test_a_killed_run_loses_at_most_the_frame_in_progress(tmp_path):
    clip = panned_frames(tmp_path / "in", 3)
    output = tmp_path / "out"
    command = [str(COMMAND), "video", str(clip), str(STARRY_NIGHT), "-o", str(output), "--size", str(SIZE),
               "--iterations", "20", "--later-iterations", "8", "--seed", "3", "--quiet"]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while not video.frame_path(output, 1).exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.kill()  # SIGKILL: no chance to tidy up
    process.wait()
    assert video.frame_path(output, 1).exists()
    assert subprocess.run(command, timeout=600).returncode == 0
    uninterrupted = tmp_path / "whole"
    video.paint_video(impasto.Painter(), clip, STARRY_NIGHT, uninterrupted, SETTINGS, FEW)
    for k in (1, 2, 3):
        assert video.frame_path(output, k).read_bytes() == video.frame_path(uninterrupted, k).read_bytes()
    assert not [p for p in os.listdir(output) if p.startswith(".")]  # no half-written frame left


def test_bad_input_gets_one_line_and_status_2(tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    empty = tmp_path / "empty.avi"
    with av.open(str(empty), "w", format="avi") as container:  # a video stream with no frames
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # write the header, though no frame follows
    good = write_clip(tmp_path / "good.mp4", 2)
    unknown = tmp_path / "unknown.mp4"  # the codec's name changed to one no decoder has
    unknown.write_bytes(good.read_bytes().replace(b"avc1", b"zzzz"))
    (tmp_path / "empty").mkdir()
    cases = [
        (text, tmp_path / "a.mp4", "not a video that FFmpeg can read"),
        (empty, tmp_path / "b.mp4", "no frames"),
        (unknown, tmp_path / "c.mp4", "codec that FFmpeg cannot decode"),
        (tmp_path / "empty", tmp_path / "d.mp4", "no frames"),
        (tmp_path / "missing.mp4", tmp_path / "e.mp4", "no such file"),
        (good, tmp_path / "f.xyz", "cannot write a video as '.xyz'"),
        (good, tmp_path / "no such folder" / "g.mp4", "does not exist"),
        (good, text / "h.mp4", "cannot write in"),  # its folder is a file: nothing can be written there
        (good, good, "is one of the run's inputs"),
    ]
    for source, output, message in cases:
        status, _, err = run_cli("video", source, STARRY_NIGHT, "-o", output, "--size", SIZE, capsys=capsys)
        assert status == 2 and message in err and len(err.strip().splitlines()) == 1, (source, err)
    assert good.read_bytes() and not (tmp_path / "a.mp4").exists()
    for option in (["--temporal-frames", "0"], ["--temporal-frames", "2,4"], ["--fps", "30"]):
        status, _, err = run_cli("video", good, STARRY_NIGHT, "-o", tmp_path / "h.mp4", *option,
                                 capsys=capsys)  # fmt: skip
        assert status == 2 and err.startswith(f"impasto: error: {option[0]} "), err
    mixed = panned_frames(tmp_path / "mixed", 2)
    Image.new("RGB", (40, 40)).save(mixed / "frame_0003.png")
    status, _, err = run_cli("video", mixed, STARRY_NIGHT, "-o", tmp_path / "i", "--size", SIZE,
                             "--iterations", 2, "--later-iterations", 1, capsys=capsys)  # fmt: skip
    assert status == 2 and "frame 3 (frame_0003.png) is 40x40" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "i").exists() or not list((tmp_path / "i").glob("frame_*"))  # before any work


def test_a_folder_of_frames_is_read_in_numeric_order_from_a_start_time(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for number in (1, 2, 10):  # 10 after 2, though "10" sorts before "2" as text
        Image.new("RGB", (8, 8), (number, 0, 0)).save(folder / f"shot_{number}.png")
    clip = frames.open_clip(folder, start=0.04, fps=25)  # from the second frame
    assert clip.count == 2 and [f.getpixel((0, 0))[0] for f in clip.frames()] == [2, 10]


def test_the_temporal_loss_is_the_weighted_squared_difference_to_the_warped_frame():
    warped = torch.rand(1, 3, 8, 8)
    weights = torch.zeros(1, 1, 8, 8)
    weights[..., :4] = 1  # the left half is trusted
    loss = Temporal((warped,), (weights,), 2.0)
    image = torch.rand(1, 3, 8, 8, requires_grad=True)
    value = loss(image)
    assert torch.isclose(value, 2.0 * (weights * (image - warped) ** 2).mean())
    value.backward()
    assert image.grad[..., 4:].abs().max() == 0 and image.grad[..., :4].abs().min() > 0
    assert loss(warped.clone()) == 0


@pytest.mark.parametrize(
    ("name", "value", "wanted"),
    [("passes", 0, "a positive whole number"), ("later_iterations", 1.5, "a positive whole number"),
     ("temporal_weight", -1.0, "a number of 0 or more"), ("start", True, "a number of 0 or more"),
     ("detail_noise", float("nan"), "a number of 0 or more"), ("duration", 0, "a positive number"),
     ("fps", "25", "a positive number")],
)  # fmt: skip
def test_video_settings_name_the_parameter_that_is_wrong(name, value, wanted):
    with pytest.raises(impasto.SettingError, match=rf"^{name} must be {wanted}, not"):
        video.VideoSettings(**{name: value})
    video.VideoSettings(**{name: {"fps": 25.0, "duration": 1.0}.get(name, 1)})  # a good value is taken
