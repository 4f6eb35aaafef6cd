"""The same look at every size: a large image is also scored at smaller copies of itself.

A unit of conv5_1 sees about 200 px of the network's input. At 512 px, the size of the paper's
figures, that is over a third of the picture, and the painting's large structures (the swirls
of The Starry Night) are in its Gram matrices; at 2048 px it is a tenth, and the painting's
statistics hold only its brushwork. Optimised at 2048 px alone, a result keeps the photograph's
look with finer texture, even when it starts from the 512 px result: nothing at that size
holds the strokes' composition in place (bench/RESULTS.md shows it).

So above LOOK_SIZE the fast recipe adds the paper's objective at each octave below the
output's size, down to LOOK_SIZE: the image, shrunk with an antialiasing filter, against the
photograph and the painting at that size. The smallest copy keeps the 512 px look; the full
size adds the brushwork that the print needs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from .losses import Evaluation, LossTerms, Objective

LOOK_SIZE = 512  # long side at which a run's look is set: the paper's size


def levels(long_side: int, base: int | None = None) -> list[int]:
    """The smaller long sides an image of `long_side` is also scored at: every halving that
    stays above `base` (LOOK_SIZE), then `base` itself; none at or below `base`."""
    base = LOOK_SIZE if base is None else base
    sides = []
    side = long_side / 2
    while round(side) > base:
        sides.append(round(side))
        side /= 2
    return sides + [base] if long_side > base else []


def shrink(image: Tensor, shape: tuple[int, int]) -> Tensor:
    """`image` at `shape` (height, width), low-pass filtered so that it does not alias."""
    if image.device.type == "mps":  # no antialiased resize there in some versions: on the CPU
        return shrink(image.cpu(), shape).to(image.device)
    return F.interpolate(image, size=shape, mode="bilinear", antialias=True, align_corners=False)


class PyramidObjective:
    """The sum of `objectives`, each (objective, (height, width)) evaluated at the image shrunk
    to its shape; its gradient carried back through the shrinking. One level at a time, so
    that memory holds no more than the largest level's graph."""

    def __init__(self, objectives: Sequence[tuple[Objective, tuple[int, int]]]) -> None:
        self.objectives = list(objectives)

    def __call__(self, pixels: Tensor) -> Evaluation:
        pixels = pixels.detach()
        gradient = torch.zeros_like(pixels)
        terms: LossTerms | None = None
        for objective, shape in self.objectives:
            if tuple(pixels.shape[-2:]) == shape:
                evaluation = objective(pixels)
                gradient += evaluation.gradient
            else:
                with torch.enable_grad():
                    source = pixels.clone().requires_grad_()
                    level = shrink(source, shape)
                evaluation = objective(level.detach())
                level.backward(evaluation.gradient)  # the shrinking's adjoint
                gradient += source.grad
            terms = evaluation.terms if terms is None else terms + evaluation.terms
        assert terms is not None
        return Evaluation(terms, gradient)
