"""What a run's loss compares the image with, at any size: the targets.

- content: the photograph's responses at the content layers;
- style: per-position Gram matrices (R, N, N) per style layer, one per region R of the
  output: a region's target blends the paintings that provide it (masked, by their blend
  weights), and with a fine style the fine layers take that painting's Gram matrices in every
  region (Gatys et al. 2017);
- the colour roughness of the paintings, which the colour smoothness term is relative to.

Style targets depend only on the paintings, so `TargetCache` keeps them between runs: a
second photograph in the same style at the same size reuses them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import torch
from PIL import Image
from torch import Tensor

from . import color, images, masks, start, tiles
from .inputs import Inputs, Painting, digest
from .losses import PerceptualLoss, Temporal
from .settings import Settings
from .vgg import VGG19

FINE_LAYERS = ("conv1_1", "conv2_1")  # the style layers whose Gram matrices hold fine texture
StyleTargets = dict[str, Tensor]


class TargetCache:
    """The style targets of recent runs, by everything they depend on; the oldest go first."""

    def __init__(self, capacity: int = 32) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, StyleTargets] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], StyleTargets]) -> StyleTargets:
        if key in self._entries:
            self.hits += 1
            self._entries.move_to_end(key)
            return self._entries[key]
        self.misses += 1
        value = compute()
        self._entries[key] = value
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry, and count hits and misses from zero."""
        self._entries.clear()
        self.hits = self.misses = 0


