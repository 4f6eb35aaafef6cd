"""The paper's normalisation of VGG19: every filter's mean response over photographs is 1.

The per-filter factors are each filter's mean response, over the positions of each photograph
and then over the photographs, of the calibration set in data/calibration/ (credits beside
it). For the Caffe VGG19 (the default weights, 8-bit or full precision) they are committed in
data/vgg19_normalization.npz, made by scripts/calibrate_normalization.py; for other weights
(torchvision's) they are computed the same way on first use and kept in the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import weights
from .images import read_image, to_tensor
from .paths import data_path, replacing
from .vgg import CAFFE, CONV_LAYERS, VGG19

FACTORS_FILE = "vgg19_normalization.npz"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def calibration_images() -> list[Path]:
    folder = data_path("calibration")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


@torch.no_grad()
def mean_activations(network: VGG19, images: Iterable[Tensor]) -> dict[str, Tensor]:
    """Each filter's mean response, over positions and then over images."""
    sums: dict[str, Tensor] = {}
    count = 0
    for image in images:
        features = network(image, CONV_LAYERS)
        for name, response in features.items():
            mean = response.mean(dim=(0, 2, 3))
            sums[name] = sums[name] + mean if name in sums else mean
        count += 1
    return {name: total / count for name, total in sums.items()}


def compute_factors(parameters: weights.Parameters, source: weights.WeightsSource) -> dict[str, Tensor]:
    """Factors from the calibration photographs; a filter that never responds keeps factor 1."""
    network = VGG19(parameters, source.convention, last_layer="conv5_4")
    images = (to_tensor(read_image(path)) for path in calibration_images())
    means = mean_activations(network, images)
    return {name: torch.where(mean > 0, mean, torch.ones_like(mean)) for name, mean in means.items()}


def save_factors(factors: dict[str, Tensor], path: Path) -> None:
    """Write atomically, so that an interrupted write never leaves a file that cannot be read."""
    with replacing(path) as temporary, open(temporary, "wb") as file:
        np.savez(file, **{name: factor.numpy().astype(np.float32) for name, factor in factors.items()})


def read_factors(path: Path) -> dict[str, Tensor]:
    with np.load(path) as data:
        return {name: torch.from_numpy(data[name].copy()) for name in CONV_LAYERS}


def factors_for(source: weights.WeightsSource, parameters: weights.Parameters) -> dict[str, Tensor]:
    """The normalisation factors that belong to these weights."""
    if source.convention == CAFFE:
        return read_factors(data_path(FACTORS_FILE))
    cached = weights.cache_dir() / f"normalization-{weights.md5(source.path)}.npz"
    try:
        return read_factors(cached)
    except (OSError, ValueError, KeyError):  # not there yet, or unreadable: compute them again
        pass
    factors = compute_factors(parameters, source)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        save_factors(factors, cached)
    except OSError:  # a cache that cannot be written only costs the computation next time
        pass
    return factors
