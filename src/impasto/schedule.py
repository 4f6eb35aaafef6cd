"""The recipes' schedules: which sizes a run optimises at, coarse to fine, and for how long.

The paper recipe is one size, PAPER_ITERATIONS iterations from the start image. The fast
recipe, measured against it in bench/quality_vs_time.py, goes coarse to fine, doubling from
FAST_COARSEST px. An output of one scale (below 2 x FAST_COARSEST) gets FAST_MOST_ITERATIONS.

Otherwise the counts follow the loss curves of bench/RESULTS.md ("Where the iterations go").
An output of two scales gets FAST_TWO_SCALE_ITERATIONS: scored at the output's size,
iterations at the first scale stop paying after a few dozen, and the output scale makes up
the rest. With three scales or more that is not so (cut short, the first scales leave the
composition further from the photograph, and the later ones do not bring it back), so the
output size gets FAST_FINAL_ITERATIONS and each coarser scale twice as many as the next, up
to FAST_MOST_ITERATIONS. Above pyramid.LOOK_SIZE each scale is also scored at smaller copies
of itself (pyramid.py), so that the look does not change with size.

Explicit `scales` or `octaves` replace either recipe's sizes, and `iterations` its counts.

Everything here is arithmetic on sizes: planning a 60000 px run builds no image that large.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import images, pyramid
from .settings import PAPER_ITERATIONS, Settings

FAST_COARSEST = 128
FAST_MOST_ITERATIONS = 200
FAST_TWO_SCALE_ITERATIONS = (40, 70)  # an output of two scales (256 to 511 px)
FAST_FINAL_ITERATIONS = 50  # three scales or more: at the output size, doubling at each coarser one
# L-BFGS's curvature pairs (each two copies of the image): torch's and the Lua
# implementations' 100 for the paper recipe; 20 for the fast one, which made the same
# progress at 256 px in a fifth of the memory (bench/RESULTS.md).
PAPER_LBFGS_PAIRS = 100
FAST_LBFGS_PAIRS = 20


@dataclass(frozen=True)
class Scale:
    """One size of a run: the image's shape there, its iterations, and the smaller long sides
    it is also scored at (pyramid.py)."""

    long_side: int
    width: int
    height: int
    iterations: int
    levels: tuple[int, ...] = ()

    def level_shapes(self, reference: tuple[int, int]) -> list[tuple[int, int]]:
        """(width, height) of each smaller copy, for a reference image of that size."""
        return [images.size_at(reference, side) for side in self.levels]


def long_sides(settings: Settings) -> tuple[int, ...]:
    """The long side of each scale, coarse to fine; the last is the output size."""
    size = settings.size
    if settings.scales is not None:
        return settings.scales
    if settings.octaves is not None:
        return tuple(sorted({max(1, round(size / 2**k)) for k in range(settings.octaves)}))
    if settings.recipe == "paper":
        return (size,)
    sides = (size,)
    while sides[0] / 2 >= FAST_COARSEST:
        sides = (round(sides[0] / 2), *sides)
    return sides


def iterations(settings: Settings, count: int) -> tuple[int, ...]:
    """Iterations at each of `count` scales, the last at the output size."""
    if settings.iterations is not None:
        return (settings.iterations,) * count
    if settings.recipe == "paper":
        return (PAPER_ITERATIONS,) * count
    if count == 1:  # one small scale, all from the start image
        return (FAST_MOST_ITERATIONS,)
    if count == 2:
        return FAST_TWO_SCALE_ITERATIONS
    # counted back from the output size
    return tuple(min(FAST_MOST_ITERATIONS, FAST_FINAL_ITERATIONS * 2**k) for k in range(count))[::-1]


def schedule(settings: Settings, reference: tuple[int, int]) -> tuple[Scale, ...]:
    """The scales of a run whose output has the aspect ratio of `reference` (width, height)."""
    sides = long_sides(settings)
    counts = iterations(settings, len(sides))
    scales = []
    for side, count in zip(sides, counts, strict=True):
        width, height = images.size_at(reference, side)
        levels = tuple(pyramid.levels(side)) if settings.recipe == "fast" else ()
        scales.append(Scale(side, width, height, count, levels))
    return tuple(scales)


def lbfgs_pairs(settings: Settings) -> int:
    """L-BFGS's curvature pairs (Adam keeps two image-sized moments: count them as one)."""
    if settings.optimizer == "adam":
        return 1
    return FAST_LBFGS_PAIRS if settings.recipe == "fast" else PAPER_LBFGS_PAIRS
