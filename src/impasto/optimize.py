"""The optimisers: pixels move, the network stays; each evaluation is one iteration.

An iteration is one evaluation of the loss and its gradient (one forward and one backward
pass), for L-BFGS and Adam alike, so that `iterations` costs the same whichever is chosen.
Both are generators that yield every evaluation as it happens, so that a caller can show it,
stop after it, or go on: the loop over scales (painter.py) is the one place that decides.

L-BFGS is written out here, rather than taken from torch.optim, because torch's runs its loop
inside one `step()` call that cannot hand each evaluation back; it does what torch's does
without a line search (the tests check that both take the same steps): the first step
scaled by 1 / Σ|g|, unit steps after it, and a curvature pair kept only where yᵀs > 1e-10.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
from PIL import Image
from torch import Tensor

from .images import to_pil
from .losses import Evaluation, Objective

Optimizer = Literal["lbfgs", "adam"]
# Adam's step in pixel units (images are 0-1): about 5 grey levels, the scale at which
# other Adam-based implementations move 0-255 pixels.
ADAM_LEARNING_RATE = 0.02
CURVATURE_FLOOR = 1e-10  # a pair whose yᵀs is smaller says nothing reliable about curvature


@dataclass(frozen=True)
class Iterate:
    """One evaluation: what a progress bar, a log or a web page needs to show it."""

    iteration: int  # 1 .. iterations, within this scale
    iterations: int
    loss: float  # α L_content + β L_style (+ smoothness; above 512 px summed over pyramid.py's sizes)
    content_loss: float
    style_loss: float
    elapsed: float  # seconds since the run started
    tensor: Tensor = field(repr=False)  # the image evaluated, (1, 3, H, W)
    scale: int = 1  # with coarse-to-fine: which of the sizes, from 1
    scales: int = 1
    done: int = 0  # iterations so far over all scales, this one included
    planned: int = 0  # iterations of all scales together

    @property
    def image(self) -> Image.Image:
        return to_pil(self.tensor)


def lbfgs(
    start: Tensor, objective: Objective, iterations: int, pairs: int
) -> Iterator[tuple[Tensor, Evaluation]]:
    """L-BFGS without a line search, keeping `pairs` curvature pairs: yields each (pixels,
    evaluation), `iterations` of them (fewer only if a direction stops going down)."""
    pixels = start.detach().clone()
    evaluation = objective(pixels)
    yield pixels, evaluation
    gradient = evaluation.gradient.reshape(-1)
    memory: deque[tuple[Tensor, Tensor, Tensor]] = deque(maxlen=pairs)  # (s, y, 1 / yᵀs), oldest first
    scaling: Tensor | float = 1.0  # the initial inverse Hessian: yᵀs / yᵀy of the newest pair
    direction = -gradient
    length: Tensor | float = min(1.0, 1.0 / gradient.abs().sum())  # the first step: Σ|Δx| at most 1
    for number in range(1, iterations):
        if number > 1:
            direction, length = _inverse_hessian_times(-gradient, memory, scaling), 1.0
        if gradient.dot(direction) > 1:  # torch's test with tolerance_change = -1: not a descent
            return
        pixels = pixels.add(direction.view_as(pixels), alpha=float(length))
        evaluation = objective(pixels)
        yield pixels, evaluation
        previous, gradient = gradient, evaluation.gradient.reshape(-1)
        step, change = direction * length, gradient - previous
        curvature = change.dot(step)
        if curvature > CURVATURE_FLOOR:
            memory.append((step, change, 1.0 / curvature))
            scaling = curvature / change.dot(change)


def _inverse_hessian_times(vector: Tensor, memory: deque, scaling: Tensor | float) -> Tensor:
    """H v, H the L-BFGS inverse Hessian of the pairs in `memory`: the two-loop recursion."""
    q = vector.clone()
    alphas = []
    for step, change, inverse_curvature in reversed(memory):
        alpha = step.dot(q) * inverse_curvature
        q.add_(change, alpha=-alpha)
        alphas.append(alpha)
    r = q * scaling
    for (step, change, inverse_curvature), alpha in zip(memory, reversed(alphas), strict=True):
        beta = change.dot(r) * inverse_curvature
        r.add_(step, alpha=alpha - beta)
    return r


def adam(start: Tensor, objective: Objective, iterations: int) -> Iterator[tuple[Tensor, Evaluation]]:
    """Adam with a step of ADAM_LEARNING_RATE: yields each (pixels, evaluation)."""
    pixels = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([pixels], lr=ADAM_LEARNING_RATE)
    for _ in range(iterations):
        evaluation = objective(pixels.detach())
        yield pixels.detach().clone(), evaluation
        pixels.grad = evaluation.gradient
        optimizer.step()


def descend(
    start: Tensor, objective: Objective, iterations: int, optimizer: Optimizer, lbfgs_pairs: int
) -> Iterator[tuple[Tensor, Evaluation]]:
    """Each evaluation of minimising `objective` from `start` with `optimizer`."""
    if optimizer == "lbfgs":
        return lbfgs(start, objective, iterations, lbfgs_pairs)
    if optimizer == "adam":
        return adam(start, objective, iterations)
    raise ValueError(f"optimizer must be 'lbfgs' or 'adam', not {optimizer!r}")
