"""Where each scale of a run starts, and why the fast recipe puts its fine noise in luminance only.

The paper starts from white noise: every pixel of every channel random. Coarse to fine, each
later scale starts from the result before it, enlarged. Both leave pixel-sized colour grain:

- the Gram matrix of conv1_1 asks for the painting's local colour covariance, and per-pixel
  colour noise is the cheapest way to supply it; nothing in the loss takes away frequencies
  that the deeper layers barely see, so the noise of a white start stays, and the optimiser
  adds more at each scale (bench/RESULTS.md, "Colour grain" has the measurements);
- an enlarged result holds no detail at its new finest octave, and the style loss's gradient
  for a texture that is missing is proportional to how much of it there is: from nothing, the
  brushwork grows back slowly (over 400 iterations at 256 px it had not).

So `noise="luminance"` (the fast recipe's) seeds fine detail in luminance only:
- the first scale starts from the paper's white noise averaged over blocks of 8 x 8 pixels
  and enlarged (faint colour noise around mid-grey, without fine detail), plus white
  luminance noise;
- every later scale starts from the one before, enlarged, plus fresh white luminance noise;
- the luminance noise is as rough as the painting at that size (the same mean absolute
  Laplacian), so a smooth painting gets a faint seed and a busy one a strong one;
and the fast recipe's loss adds a total-variation term on the colour channels alone
(`color_tv_weight`, relative to the paintings' own at the same size, since a smooth painting
or a large size leaves less colour detail to hide grain in), which removes the colour grain
that the optimiser still puts in, and leaves the strokes' light and dark free.
`noise="white"` is the paper's start.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from . import images
from .color import chrominance
from .losses import total_variation
from .quality import Roughness

COARSE_NOISE = 8  # the first scale's colour noise: white noise averaged over blocks of this side
# The mean absolute 4-neighbour Laplacian of white Gaussian noise of standard deviation 1:
# the Laplacian is Gaussian with variance 4² + 4 = 20, and E|X| = σ √(2/π).
NOISE_LAPLACIAN = math.sqrt(20 * 2 / math.pi)


def roughness(image: Image.Image) -> float:
    """The mean absolute 4-neighbour Laplacian of the image's luminance, in 0-1 units: how
    rough the luminance noise for a painting is."""
    return Roughness.of(image).luminance / 255


def color_roughness(image: Image.Image) -> float:
    """The total variation of the image's colour channels: what `color_tv_weight` is
    relative to."""
    return total_variation(chrominance(images.to_tensor(image))).item()


def luminance_noise(shape: tuple[int, int, int], roughness: float, generator: torch.Generator) -> Tensor:
    """White noise (1, C, H, W) that is the same in every channel (so it changes luminance
    only: YIQ's I and Q weigh R, G and B to a sum of 0), with mean absolute Laplacian
    `roughness`."""
    channels, height, width = shape
    noise = torch.randn((1, 1, height, width), generator=generator) * (roughness / NOISE_LAPLACIAN)
    return noise.expand(1, channels, height, width)


def white_noise(shape: tuple[int, int, int], generator: torch.Generator) -> Tensor:
    """The paper's start: every pixel of every channel uniform in [0, 1]."""
    return torch.rand((1, *shape), generator=generator)


def luminance_start(shape: tuple[int, int, int], roughness: float, generator: torch.Generator) -> Tensor:
    """The paper's white noise with its fine detail taken out (averaged over blocks of
    COARSE_NOISE x COARSE_NOISE pixels and enlarged again), plus luminance noise."""
    channels, height, width = shape
    coarse = (max(1, round(height / COARSE_NOISE)), max(1, round(width / COARSE_NOISE)))
    averaged = F.interpolate(white_noise(shape, generator), size=coarse, mode="area")
    return enlarge(averaged, (height, width)) + luminance_noise(shape, roughness, generator)


def enlarge(image: Tensor, size: tuple[int, int]) -> Tensor:
    """The result of a coarser scale at the next scale's (height, width)."""
    return F.interpolate(image, size=size, mode="bicubic", align_corners=False)
