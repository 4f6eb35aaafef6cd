"""The perceptual loss and its gradient over an image too large for one pass, tile by tile.

The style loss depends on Gram matrices of the whole image, so tiles cannot be stylised
separately. Instead each evaluation makes two passes over the tiles:

1. without autograd, every tile's share of the Gram sums Σ F Fᵀ, which add up to the whole
   image's; from them the style loss and D_l = ∂L/∂Ĝ_l, its gradient per Gram matrix;
2. with autograd, one tile at a time: L_tile = Σ_l ⟨D_l, Ĝ_l,tile⟩ + α L_content,tile, whose
   gradient with respect to the tile's pixels is the tile's part of the whole image's
   gradient (the chain rule through Ĝ_l = Σ_tiles Ĝ_l,tile), added into one gradient image.

A tile's responses are computed from its core and a margin as wide as the deepest layer's
receptive field, and only the core's responses are used, so they equal the untiled
network's. Tiles start at multiples of the network's total stride, so that every pooling
window falls as it does on the whole image. The result matches the untiled method up to
floating-point rounding: no seams.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

from .losses import Evaluation, PerceptualLoss, gram_sums, maps_at, region_sizes
from .vgg import LAYERS, VGG19, deepest, smallest_side

Transform = Callable[[Tensor], Tensor]  # the optimised variable -> the network's RGB input


def stride(layer: str) -> int:
    """Pixels per position of `layer`'s responses: 2 to the number of pooling layers up to
    and including it."""
    return smallest_side(layer)


def margin(layer: str) -> int:
    """Pixels around a tile's core that its responses up to `layer` depend on, rounded up to
    the stride there: each 3x3 convolution and 2x2 pooling widens the receptive field by one
    position on each side, at the stride of its input."""
    layers = LAYERS[: LAYERS.index(layer) + 1]
    radius = sum(stride(previous) for previous in LAYERS[: len(layers) - 1]) + 1
    return -(-radius // stride(layer)) * stride(layer)


def layer_shape(height: int, width: int, layer: str) -> tuple[int, int]:
    """The size of `layer`'s response maps to a height x width image."""
    for name in LAYERS[: LAYERS.index(layer) + 1]:
        if name.startswith("pool"):
            height, width = height // 2, width // 2
    return height, width


