"""The objective a scale minimises: an image's loss and its gradient, whole, in tiles or over
the pyramid, behind one contract.

An objective takes the pixels (a tensor without a graph) and returns an `Evaluation`: the
loss terms and the gradient of the total with respect to those pixels. `WholeImage` makes one
pass with autograd; `tiles.TiledObjective` makes two passes over tiles against global Gram
matrices; `pyramid.PyramidObjective` sums objectives at smaller copies of the image. The loop
(optimize.py) sees none of the difference.
"""

from __future__ import annotations

import torch
from torch import Tensor

from . import tiles
from .losses import Evaluation, Objective, PerceptualLoss
from .pyramid import PyramidObjective
from .schedule import Scale
from .targets import Targets
from .vgg import VGG19

Transform = tiles.Transform


class WholeImage:
    """The loss of the whole image in one forward and backward pass."""

    def __init__(self, network: VGG19, loss: PerceptualLoss, transform: Transform) -> None:
        self.network = network
        self.loss = loss
        self.transform = transform

    def __call__(self, pixels: Tensor) -> Evaluation:
        image = pixels.detach().requires_grad_()
        with torch.enable_grad():
            terms = self.loss(self.network(self.transform(image), self.loss.layers), image)
            terms.total.backward()
        assert image.grad is not None
        return Evaluation(terms.detach(), image.grad)


def at_size(targets: Targets, width: int, height: int, tile: int | None, temporal: bool = True) -> Objective:
    """The paper's objective for an image of width x height, whole or in tiles of `tile` px
    where the image is larger than a tile (with a video frame's temporal term, if `temporal`)."""
    tile = tile if tile is not None and tile < max(width, height) else None
    loss = targets.loss(width, height, tile, temporal)
    if tile is not None:
        return tiles.TiledObjective(targets.network, loss, targets.network_input, tile)
    return WholeImage(targets.network, loss, targets.network_input)


def for_scale(targets: Targets, scale: Scale, tile: int | None) -> Objective:
    """The objective of one scale: at its size, and also at its smaller copies (pyramid.py)."""
    objective = at_size(targets, scale.width, scale.height, tile)
    if not scale.levels:
        return objective
    levels = [(objective, (scale.height, scale.width))]
    for width, height in scale.level_shapes(targets.inputs.reference.size):
        levels.append((at_size(targets, width, height, tile, temporal=False), (height, width)))
    return PyramidObjective(levels)
