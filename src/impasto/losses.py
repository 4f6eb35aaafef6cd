"""The paper's losses (Gatys, Ecker & Bethge, CVPR 2016, equations 1-7).

Notation as in the paper: layer l has N_l filters, each a feature map of M_l positions;
F^l (N_l x M_l) are the generated image's responses, P^l the photograph's, A^l the
painting's Gram matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import Tensor


def flatten(features: Tensor) -> Tensor:
    """(1, N, H, W) responses -> the N x M matrix F^l."""
    return features.reshape(features.shape[-3], -1)


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


def content_gradient(features: Tensor, target: Tensor) -> Tensor:
    """∂L_content/∂F^l = F^l − P^l where F^l > 0, else 0 (equation 2)."""
    return (features - target) * (features > 0)


def style_layer_gradient(features: Tensor, target_gram: Tensor) -> Tensor:
    """∂E_l/∂F^l = ((F^l)ᵀ (G^l − A^l))ᵀ / (N_l² M_l²) where F^l > 0, else 0 (equation 6)."""
    matrix = flatten(features)
    n, m = matrix.shape
    gradient = (matrix.T @ (matrix @ matrix.T - target_gram)).T / (n**2 * m**2)
    return gradient.reshape(features.shape) * (features > 0)


@dataclass(frozen=True)
class LossTerms:
    total: Tensor
    content: Tensor  # Σ L_content^l / M_l, unweighted
    style: Tensor  # L_style = Σ w_l E_l, without β


class PerceptualLoss:
    """α L_content / M + β L_style (equation 7), with L_style = Σ w_l E_l (equation 5).

    The content loss enters per position, L_content^l / M_l. As written, equation 1 sums over
    the M_l positions while E_l is divided by M_l², so the balance that a given α/β strikes
    would shift fourfold each time the image doubled in size; on the normalised network the
    paper's own ratios (1e-3 and its neighbours) then give results far nearer the photograph
    than its figures. Per position, both terms are size-free and the paper's ratios give the
    paper's balance (docs/REPRODUCTION.md shows the measurements).

    Style targets are kept as Gram matrices per position (A^l / M_l of the painting) and scaled
    by the generated image's M_l when used: for images of equal size this is exactly the
    paper's A^l, and it keeps the targets meaningful when the painting's size differs.
    """

    def __init__(
        self,
        content_targets: Mapping[str, Tensor],
        style_targets: Mapping[str, Tensor],
        content_weight: float,
        style_weight: float,
        style_layer_weights: Mapping[str, float],
    ) -> None:
        self.content_targets = dict(content_targets)
        self.style_targets = dict(style_targets)
        self.content_weight = content_weight
        self.style_weight = style_weight
        self.style_layer_weights = dict(style_layer_weights)

    @staticmethod
    def gram_targets(features: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """A^l / M_l for each layer of the painting's responses."""
        return {name: gram_matrix(f) / flatten(f).shape[1] for name, f in features.items()}

    @property
    def layers(self) -> set[str]:
        return set(self.content_targets) | set(self.style_targets)

    def __call__(self, features: Mapping[str, Tensor]) -> LossTerms:
        zero = next(iter(features.values())).new_zeros(())
        content = sum(
            (
                content_loss(features[name], target) / flatten(target).shape[1]
                for name, target in self.content_targets.items()
            ),
            zero,
        )
        style = sum(
            (
                self.style_layer_weights[name]
                * style_layer_loss(features[name], target * flatten(features[name]).shape[1])
                for name, target in self.style_targets.items()
            ),
            zero,
        )
        total = self.content_weight * content + self.style_weight * style
        return LossTerms(total=total, content=content, style=style)
