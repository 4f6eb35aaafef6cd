"""The images of one run, read and checked before any work: photograph, paintings, masks.

Everything a run reads from disk is read here, so that a missing file, a mask of too many
colours or a start image that is not there is refused in one line before the network is
touched; later stages only resize what is here.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from . import color, images, masks
from .errors import ImpastoError, SettingError
from .images import ImageInput
from .settings import INITS, Settings, blend_weights

Region = Image.Image | masks.Color | None  # a mask image, a colour for all of it, or every region


@dataclass(frozen=True)
class Painting:
    """One painting of a run: its image, its blend weight, and the region(s) it provides (None:
    every region; a colour: all of the painting is that region; else a mask image)."""

    image: Image.Image
    weight: float
    region: Region = None


@dataclass(frozen=True)
class Inputs:
    photograph: Image.Image | None
    paintings: tuple[Painting, ...]
    fine_style: Image.Image | None = None
    content_mask: Image.Image | None = None
    start: Image.Image | None = None  # the image a run starts from, where `init` names one

    @property
    def reference(self) -> Image.Image:
        """The image whose shape the output takes: the photograph, else the first painting."""
        return self.photograph if self.photograph is not None else self.paintings[0].image

    @classmethod
    def read(
        cls, content: ImageInput | None, style: ImageInput | Sequence[ImageInput] | None, settings: Settings
    ) -> Inputs:
        """Read and check the photograph (`content`), the painting(s) (`style`) and every file
        that `settings` names; either input may be None (Figure 1's runs)."""
        photograph = images.read_image(content) if content is not None else None
        sources = (
            []
            if style is None
            else [style]
            if isinstance(style, str | os.PathLike | Image.Image)
            else list(style)
        )
        if photograph is None and not sources:
            raise ImpastoError("give a photograph, a painting or both")
        originals = [images.read_image(source) for source in sources]
        fine = images.read_image(settings.fine_style) if settings.fine_style is not None else None
        if settings.preserve_color == "histogram" and photograph is not None:
            originals = [_match_colors(painting, photograph, settings.color_match) for painting in originals]
            fine = _match_colors(fine, photograph, settings.color_match) if fine is not None else None
        content_mask = None
        regions: list[Region] = [None] * len(originals)
        if settings.content_mask is not None:
            content_mask = _read_mask(settings.content_mask, "the content mask")
            if settings.style_mask is not None:
                if len(settings.style_mask) != len(originals):
                    raise SettingError("style_mask", f"has {len(settings.style_mask)} masks for "
                                       f"{len(originals)} paintings; give one each")  # fmt: skip
                regions = [_region(mask) for mask in settings.style_mask]
            _check_regions(content_mask, regions)
        weights = blend_weights(settings, len(originals)) if originals else []
        paintings = tuple(map(Painting, originals, weights, regions))
        start = None
        if settings.init not in INITS:
            start = images.read_image(settings.init)
        elif settings.init == "content" and photograph is None or settings.init == "style" and not originals:
            raise SettingError(
                "init", f"{settings.init!r} needs a {settings.init} image, which this run has none of"
            )
        return cls(photograph, paintings, fine, content_mask, start)


def digest(image: Image.Image) -> str:
    """A short fingerprint of an image's pixels: the key of what is computed from it."""
    return hashlib.sha1(image.tobytes() + repr(image.size).encode()).hexdigest()[:16]


def _match_colors(painting: Image.Image, photograph: Image.Image, method: color.ColorMatch) -> Image.Image:
    matched = color.match_colors(images.to_tensor(painting), images.to_tensor(photograph), method)
    return images.to_pil(matched)


def _read_mask(source: ImageInput, what: str) -> Image.Image:
    """The mask as an image, checked for a few flat colours at its own size."""
    image = images.read_image(source)
    masks.read_mask(image, image.size, what)
    return image


def _region(entry: ImageInput | str) -> Region:
    """A style mask entry as a colour (a colour name or #rrggbb) or a mask image."""
    if isinstance(entry, str) and not os.path.exists(entry):
        named = masks.parse_color(entry)
        if named is not None:
            return named
    return _read_mask(entry, "a style mask")


def _check_regions(content_mask: Image.Image, regions: list[Region]) -> None:
    """Every colour of the content mask must be provided by some painting."""
    _, wanted = masks.read_mask(content_mask, content_mask.size, "the content mask")
    provided: set[masks.Color] = set()
    for region in regions:
        if region is None:
            return
        if isinstance(region, tuple):
            provided.add(region)
        else:
            provided.update(masks.read_mask(region, region.size, "a style mask")[1])
    missing = [c for c in wanted if c not in provided]
    if missing:
        raise masks.MaskError(f"the content mask's colour {masks.hex_color(missing[0])} is in no style mask")
