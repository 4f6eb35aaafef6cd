"""Measures of a result: the paper's distances, and the grain and detail that the eye sees.

- `Yardstick`: the paper's content loss (equation 1, per position, at conv4_2) to the
  photograph and style loss (equation 5, conv1_1 ... conv5_1 with w_l = 1/5) to the painting,
  both at the result's size, on the float32 normalised network: what bench/, scripts/ and the
  tests score results with, whatever precision made them.
- `grain` and `detail`: the mean absolute 4-neighbour Laplacian of the result's colour (Cb
  and Cr of YCbCr) and of its luminance (Y), each over the same measure of the painting at
  the result's size. Grain above 1 is colour detail that the painting never had (the rainbow
  speckle of pixel-sized colour noise); detail well below 1 means that the strokes' light and
  dark were smoothed away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from . import images
from .losses import PerceptualLoss
from .network import paper_network
from .settings import DEFAULT_STYLE_LAYERS, RATIO
from .vgg import VGG19

CONTENT_LAYER = "conv4_2"
STYLE_LAYERS = DEFAULT_STYLE_LAYERS


def mean_abs_laplacian(channel: np.ndarray) -> float:
    """Mean |4 x − the four neighbours| over the inner pixels of a 2-D array."""
    c = channel.astype(np.float64)
    if min(c.shape) < 3:
        return 0.0
    laplacian = 4 * c[1:-1, 1:-1] - c[:-2, 1:-1] - c[2:, 1:-1] - c[1:-1, :-2] - c[1:-1, 2:]
    return float(np.abs(laplacian).mean())


@dataclass(frozen=True)
class Roughness:
    """Mean absolute Laplacian of an image's luminance and of its colour, in 0-255 units."""

    luminance: float
    color: float  # the mean of Cb's and Cr's

    @classmethod
    def of(cls, image: Image.Image) -> Roughness:
        ycc = np.asarray(image.convert("RGB").convert("YCbCr"))
        return cls(
            mean_abs_laplacian(ycc[..., 0]),
            (mean_abs_laplacian(ycc[..., 1]) + mean_abs_laplacian(ycc[..., 2])) / 2,
        )


def _painting_at(result: Image.Image, painting: Image.Image) -> Image.Image:
    """The painting at the size a run of the result's size takes its style at."""
    return images.resize_long_side(images.to_rgb(painting), max(result.size))


def grain(result: Image.Image, painting: Image.Image) -> float:
    """The result's colour roughness over the painting's (1: as much colour detail)."""
    return Roughness.of(result).color / Roughness.of(_painting_at(result, painting)).color


def detail(result: Image.Image, painting: Image.Image) -> float:
    """The result's luminance roughness over the painting's (1: as much light-and-dark detail)."""
    return Roughness.of(result).luminance / Roughness.of(_painting_at(result, painting)).luminance


@dataclass(frozen=True)
class Distances:
    content: float  # L_content / M at conv4_2, to the photograph
    style: float  # L_style, to the painting

    @property
    def total(self) -> float:
        """The default objective: α L_content / M + β L_style with α/β = RATIO."""
        return RATIO * self.content + self.style


class Yardstick:
    """The paper's distances of images to one photograph and one painting, each at the size of
    the image measured (the photograph and the painting resized to its long side), on
    `network` (default: the paper's, in float32)."""

    def __init__(self, photograph: images.ImageInput, painting: images.ImageInput,
                 network: VGG19 | None = None) -> None:  # fmt: skip
        self.photograph = images.read_image(photograph)
        self.painting = images.read_image(painting)
        self.network = network if network is not None else paper_network()
        self._losses: dict[int, PerceptualLoss] = {}

    def loss(self, long_side: int) -> PerceptualLoss:
        """The paper's loss (α = β = 1) at `long_side`, its targets computed once."""
        if long_side not in self._losses:
            device = next(self.network.parameters()).device
            photo = images.to_tensor(images.resize_long_side(self.photograph, long_side), device)
            painting = images.to_tensor(images.resize_long_side(self.painting, long_side), device)
            with torch.no_grad():
                content = self.network(photo, [CONTENT_LAYER])
                style = PerceptualLoss.gram_targets(self.network(painting, STYLE_LAYERS))
            weights_per_layer = dict.fromkeys(STYLE_LAYERS, 1 / len(STYLE_LAYERS))
            self._losses[long_side] = PerceptualLoss(content, style, 1.0, 1.0, weights_per_layer)
        return self._losses[long_side]

    @torch.no_grad()
    def measure(self, image: Tensor) -> Distances:
        """The distances of an RGB image tensor (1, 3, H, W) in [0, 1]."""
        loss = self.loss(max(image.shape[-2:]))
        device = next(self.network.parameters()).device
        terms = loss(self.network(image.to(device, torch.float32), loss.layers))
        return Distances(terms.content.item(), terms.style.item())

    def __call__(self, image: Image.Image) -> Distances:
        """The distances of a picture (as it was saved: 8-bit, clamped)."""
        return self.measure(images.to_tensor(images.to_rgb(image)))
