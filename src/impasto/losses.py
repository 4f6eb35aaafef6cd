"""The paper's losses (Gatys, Ecker & Bethge, CVPR 2016, equations 1-7).

Notation as in the paper: layer l has N_l filters, each a feature map of M_l positions;
F^l (N_l x M_l) are the generated image's responses, P^l the photograph's, A^l the
painting's Gram matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from .color import chrominance, luminance


def flatten(features: Tensor) -> Tensor:
    """(1, N, H, W) responses -> the N x M matrix F^l."""
    return features.reshape(features.shape[-3], features.shape[-2] * features.shape[-1])


def gram_matrix(features: Tensor) -> Tensor:
    """G^l = F^l F^lᵀ (equation 3)."""
    matrix = flatten(features)
    return matrix @ matrix.T


def content_loss(features: Tensor, target: Tensor) -> Tensor:
    """L_content = ½ Σ (F^l − P^l)² (equation 1)."""
    return 0.5 * (features - target).pow(2).sum()


def style_layer_loss(features: Tensor, target_gram: Tensor) -> Tensor:
    """E_l = Σ (G^l − A^l)² / (4 N_l² M_l²) (equation 4)."""
    n, m = flatten(features).shape
    return (gram_matrix(features) - target_gram).pow(2).sum() / (4 * n**2 * m**2)


# The paper's closed-form gradients (equations 2 and 6). No run calls them: autograd computes
# the same through the network, and the tests check that it does, so that the gradient a run
# follows is shown to be the paper's.


def content_gradient(features: Tensor, target: Tensor) -> Tensor:
    """∂L_content/∂F^l = F^l − P^l where F^l > 0, else 0 (equation 2)."""
    return (features - target) * (features > 0)


def style_layer_gradient(features: Tensor, target_gram: Tensor) -> Tensor:
    """∂E_l/∂F^l = ((F^l)ᵀ (G^l − A^l))ᵀ / (N_l² M_l²) where F^l > 0, else 0 (equation 6)."""
    matrix = flatten(features)
    n, m = matrix.shape
    gradient = (matrix.T @ (matrix @ matrix.T - target_gram)).T / (n**2 * m**2)
    return gradient.reshape(features.shape) * (features > 0)


def gram_sums(features: Tensor, region_maps: Tensor | None = None) -> Tensor:
    """Per region r, Σ over positions of (F ∘ m_r)(F ∘ m_r)ᵀ, shape (R, N, N); without maps,
    the one region of the whole image: G^l, shape (1, N, N).

    Sums, so that the parts of an image (tiles) add up to the whole image's.
    """
    if region_maps is None:
        return gram_matrix(features).unsqueeze(0)
    matrix = flatten(features)
    weights = region_maps.reshape(region_maps.shape[0], 1, matrix.shape[1]).to(matrix)
    weighted = matrix.unsqueeze(0) * weights
    return weighted @ weighted.transpose(1, 2)


def region_sizes(region_maps: Tensor | None, positions: int) -> Tensor:
    """What `gram_sums` are divided by for Gram matrices per position: Σ m_r² per region
    (R, 1, 1), or the M_l positions of the one region."""
    if region_maps is None:
        return torch.full((1, 1, 1), float(positions))
    return (region_maps**2).sum(dim=(1, 2)).clamp_min(1e-8).view(-1, 1, 1)


def guided_gram(features: Tensor, region_maps: Tensor | None) -> Tensor:
    """Per region r, the Gram matrix of the responses weighted by the region's map, per position.

    (Gatys et al. 2017, spatial control.) `region_maps` is (R, h, w) at the layer's resolution;
    the result is (R, N, N): (F ∘ m_r)(F ∘ m_r)ᵀ / Σ m_r². Without maps (one region, the whole
    image) this is G^l / M_l, shape (1, N, N).
    """
    positions = flatten(features).shape[1]
    return gram_sums(features, region_maps) / region_sizes(region_maps, positions).to(features)


@dataclass(frozen=True)
class Temporal:
    """The temporal loss of Ruder, Dosovitskiy & Brox (2016) for one video frame: earlier
    stylised frames warped to this one by the optical flow (`frames`, (1, 3, H, W) each) and
    the weight of each of their pixels (`weights`, (1, 1, H, W), 0 where the flow cannot be
    trusted). L_temporal = `weight` × Σ_j (1/D) Σ_k c_jk (x_k − ω_jk)², D = H·W·C."""

    frames: tuple[Tensor, ...]
    weights: tuple[Tensor, ...]
    weight: float

    def at(self, height: int, width: int) -> Temporal:
        """The same at another size (the frames and weights resized by area)."""
        if tuple(self.frames[0].shape[-2:]) == (height, width):
            return self
        resize = lambda t: F.interpolate(t, size=(height, width), mode="area")  # noqa: E731
        return Temporal(tuple(map(resize, self.frames)), tuple(map(resize, self.weights)), self.weight)

    def __call__(self, image: Tensor) -> Tensor:
        loss = image.new_zeros(())
        for frame, weights in zip(self.frames, self.weights, strict=True):
            target = frame.to(image) if image.shape[1] == frame.shape[1] else luminance(frame.to(image))
            loss = loss + (weights.to(image) * (image - target) ** 2).mean()
        return self.weight * loss


def total_variation(image: Tensor) -> Tensor:
    """Mean squared difference between neighbouring pixels: a smoothness prior, size-free."""
    across = (image[..., :, 1:] - image[..., :, :-1]).pow(2).mean()
    down = (image[..., 1:, :] - image[..., :-1, :]).pow(2).mean()
    return across + down


@dataclass(frozen=True)
class LossTerms:
    total: Tensor
    content: Tensor  # Σ L_content^l / M_l, unweighted
    style: Tensor  # L_style = Σ w_l E_l, without β

    def detach(self) -> LossTerms:
        return LossTerms(self.total.detach(), self.content.detach(), self.style.detach())

    def __add__(self, other: LossTerms) -> LossTerms:
        return LossTerms(self.total + other.total, self.content + other.content, self.style + other.style)


@dataclass(frozen=True)
class Evaluation:
    """What every objective returns (objective.py): the loss terms at an image, and the
    gradient of the total with respect to the image's pixels."""

    terms: LossTerms
    gradient: Tensor


