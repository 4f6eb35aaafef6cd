"""Colour control (Gatys et al., "Controlling Perceptual Factors in Neural Style Transfer", 2017).

Two ways to keep the photograph's colours:
- luminance only: style is transferred between luminance channels (YIQ's Y), the style's
  luminance first matched to the content's mean and standard deviation; the optimised
  luminance is then put together with the photograph's colour channels (I and Q);
- colour histogram matching: before the transfer, a linear map gives the painting's pixels the
  mean and covariance of the photograph's; the map is the Cholesky, PCA or symmetric square root.
Tensors are (1, 3, H, W) RGB in [0, 1] unless named otherwise.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

ColorMatch = Literal["cholesky", "pca", "symmetric"]

# NTSC YIQ from RGB; the rows are Y (luminance), I and Q (chrominance).
RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114],
     [0.595716, -0.274453, -0.321263],
     [0.211456, -0.522591, 0.311135]]
)  # fmt: skip
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def _apply(matrix: Tensor, image: Tensor) -> Tensor:
    return torch.einsum("ij,bjhw->bihw", matrix.to(image), image)


def rgb_to_yiq(image: Tensor) -> Tensor:
    return _apply(RGB_TO_YIQ, image)


def yiq_to_rgb(image: Tensor) -> Tensor:
    return _apply(YIQ_TO_RGB, image)


def luminance(image: Tensor) -> Tensor:
    """Y, shape (1, 1, H, W)."""
    return rgb_to_yiq(image)[:, :1]


def chrominance(image: Tensor) -> Tensor:
    """I and Q, shape (1, 2, H, W): the colour, without the light and dark."""
    return rgb_to_yiq(image)[:, 1:]


def match_luminance(style: Tensor, content: Tensor) -> Tensor:
    """The style's luminance with the content luminance's mean and standard deviation."""
    style_y, content_y = luminance(style), luminance(content)
    scale = content_y.std() / style_y.std().clamp_min(1e-8)
    return (style_y - style_y.mean()) * scale + content_y.mean()


def grey_to_rgb(y: Tensor) -> Tensor:
    """A luminance image as the grey RGB image the network sees."""
    return y.expand(-1, 3, -1, -1)


def with_colors_of(y: Tensor, content: Tensor) -> Tensor:
    """Luminance `y` combined with the I and Q channels of `content` (of the same size)."""
    return yiq_to_rgb(torch.cat([y, rgb_to_yiq(content)[:, 1:]], dim=1))


def _sqrt(matrix: Tensor) -> Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return vectors @ torch.diag(values.clamp_min(0).sqrt()) @ vectors.T


def match_colors(style: Tensor, content: Tensor, method: ColorMatch = "cholesky") -> Tensor:
    """`style` under the linear map that gives its pixels the mean and covariance of `content`'s.

    With Σ_s and Σ_c the two covariances, the map A satisfies A Σ_s Aᵀ = Σ_c:
    cholesky: A = L_c L_s⁻¹ (L the Cholesky factors); pca: A = Σ_c^½ Σ_s^-½ (symmetric
    square roots, i.e. through the eigenvectors); symmetric: the one map that is itself
    symmetric, Σ_s^-½ (Σ_s^½ Σ_c Σ_s^½)^½ Σ_s^-½, which moves the colours least.
    """
    pixels_s = style.reshape(3, -1).double()
    pixels_c = content.reshape(3, -1).double()
    mean_s, mean_c = pixels_s.mean(1, keepdim=True), pixels_c.mean(1, keepdim=True)
    eye = torch.eye(3, dtype=torch.float64) * 1e-5  # keeps flat images invertible
    cov_s = torch.cov(pixels_s, correction=0) + eye
    cov_c = torch.cov(pixels_c, correction=0) + eye
    if method == "cholesky":
        transform = torch.linalg.cholesky(cov_c) @ torch.linalg.inv(torch.linalg.cholesky(cov_s))
    elif method == "pca":
        transform = _sqrt(cov_c) @ torch.linalg.inv(_sqrt(cov_s))
    elif method == "symmetric":
        root_s = _sqrt(cov_s)
        inverse_root_s = torch.linalg.inv(root_s)
        transform = inverse_root_s @ _sqrt(root_s @ cov_c @ root_s) @ inverse_root_s
    else:
        raise ValueError(f"colour matching must be cholesky, pca or symmetric, not {method!r}")
    matched = transform @ (pixels_s - mean_s) + mean_c
    return matched.reshape(style.shape).clamp(0, 1).to(style.dtype)
