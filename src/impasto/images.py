"""Reading, converting, resizing and writing images; tensors are (1, 3, H, W) RGB in [0, 1]."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImpastoError
from .paths import replacing

ImageInput = str | os.PathLike[str] | Image.Image


class ImageError(ImpastoError):
    pass


def read_image(source: ImageInput) -> Image.Image:
    """An 8-bit RGB image from a path or a PIL image, upright as its EXIF orientation says."""
    if isinstance(source, Image.Image):
        return to_rgb(ImageOps.exif_transpose(source))
    path = Path(source)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    try:
        with Image.open(path) as image:
            image.load()
            return to_rgb(ImageOps.exif_transpose(image))
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image that Pillow can read") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{path}: too large an image for Pillow to open safely") from None
    except (OSError, SyntaxError, ValueError) as error:  # truncated or corrupt data
        raise ImageError(f"{path}: cannot read the image ({error})") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Greyscale, palette, alpha (composited on white), CMYK and 16-bit modes -> 8-bit RGB."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        # I;16 is 16-bit (0-65535); F is float (0-1); Pillow opens 16-bit PNGs as I, so there
        # the range is told from the values.
        if image.mode.startswith("I;16"):
            top = 65535.0
        elif image.mode == "F":
            top = 1.0
        else:
            top = 65535.0 if values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255 + 0.5, 0, 255).astype(np.uint8))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "La", "RGBa", "PA"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return image.convert("RGB")


def size_at(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """(width, height) of an image of `size` resized to `long_side`, keeping the aspect ratio."""
    width, height = size
    scale = long_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_long_side(image: Image.Image, long_side: int) -> Image.Image:
    """Resize so that the longer side is `long_side` pixels, keeping the aspect ratio."""
    size = size_at(image.size, long_side)
    if size == image.size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)


def to_tensor(image: Image.Image, device: torch.device | str = "cpu") -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous().to(device)


def to_pil(tensor: torch.Tensor) -> Image.Image:
    array = tensor.detach().squeeze(0).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray((array * 255 + 0.5).astype(np.uint8))


def output_format(path: str | os.PathLike[str]) -> str:
    """The Pillow format that the file's extension asks for."""
    extension = Path(path).suffix.lower()
    formats = Image.registered_extensions()
    if extension not in formats or formats[extension] not in Image.SAVE:
        known = "png, jpg, webp, bmp, tif"
        raise ImageError(
            f"{path}: cannot tell the output format from {extension or 'no extension'!r}; use one of {known}"
        )
    return formats[extension]


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail now, before any work, if an image could not be written to `path` later."""
    path = Path(path)
    image_format = output_format(path)
    try:  # some formats Pillow knows cannot hold an RGB picture (XBM, MSP, ...)
        Image.new("RGB", (1, 1)).save(io.BytesIO(), format=image_format)
    except (OSError, ValueError, KeyError):
        raise ImageError(
            f"{path}: Pillow cannot write an RGB image as {image_format}; use png, jpg or webp"
        ) from None
    folder = path.parent
    if path.is_dir():
        raise ImageError(f"{path}: is a folder; give a file name for the output")
    if not folder.is_dir():
        raise ImageError(f"{path}: the folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".impasto-check-"):
            pass
    except OSError:
        raise ImageError(f"{path}: cannot write in the folder {folder}") from None


def write_image(image: Image.Image, path: str | os.PathLike[str]) -> Path:
    """Write in the format of the extension, atomically: a reader sees the old file or the new."""
    path = Path(path)
    image_format = output_format(path)
    options = {"quality": 95} if image_format in ("JPEG", "WEBP") else {}
    try:
        with replacing(path) as temporary:
            image.save(temporary, format=image_format, **options)
    except OSError as error:
        raise ImageError(f"{path}: cannot write the image ({error.strerror or error})") from None
    return path