Objective = Callable[[Tensor], Evaluation]  # pixels -> the loss there and its gradient


class PerceptualLoss:
    """α L_content / M + β L_style (equation 7), with L_style = Σ w_l E_l (equation 5).

    The content loss enters per position, L_content^l / M_l. As written, equation 1 sums over
    the M_l positions while E_l is divided by M_l², so the balance that a given α/β strikes
    would shift fourfold each time the image doubled in size; on the normalised network the
    paper's own ratios (1e-3 and its neighbours) then give results far nearer the photograph
    than its figures. Per position, both terms are size-free and the paper's ratios give the
    paper's balance (docs/REPRODUCTION.md shows the measurements).

    Style targets are Gram matrices per position, (R, N, N) for R regions of the output:
    E_l = Σ_r share_r Σ (Ĝ_r − Â_r)² / (4 N²) with Ĝ_r the guided Gram matrix of region r and
    share_r its part of the picture. With a single region (no masks) that is exactly the paper's
    E_l when the painting and the output have the same size, and it stays meaningful when they
    do not. `regions` are the output's (R, H, W) region maps, `tv_weight` weighs a total
    variation term on the image and `color_tv_weight` one on its colour channels alone (YIQ's
    I and Q; see start.py for why the fast recipe uses it), and `temporal` adds a video
    frame's temporal loss (video.py).
    """

    def __init__(
        self,
        content_targets: Mapping[str, Tensor],
        style_targets: Mapping[str, Tensor],
        content_weight: float,
        style_weight: float,
        style_layer_weights: Mapping[str, float],
        regions: Tensor | None = None,
        tv_weight: float = 0.0,
        color_tv_weight: float = 0.0,
        temporal: Temporal | None = None,
    ) -> None:
        self.content_targets = dict(content_targets)
        self.style_targets = dict(style_targets)
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.style_layer_weights = dict(style_layer_weights)
        self.regions = regions
        self.shares = None if regions is None else regions.mean(dim=(1, 2))
        self.tv_weight = tv_weight
        self.color_tv_weight = color_tv_weight
        self.temporal = temporal
        self._maps: dict[tuple[int, int], Tensor] = {}  # region maps per layer resolution

    @staticmethod
    def gram_targets(features: Mapping[str, Tensor], regions: Tensor | None = None) -> dict[str, Tensor]:
        """Per-position Gram matrices (R, N, N) of a painting's responses, one per region of
        `regions` (R, H, W) at the painting's resolution, or of the whole painting."""
        return {
            name: guided_gram(f, maps_at(regions, tuple(f.shape[-2:])).to(f) if regions is not None else None)
            for name, f in features.items()
        }

    @property
    def layers(self) -> set[str]:
        return set(self.content_targets) | set(self.style_targets)

    def maps_at(self, shape: tuple[int, int]) -> Tensor | None:
        """The output's region maps at a layer's resolution (None without regions)."""
        if self.regions is not None and shape not in self._maps:
            self._maps[shape] = maps_at(self.regions, shape)
        return self._maps.get(shape)

    def content_term(self, features: Tensor, target: Tensor, positions: int) -> Tensor:
        """L_content^l / M_l, for all of a layer's positions or a part of them (a tile)."""
        return content_loss(features, target) / positions

    def style_from_grams(self, grams: Mapping[str, Tensor]) -> Tensor:
        """L_style = Σ w_l E_l from the output's per-position Gram matrices (R, N, N) per layer."""
        style = next(iter(grams.values())).new_zeros(())
        for name, gram in grams.items():
            per_region = (gram - self.style_targets[name]).pow(2).sum(dim=(1, 2)) / (4 * gram.shape[-1] ** 2)
            if self.shares is not None:
                per_region = self.shares.to(per_region) * per_region
            style = style + self.style_layer_weights[name] * per_region.sum()
        return style

    def __call__(self, features: Mapping[str, Tensor], image: Tensor | None = None) -> LossTerms:
        zero = next(iter(features.values())).new_zeros(())
        content = sum(
            (
                self.content_term(features[name], target, flatten(target).shape[1])
                for name, target in self.content_targets.items()
            ),
            zero,
        )
        grams = {
            name: guided_gram(features[name], self.maps_at(tuple(features[name].shape[-2:])))
            for name in self.style_targets
        }
        style = self.style_from_grams(grams) if grams else zero
        return self.combine(content, style, image)

    def combine(self, content: Tensor, style: Tensor, image: Tensor | None) -> LossTerms:
        """α L_content + β L_style (+ the total variation and temporal terms on `image`)."""
        total = self.content_weight * content + self.style_weight * style
        if self.tv_weight and image is not None:
            total = total + self.tv_weight * total_variation(image)
        if self.color_tv_weight and image is not None and image.shape[1] == 3:
            total = total + self.color_tv_weight * total_variation(chrominance(image))
        if self.temporal is not None and image is not None:
            total = total + self.temporal(image)
        return LossTerms(total=total, content=content, style=style)


def maps_at(regions: Tensor, shape: tuple[int, int]) -> Tensor:
    """Region maps (R, H, W) at a layer's resolution: each position's share of each region."""
    return F.adaptive_avg_pool2d(regions.unsqueeze(0), shape).squeeze(0)
