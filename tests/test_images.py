"""Reading every common format and mode as upright 8-bit RGB; writing atomically."""

import numpy as np
import pytest
from PIL import Image

from impasto import images

FORMATS = ["png", "jpg", "webp", "bmp", "tif"]


def gradient_image(width=12, height=8) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    array = np.stack([np.tile(x, (height, 1)), np.full((height, width), 40, np.uint8),
                      np.full((height, width), 200, np.uint8)], axis=-1)  # fmt: skip
    return Image.fromarray(array)


@pytest.mark.parametrize("extension", FORMATS)
def test_every_format_round_trips_through_write_and_read(tmp_path, extension):
    path = images.write_image(gradient_image(), tmp_path / f"out.{extension}")
    with Image.open(path) as written:
        assert written.format == images.output_format(path)
    back = images.read_image(path)
    assert back.mode == "RGB" and back.size == (12, 8)
    lossy = extension in ("jpg", "webp")
    assert np.abs(np.asarray(back, int) - np.asarray(gradient_image(), int)).max() <= (40 if lossy else 0)


def test_exif_orientation_is_honoured(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    gradient_image(12, 8).save(path, exif=exif)
    assert images.read_image(path).size == (8, 12)


def test_modes_become_rgb(tmp_path):
    grey = Image.new("L", (4, 4), 77)
    assert images.read_image(grey).getpixel((0, 0)) == (77, 77, 77)
    palette = gradient_image().convert("P")
    assert images.read_image(palette).mode == "RGB"
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in CMYK
    red = images.read_image(cmyk).getpixel((0, 0))
    assert red[0] > 200 and red[1] < 50 and red[2] < 50


def test_transparency_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    path = tmp_path / "alpha.png"
    rgba.save(path)
    rgb = images.read_image(path)
    assert rgb.getpixel((1, 1)) == (255, 255, 255) and rgb.getpixel((0, 0)) == (0, 0, 255)


def test_sixteen_bit_greyscale_keeps_its_range(tmp_path):
    array = np.array([[0, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(array).save(path)
    rgb = np.asarray(images.read_image(path))
    assert rgb[0, :, 0].tolist() == [0, 128, 255]
    dark = Image.new("I;16", (3, 1))
    dark.putdata([0, 100, 200])
    assert np.asarray(images.read_image(dark))[0, :, 0].tolist() == [0, 0, 1]  # near black stays so


def test_resize_keeps_aspect_and_sets_the_long_side():
    assert images.resize_long_side(gradient_image(12, 8), 6).size == (6, 4)
    assert images.resize_long_side(gradient_image(8, 12), 24).size == (16, 24)


def test_tensor_round_trip_is_exact():
    image = gradient_image()
    assert np.array_equal(np.asarray(images.to_pil(images.to_tensor(image))), np.asarray(image))


def test_a_failed_write_leaves_the_old_file_and_no_debris(tmp_path):
    path = tmp_path / "out.png"
    images.write_image(gradient_image(), path)
    before = path.read_bytes()

    class Exploding(Image.Image):
        def save(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(images.ImageError, match="out.png: cannot write the image .disk full"):
        images.write_image(Exploding(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


@pytest.mark.parametrize(
    "name, message",
    [
        ("missing/out.png", "does not exist"),
        ("out.xyz", "cannot tell the output format"),
        ("out", "cannot tell the output format"),
        ("out.xbm", "cannot write an RGB image as XBM"),
    ],
)
def test_unwritable_outputs_are_refused_up_front(tmp_path, name, message):
    with pytest.raises(images.ImageError, match=message):
        images.check_writable(tmp_path / name)


def test_folder_that_refuses_writes_is_refused():
    # /proc refuses new files even for root, where permission bits would not.
    with pytest.raises(images.ImageError, match="cannot write"):
        images.check_writable("/proc/out.png")


def test_unreadable_inputs_name_the_problem(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(images.ImageError, match="notes.png: not an image"):
        images.read_image(text)
    with pytest.raises(images.ImageError, match="no such file"):
        images.read_image(tmp_path / "absent.jpg")
    truncated = tmp_path / "cut.jpg"
    gradient_image(200, 200).save(tmp_path / "whole.jpg")
    truncated.write_bytes((tmp_path / "whole.jpg").read_bytes()[:300])
    with pytest.raises(images.ImageError, match="cut.jpg"):
        images.read_image(truncated)