@dataclass(frozen=True)
class Tile:
    """A core (the pixels whose responses the tile contributes) and the window the network
    sees: the core and its margin, within the image. (top, bottom, left, right) in pixels."""

    core: tuple[int, int, int, int]
    window: tuple[int, int, int, int]
    height: int  # of the whole image
    width: int

    def pixels(self, image: Tensor) -> Tensor:
        top, bottom, left, right = self.window
        return image[..., top:bottom, left:right]

    def crop(self, responses: Tensor, layer: str) -> Tensor:
        """The core's part of the responses at `layer` to the window."""
        s = stride(layer)
        top, bottom, left, right = self.core
        rows = slice(
            (top - self.window[0]) // s, None if bottom == self.height else (bottom - self.window[0]) // s
        )
        columns = slice(
            (left - self.window[2]) // s, None if right == self.width else (right - self.window[2]) // s
        )
        return responses[..., rows, columns]

    def crop_global(self, maps: Tensor, layer: str) -> Tensor:
        """The core's part of maps at `layer`'s resolution for the whole image."""
        s = stride(layer)
        top, bottom, left, right = self.core
        rows = slice(top // s, None if bottom == self.height else bottom // s)
        columns = slice(left // s, None if right == self.width else right // s)
        return maps[..., rows, columns]


def tiles(height: int, width: int, core: int, layer: str) -> list[Tile]:
    """Cores of `core` pixels (a multiple of the stride at `layer`) covering the image, each
    with its window."""
    step = smallest_side(layer)
    if core % step:
        raise ValueError(f"a tile's core must be a multiple of {step} px for {layer}, not {core}")
    extra = margin(layer)
    return [
        Tile(
            (top, min(top + core, height), left, min(left + core, width)),
            (
                max(0, top - extra),
                min(height, top + core + extra),
                max(0, left - extra),
                min(width, left + core + extra),
            ),
            height,
            width,
        )  # fmt: skip
        for top in range(0, height, core)
        for left in range(0, width, core)
    ]


@torch.no_grad()
def responses(network: VGG19, image: Tensor, layers: list[str], core: int) -> dict[str, Tensor]:
    """The responses at `layers` to the whole image, assembled from tiles (no autograd)."""
    height, width = image.shape[-2:]
    assembled: dict[str, Tensor] = {}
    for tile in tiles(height, width, core, deepest(layers)):
        for name, response in network(tile.pixels(image), layers).items():
            if name not in assembled:
                assembled[name] = response.new_zeros(*response.shape[:2], *layer_shape(height, width, name))
            part = tile.crop_global(assembled[name], name)
            part.copy_(tile.crop(response, name))
    return assembled


@torch.no_grad()
def gram_targets(
    network: VGG19, image: Tensor, layers: list[str], core: int, regions: Tensor | None = None
) -> dict[str, Tensor]:
    """Per-position Gram matrices (R, N, N) of the whole image at `layers`, from tiles: what
    `PerceptualLoss.gram_targets` gives for the untiled responses."""
    height, width = image.shape[-2:]
    shapes = {name: layer_shape(height, width, name) for name in layers}
    maps = {name: None if regions is None else maps_at(regions, shapes[name]) for name in layers}
    sums = _gram_sums(network, lambda x: x, image, layers, core, maps)
    return {name: total / _sizes(maps[name], height, width, name).to(total) for name, total in sums.items()}


def _sizes(maps: Tensor | None, height: int, width: int, layer: str) -> Tensor:
    rows, columns = layer_shape(height, width, layer)
    return region_sizes(maps, rows * columns)


@torch.no_grad()
def _gram_sums(
    network: VGG19, transform: Transform, image: Tensor, layers: list[str], core: int,
    maps: Mapping[str, Tensor | None],
) -> dict[str, Tensor]:  # fmt: skip
    height, width = image.shape[-2:]
    sums: dict[str, Tensor] = {}
    for tile in tiles(height, width, core, deepest(layers)):
        for name, response in network(transform(tile.pixels(image)), layers).items():
            tile_maps = None if maps[name] is None else tile.crop_global(maps[name], name)
            part = gram_sums(tile.crop(response, name), tile_maps)
            sums[name] = sums[name] + part if name in sums else part
    return sums


class TiledObjective:
    """The loss of `loss` at an image and its gradient (an `Evaluation`, objective.py),
    computed in tiles of `core` pixels (see the module's description)."""

    def __init__(self, network: VGG19, loss: PerceptualLoss, transform: Transform, core: int) -> None:
        self.network = network
        self.loss = loss
        self.transform = transform
        self.core = core
        self.style_layers = list(loss.style_targets)
        self.layers = sorted(loss.layers, key=LAYERS.index)

    def __call__(self, pixels: Tensor) -> Evaluation:
        pixels = pixels.detach()
        height, width = pixels.shape[-2:]
        maps = {name: self.loss.maps_at(layer_shape(height, width, name)) for name in self.layers}
        sizes = {name: _sizes(maps[name], height, width, name) for name in self.style_layers}
        positions = {name: layer_shape(height, width, name) for name in self.loss.content_targets}

        # Pass 1: the whole image's Gram matrices, the style loss, and ∂L/∂Ĝ per layer.
        style = pixels.new_zeros(())
        directions: dict[str, Tensor] = {}
        if self.style_layers:
            sums = _gram_sums(self.network, self.transform, pixels, self.style_layers, self.core, maps)
            grams = {name: (sums[name] / sizes[name].to(sums[name])).requires_grad_() for name in sums}
            with torch.enable_grad():
                style = self.loss.style_from_grams(grams)
                (self.loss.style_weight * style).backward()
            directions = {name: gram.grad for name, gram in grams.items()}

        # Pass 2: tile by tile, the gradient of ⟨D, Ĝ_tile⟩ + α L_content,tile.
        gradient = torch.zeros_like(pixels)
        content = pixels.new_zeros(())
        for tile in tiles(height, width, self.core, deepest(self.layers)):
            window = tile.pixels(pixels).clone().requires_grad_()
            with torch.enable_grad():
                features = self.network(self.transform(window), self.layers)
                surrogate = window.new_zeros(())
                for name in self.style_layers:
                    tile_maps = None if maps[name] is None else tile.crop_global(maps[name], name)
                    part = gram_sums(tile.crop(features[name], name), tile_maps) / sizes[name].to(window)
                    surrogate = surrogate + (directions[name] * part).sum()
                tile_content = window.new_zeros(())
                for name, target in self.loss.content_targets.items():
                    rows, columns = positions[name]
                    tile_content = tile_content + self.loss.content_term(
                        tile.crop(features[name], name), tile.crop_global(target, name), rows * columns
                    )
                surrogate = surrogate + self.loss.content_weight * tile_content
                surrogate.backward()
            content = content + tile_content.detach()
            top, bottom, left, right = tile.window
            gradient[..., top:bottom, left:right] += window.grad

        with torch.enable_grad():  # the total variation terms are cheap on the whole image
            image = pixels.clone().requires_grad_()
            terms = self.loss.combine(content, style.detach(), image)
            if terms.total.requires_grad:
                terms.total.backward()
                gradient += image.grad
        return Evaluation(terms.detach(), gradient)
