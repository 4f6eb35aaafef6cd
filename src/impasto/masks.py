"""Region masks for spatial control (Gatys et al. 2017): a few flat colours, one per region.

A mask is an image whose colours name regions: the content mask says which region each part
of the output is, a style mask which region each part of a painting provides. Regions are
matched by colour. A style may instead be given a single colour ("#ff0000", "red"), meaning
that the whole painting provides that region.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageColor
from torch import Tensor

from .errors import ImpastoError
from .images import ImageInput, read_image

Color = tuple[int, int, int]
MAX_REGIONS = 8
MIN_SHARE = 0.005  # colours covering less of the mask are edge pixels (antialiasing, JPEG)


class MaskError(ImpastoError):
    pass


def parse_color(text: str) -> Color | None:
    """The colour a string names ("#ff0000", "red"), or None if it names none."""
    try:
        return ImageColor.getrgb(text)[:3]  # type: ignore[return-value]
    except ValueError:
        return None


def read_mask(source: ImageInput, size: tuple[int, int], what: str) -> tuple[np.ndarray, list[Color]]:
    """The mask at `size` (nearest-neighbour, so colours stay flat) as region indices, and its colours."""
    image = read_image(source).resize(size, Image.Resampling.NEAREST)
    pixels = np.asarray(image).reshape(-1, 3)
    colors, counts = np.unique(pixels, axis=0, return_counts=True)
    large = counts >= MIN_SHARE * len(pixels)
    kept = colors[large]
    # flat colours cover nearly all of a mask; edge pixels (antialiasing, JPEG) are the rest
    if len(kept) > MAX_REGIONS or counts[large].sum() < 0.9 * len(pixels):
        many = len(kept) if len(kept) > MAX_REGIONS else len(colors)
        raise MaskError(f"{what} has {many} colours; a mask needs a few flat colours (at most {MAX_REGIONS})")
    # every pixel to the nearest kept colour, so that stray edge colours join a region
    distances = ((pixels[:, None, :].astype(int) - kept[None, :, :].astype(int)) ** 2).sum(-1)
    indices = distances.argmin(1).reshape(size[1], size[0])
    return indices, [tuple(int(v) for v in color) for color in kept]  # type: ignore[misc]


def one_hot(indices: np.ndarray, count: int) -> Tensor:
    """(count, H, W) float maps, one per region."""
    return F.one_hot(torch.from_numpy(indices).long(), count).permute(2, 0, 1).float()


def hex_color(color: Color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*color)