@dataclass(frozen=True)
class Targets:
    """The targets of one run (its inputs and settings) on one network, at any size."""

    network: VGG19
    network_key: Hashable  # what, besides its weights, makes the network what it is
    inputs: Inputs
    settings: Settings
    cache: TargetCache
    temporal: Temporal | None = None  # a video frame's temporal loss, at the output's size

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def network_input(self, image: Tensor) -> Tensor:
        """What the network sees: the image, or its luminance as a grey RGB image."""
        if self.settings.luminance_only:
            return color.grey_to_rgb(image if image.shape[1] == 1 else color.luminance(image))
        return image

    def loss(self, width: int, height: int, tile: int | None, temporal: bool = True) -> PerceptualLoss:
        """The paper's loss for an output of width x height, against the photograph and the
        paintings at that size; their responses computed in tiles of `tile` px if given; with
        the temporal term, resized, unless `temporal` is False (a pyramid's smaller copy)."""
        settings = self.settings
        photo = self.photograph(width, height)
        regions, colors = None, [None]
        if self.inputs.content_mask is not None:
            indices, colors = masks.read_mask(self.inputs.content_mask, (width, height), "the content mask")
            regions = masks.one_hot(indices, len(colors)).to(self.device)
        content_targets = {}
        if self.inputs.photograph is not None:
            with torch.no_grad():
                content = self.network_input(photo)
                layers = list(settings.content_layers)
                if tile is None:
                    content_targets = self.network(content, layers)
                else:
                    content_targets = tiles.responses(self.network, content, layers, tile)
        style_targets = self.style(max(width, height), colors, photo, tile) if self.inputs.paintings else {}
        alpha, beta = settings.loss_weights
        if self.inputs.photograph is None:  # a texture: style alone
            alpha, beta = 0.0, 1.0
        elif not self.inputs.paintings:  # a reconstruction: content alone
            alpha, beta = 1.0, 0.0
        color_tv_weight = 0.0
        if settings.color_tv and not settings.luminance_only:
            color_tv_weight = settings.color_tv / max(self.color_roughness(max(width, height)), 1e-8)
        frame = self.temporal.at(height, width) if self.temporal is not None and temporal else None
        return PerceptualLoss(content_targets, style_targets, alpha, beta, settings.style_layer_weight_map,
                              regions, settings.tv_weight, color_tv_weight, frame)  # fmt: skip

    def photograph(self, width: int, height: int) -> Tensor:
        """The reference image (the photograph, else the first painting) at width x height."""
        image = self.inputs.reference.resize((width, height), Image.Resampling.LANCZOS)
        if image.size == self.inputs.reference.size:
            image = self.inputs.reference
        return images.to_tensor(image, self.device)

    def painting_side(self, long_side: int) -> int:
        """The long side the paintings are seen at for an output of `long_side`."""
        return max(1, round(long_side * self.settings.style_scale))

    def paintings_mean(self, long_side: int, statistic: Callable[[Image.Image], float]) -> float:
        """`statistic` of the paintings at the size they are seen at for an output of
        `long_side`, by their blend weights; of the photograph where there is no painting."""
        if not self.inputs.paintings:
            return statistic(images.resize_long_side(self.inputs.reference, long_side))
        side = self.painting_side(long_side)
        return sum(
            painting.weight * statistic(images.resize_long_side(painting.image, side))
            for painting in self.inputs.paintings
        )

    def roughness(self, long_side: int) -> float:
        """How rough the luminance noise of a scale of `long_side` is (start.py)."""
        return self.paintings_mean(long_side, start.roughness)

    def color_roughness(self, long_side: int) -> float:
        return self.paintings_mean(long_side, start.color_roughness)

    def style(self, long_side: int, colors: list, photo: Tensor, tile: int | None) -> StyleTargets:
        """(R, N, N) per-position Gram targets per style layer for an output of `long_side`,
        one per region (`colors`, the content mask's, or [None]); cached."""
        settings = self.settings
        side = self.painting_side(long_side)
        key = (
            self.network_key, settings.style_layers, side, tile, tuple(colors),
            tuple((digest(p.image), p.weight, _region_key(p)) for p in self.inputs.paintings),
            digest(self.inputs.fine_style) if self.inputs.fine_style is not None else None,
            # luminance-only transfer matches the paintings' luminance to the photograph's
            digest(self.inputs.reference) if settings.luminance_only else None,
        )  # fmt: skip
        return self.cache.get(key, lambda: self._style(side, colors, photo, tile))

    @torch.no_grad()
    def _style(self, side: int, colors: list, photo: Tensor, tile: int | None) -> StyleTargets:
        device = self.device
        layers = self.settings.style_layers
        sums: dict[str, Tensor] = {}
        totals = torch.zeros(len(colors), device=device)
        for painting in self.inputs.paintings:
            resized = images.resize_long_side(painting.image, side)
            maps, provided = _regions(painting, resized.size, colors, device)
            grams = self._grams(self._painting_input(resized, photo), layers, maps, tile)
            for name, gram in grams.items():
                # scatter the painting's regions onto the output's regions it provides
                placed = torch.zeros(len(colors), *gram.shape[1:], device=device)
                placed[provided] = gram
                sums[name] = sums.get(name, 0) + painting.weight * placed
            totals[provided] += painting.weight
        missing = [c for c, total in zip(colors, totals.tolist(), strict=True) if total == 0]
        if missing:
            raise masks.MaskError(
                f"the content mask's colour {masks.hex_color(missing[0])} is in no style mask"
            )
        targets = {name: total / totals.view(-1, 1, 1) for name, total in sums.items()}
        if self.inputs.fine_style is not None:
            resized = images.resize_long_side(self.inputs.fine_style, side)
            fine_layers = [name for name in FINE_LAYERS if name in layers]
            fine = self._grams(self._painting_input(resized, photo), fine_layers, None, tile)
            for name in fine_layers:
                targets[name] = fine[name].expand(len(colors), -1, -1)
        return targets

    def _painting_input(self, painting: Image.Image, photo: Tensor) -> Tensor:
        image = images.to_tensor(painting, photo.device)
        if self.settings.luminance_only:  # the 2017 paper: the style's luminance, matched to the content's
            return color.grey_to_rgb(color.match_luminance(image, photo))
        return image

    def _grams(self, image: Tensor, layers, maps: Tensor | None, tile: int | None) -> StyleTargets:
        """A painting's per-position Gram matrices per region, whole or from tiles."""
        if tile is None or tile >= max(image.shape[-2:]):
            return PerceptualLoss.gram_targets(self.network(image, layers), maps)
        return tiles.gram_targets(self.network, image, list(layers), tile, maps)


def _region_key(painting: Painting) -> Hashable:
    if painting.region is None or isinstance(painting.region, tuple):
        return painting.region
    return digest(painting.region)


def _regions(painting: Painting, size: tuple[int, int], colors: list, device: torch.device):
    """The painting's region maps at `size`, and which output regions they provide."""
    if painting.region is None:  # the whole painting, for every region
        return None, list(range(len(colors)))
    if isinstance(painting.region, tuple):  # the whole painting is one region
        return None, [i for i, c in enumerate(colors) if c == painting.region]
    indices, own = masks.read_mask(painting.region, size, "a style mask")
    provided = [i for i, c in enumerate(colors) if c in own]
    keep = [own.index(colors[i]) for i in provided]
    return masks.one_hot(indices, len(own))[keep].to(device), provided
