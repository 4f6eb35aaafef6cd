"""The one place that puts VGG19 together: weights, normalisation, pooling and precision.

The painter (painter.py) builds its networks here; `paper_network()` is the network of the
paper's yardstick (quality.py) that bench/, scripts/ and the tests score results with.
"""

from __future__ import annotations

import torch

from . import normalization, weights
from .vgg import VGG19, Pooling, Precision


def build(source: weights.WeightsSource, parameters: weights.Parameters, pooling: Pooling = "avg",
          normalize: bool = True, precision: Precision = "float32") -> VGG19:  # fmt: skip
    """VGG19 from loaded weights: the paper's normalised network unless `normalize` is False."""
    factors = normalization.factors_for(source, parameters) if normalize else None
    return VGG19(parameters, source.convention, pooling, "conv5_4", factors, precision)


def paper_network(device: torch.device | str = "cpu") -> VGG19:
    """The paper's network in float32: the default weights, normalised, average pooling."""
    source = weights.resolve()
    return build(source, weights.load(source)).to(device)
