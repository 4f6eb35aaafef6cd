"""The optimisation loop: pixels move, the network stays; each evaluation is one iteration.

An iteration is one evaluation of the loss and its gradient (one forward and one backward
pass), for L-BFGS and Adam alike, so that `iterations` costs the same whichever is chosen.
The caller sees every iterate through a callback and gets back the best image evaluated.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from PIL import Image
from torch import Tensor

from .images import to_pil
from .losses import LossTerms

Optimizer = Literal["lbfgs", "adam"]
Objective = Callable[[Tensor], LossTerms]

LBFGS_HISTORY = 100  # torch's and the Lua implementations' default: the paper's kind of run
# Adam's step in pixel units (images are 0-1): about 5 grey levels, the scale at which
# other Adam-based implementations move 0-255 pixels.
ADAM_LEARNING_RATE = 0.02


@dataclass(frozen=True)
class Iterate:
    """One evaluation: what a progress bar, a log or a web page needs to show it."""

    iteration: int  # 1 .. iterations
    iterations: int
    loss: float  # α L_content + β L_style (fast recipe above 512 px: summed over pyramid.py's sizes)
    content_loss: float
    style_loss: float
    elapsed: float  # seconds since the loop started
    tensor: Tensor = field(repr=False)  # the image evaluated, (1, 3, H, W)
    scale: int = 1  # with coarse-to-fine: which of the `scales` sizes, from 1
    scales: int = 1
    step: int = 0  # iterations so far over all scales, this one included
    steps: int = 0  # iterations of all scales together

    @property
    def image(self) -> Image.Image:
        return to_pil(self.tensor)


@dataclass
class Result:
    pixels: Tensor  # the optimised variable at its best evaluation
    image: Tensor  # that image as RGB (1, 3, H, W), not clamped
    loss: float
    iterations: int  # evaluations done
    history: list[tuple[float, float, float]]  # (loss, content, style) per iteration
    interrupted: bool = False


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; `result` holds the best image so far."""

    def __init__(self, result: Result) -> None:
        super().__init__("interrupted")
        self.result = result


def optimize(
    image: Tensor,
    objective: Objective,
    iterations: int,
    optimizer: Optimizer = "lbfgs",
    callback: Callable[[Iterate], None] | None = None,
    render: Callable[[Tensor], Tensor] | None = None,
    scale: tuple[int, int] = (1, 1),
    history: int = LBFGS_HISTORY,
    steps: tuple[int, int] | None = None,
) -> Result:
    """Minimise `objective` over the pixels of `image` for exactly `iterations` evaluations.

    `render` turns the optimised variable into the RGB image that callbacks and the result
    show (for luminance-only transfer, where the variable is one channel); `scale` is (which,
    of how many) for a coarse-to-fine schedule, and `steps` (iterations before this scale, in
    all); `history` is the number of L-BFGS's curvature pairs, each two copies of the image.
    Raises `Interrupted` (a KeyboardInterrupt)
    with the best image so far on Ctrl-C.
    """
    show = render or (lambda variable: variable)
    done_before, steps_in_all = steps or (0, iterations)
    pixels = image.detach().clone().requires_grad_(True)
    result = Result(pixels=pixels.detach().clone(), image=show(pixels.detach()), loss=math.inf,
                    iterations=0, history=[])  # fmt: skip
    start = time.perf_counter()

    def evaluate() -> Tensor:
        chosen.zero_grad()
        terms = objective(pixels)
        if terms.total.requires_grad:  # else the objective has left the gradient in pixels.grad
            terms.total.backward()
        loss = terms.total.item()
        result.iterations += 1
        result.history.append((loss, terms.content.item(), terms.style.item()))
        if loss < result.loss:
            result.loss, result.pixels = loss, pixels.detach().clone()
        if callback is not None:
            callback(
                Iterate(
                    iteration=result.iterations,
                    iterations=iterations,
                    loss=loss,
                    content_loss=terms.content.item(),
                    style_loss=terms.style.item(),
                    elapsed=time.perf_counter() - start,
                    tensor=show(pixels.detach()).clone(),  # a snapshot: the pixels move on
                    scale=scale[0],
                    scales=scale[1],
                    step=done_before + result.iterations,
                    steps=steps_in_all,
                )
            )
        return terms.total

    if optimizer == "lbfgs":
        # max_iter = max_eval = iterations: without a line search L-BFGS evaluates once per
        # step, and the negative tolerances stop it from ending early on a flat stretch.
        chosen = torch.optim.LBFGS(
            [pixels], lr=1, max_iter=iterations, max_eval=iterations,
            tolerance_grad=-1, tolerance_change=-1, history_size=history,
        )  # fmt: skip
    elif optimizer == "adam":
        chosen = torch.optim.Adam([pixels], lr=ADAM_LEARNING_RATE)
    else:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', not {optimizer!r}")

    try:
        if optimizer == "lbfgs":
            chosen.step(evaluate)
        else:
            for _ in range(iterations):
                evaluate()
                chosen.step()
    except KeyboardInterrupt:
        result.interrupted = True
        result.image = show(result.pixels)
        raise Interrupted(result) from None
    result.image = show(result.pixels)
    return result
