"""Optical flow between video frames, where it can be trusted, and warping by it.

A flow from frame A to frame B is an (H, W, 2) float32 array of (dx, dy) per pixel of A, such
that A(x) ≈ B(x + flow(x)). It is computed with OpenCV's DIS (dense inverse search), which
needs no learned weights; a learned flow (FlowNet, RAFT) would need weights that cannot be
downloaded here.

`reliability` is the consistency check of Ruder, Dosovitskiy & Brox ("Artistic style transfer
for videos", 2016; their consistencyChecker): a pixel of A is trusted, weight 1, unless
- following the flow to B and B's flow back does not return to it (disocclusion):
  |w + ŵ|² ≥ 0.01 (|w|² + |ŵ|²) + 0.5, with w the flow at x and ŵ the backward flow at x + w;
- it lies on a motion boundary: |∇u|² + |∇v|² > 0.01 |w|² + 0.002;
- x + w leaves the frame;
and the weights are then smoothed by a Gaussian of σ = 0.8 px, as theirs are.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
SMOOTHING = 0.8  # σ, px, of the Gaussian over the reliability weights


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"))


def flow(a: Image.Image, b: Image.Image) -> np.ndarray:
    """The flow from `a` to `b` (same size), (H, W, 2) float32: a(x) ≈ b(x + flow(x))."""
    dis = cv2.DISOpticalFlow_create(DIS_PRESET)
    return dis.calc(grey(a), grey(b), None)


def _coordinates(field: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x + field(x) as OpenCV's remap maps."""
    height, width = field.shape[:2]
    columns, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return columns + field[..., 0], rows + field[..., 1]


def warp(image: np.ndarray, field: np.ndarray, fill: float | tuple[float, ...] = 0.0,
         sharp: bool = False) -> np.ndarray:  # fmt: skip
    """`image` (H, W[, C]) float32 sampled at x + field(x): b warped into a's frame by the flow
    from a to b. Points outside `image` take `fill`. Bilinear, or Lanczos (8 x 8) if `sharp`:
    a painted frame is warped again at every frame, and bilinear sampling at fractional
    shifts blurs it a little more each time (one warp of a pan and zoom took a third of its
    fine detail, bicubic a seventh, Lanczos a twelfth)."""
    map_x, map_y = _coordinates(field)
    channels = 1 if image.ndim == 2 else image.shape[2]
    border = fill if isinstance(fill, tuple) else (fill,) * channels
    interpolation = cv2.INTER_LANCZOS4 if sharp else cv2.INTER_LINEAR
    return cv2.remap(image.astype(np.float32), map_x, map_y, interpolation,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=border)  # fmt: skip


def inside(field: np.ndarray) -> np.ndarray:
    """Whether x + field(x) lies within the frame, (H, W) bool."""
    height, width = field.shape[:2]
    map_x, map_y = _coordinates(field)
    return (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)


def reliability(there: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Weights in [0, 1] (H, W) of the pixels of A whose flow `there` (A to B) is trusted,
    checked against `back` (B to A); see the module's description."""
    returned = warp(back, there)  # ŵ: B's flow back, at x + w
    motion = np.sum(there**2, axis=2)
    disagreement = np.sum((there + returned) ** 2, axis=2)
    disoccluded = disagreement >= 0.01 * (motion + np.sum(returned**2, axis=2)) + 0.5
    du_dy, du_dx = np.gradient(there[..., 0])
    dv_dy, dv_dx = np.gradient(there[..., 1])
    boundary = du_dx**2 + du_dy**2 + dv_dx**2 + dv_dy**2 > 0.01 * motion + 0.002
    weights = (~disoccluded & ~boundary & inside(there)).astype(np.float32)
    return cv2.GaussianBlur(weights, (0, 0), SMOOTHING)


def closest_first(weights: list[np.ndarray]) -> list[np.ndarray]:
    """Long-term weights: `weights` of earlier frames, the closest first, each reduced by the
    weights already given to closer frames, so that a pixel is held to the nearest earlier
    frame in which it was visible. Ruder et al. subtract the closer frames' own weights; this
    subtracts what was given, which is the same for weights of 0 and 1 and never negative
    between (their weights are smoothed too)."""
    given = np.zeros_like(weights[0])
    kept = []
    for weight in weights:
        own = np.maximum(weight - given, 0)
        kept.append(own)
        given = given + own
    return kept
