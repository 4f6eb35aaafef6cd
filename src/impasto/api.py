"""The Python API, and the one home of every default: the command line is built from these signatures.

    import impasto
    painting = impasto.transfer("photo.jpg", "starry_night.jpg", size=256, iterations=200)
    painting.save("out.png")

`transfer` is the paper's style transfer; `reconstruct_content` and `synthesize_texture` are
its Figure 1: an image made from one layer's content representation, or from the style
representation alone. Each starts from white noise, optimises the pixels, and returns the
best image evaluated as a PIL image. `callback`, if given, receives an `Iterate` (iteration
number, losses, elapsed time, current image) after every iteration. Ctrl-C raises
`Interrupted`, a KeyboardInterrupt whose `result.image` is the best image so far.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from PIL import Image

from . import images, normalization, weights
from .errors import ImpastoError
from .losses import PerceptualLoss
from .optimize import Iterate, Optimizer, optimize
from .vgg import VGG19, Pooling, check_layers, deepest

DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
INITS = ("noise", "content", "style")
DEVICES = ("auto", "cpu", "cuda", "mps")

Callback = Callable[[Iterate], None]
PathOrImage = images.ImageInput


def transfer(
    content: PathOrImage,
    style: PathOrImage,
    *,
    size: int = 512,
    iterations: int = 500,
    ratio: float = 1e-3,
    content_weight: float | None = None,
    style_weight: float | None = None,
    content_layers: Sequence[str] = ("conv4_2",),
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
    style_layer_weights: Sequence[float] | None = None,
    style_scale: float = 1.0,
    init: str = "noise",
    seed: int | None = None,
    optimizer: Optimizer = "lbfgs",
    pooling: Pooling = "avg",
    normalize: bool = True,
    device: str = "auto",
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
) -> Image.Image:
    """`content` painted in the style of `style` (Gatys et al. 2016).

    size: long side of the output in pixels; the painting is rescaled to the same long side,
        times `style_scale`, before its style representation is taken.
    iterations: evaluations of the loss and its gradient (forward + backward), for either
        optimizer.
    ratio: α/β, the weight of content relative to style; `content_weight` (α) and
        `style_weight` (β) set them directly instead.
    style_layer_weights: w_l for each of `style_layers`; default 1/len(style_layers) each.
    init: "noise" (the paper's white noise), "content", "style", or the path of an image.
    seed: makes a run repeatable bit for bit on the same machine; None draws one.
    normalize: use the paper's normalised network (each filter's mean response 1).
    weights: a VGG19 weights file (Keras .h5 or torchvision .pth); default as `impasto
        weights info` says.
    """
    alpha, beta = _loss_weights(ratio, content_weight, style_weight)
    style_layer_weights = _style_layer_weights(style_layers, style_layer_weights)
    _check_positive(style_scale=style_scale)
    problem = _Problem(
        size=size, iterations=iterations, init=init, seed=seed, optimizer=optimizer,
        pooling=pooling, normalize=normalize, device=device, weights=weights,
        content_layers=tuple(content_layers), style_layers=tuple(style_layers),
    )  # fmt: skip
    content_image = images.read_image(content)
    style_image = images.read_image(style)
    return problem.solve(content_image, style_image, style_scale, alpha, beta, style_layer_weights, callback)


def reconstruct_content(
    content: PathOrImage,
    *,
    layer: str = "conv4_2",
    size: int = 512,
    iterations: int = 500,
    init: str = "noise",
    seed: int | None = None,
    optimizer: Optimizer = "lbfgs",
    pooling: Pooling = "avg",
    normalize: bool = True,
    device: str = "auto",
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
) -> Image.Image:
    """An image whose responses at `layer` match the photograph's (Figure 1, content row)."""
    problem = _Problem(
        size=size, iterations=iterations, init=init, seed=seed, optimizer=optimizer,
        pooling=pooling, normalize=normalize, device=device, weights=weights,
        content_layers=(layer,), style_layers=(),
    )  # fmt: skip
    return problem.solve(images.read_image(content), None, 1.0, 1.0, 0.0, {}, callback)


def synthesize_texture(
    style: PathOrImage,
    *,
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
    style_layer_weights: Sequence[float] | None = None,
    size: int = 512,
    iterations: int = 500,
    init: str = "noise",
    seed: int | None = None,
    optimizer: Optimizer = "lbfgs",
    pooling: Pooling = "avg",
    normalize: bool = True,
    device: str = "auto",
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
) -> Image.Image:
    """An image with the painting's style representation alone (Figure 1, style row)."""
    style_layer_weights = _style_layer_weights(style_layers, style_layer_weights)
    problem = _Problem(
        size=size, iterations=iterations, init=init, seed=seed, optimizer=optimizer,
        pooling=pooling, normalize=normalize, device=device, weights=weights,
        content_layers=(), style_layers=tuple(style_layers),
    )  # fmt: skip
    return problem.solve(None, images.read_image(style), 1.0, 0.0, 1.0, style_layer_weights, callback)


def resolve_device(name: str) -> torch.device:
    if name not in DEVICES:
        raise ImpastoError(f"device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available[name]:
        raise ImpastoError(f"device {name!r} is not available on this machine; use --device cpu")
    return torch.device(name)


@dataclass(frozen=True)
class _Problem:
    """What every kind of run shares: the network, the starting image, the loop."""

    size: int
    iterations: int
    init: str
    seed: int | None
    optimizer: str
    pooling: str
    normalize: bool
    device: str
    weights: str | os.PathLike[str] | None
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]

    def __post_init__(self) -> None:
        _check_whole(size=self.size, iterations=self.iterations)
        if self.optimizer not in ("lbfgs", "adam"):
            raise ImpastoError(f"optimizer must be lbfgs or adam, not {self.optimizer!r}")
        if self.pooling not in ("avg", "max"):
            raise ImpastoError(f"pooling must be avg or max, not {self.pooling!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise ImpastoError(f"seed must be a whole number, not {self.seed!r}")
        try:
            check_layers(self.content_layers + self.style_layers)
        except ValueError as error:
            raise ImpastoError(str(error)) from None

    def network(self, device: torch.device) -> VGG19:
        source = weights.resolve(self.weights)
        parameters = weights.load(source)
        scales = normalization.scales_for(source, parameters) if self.normalize else None
        last = deepest(self.content_layers + self.style_layers)
        network = VGG19(parameters, source.convention, self.pooling, last, scales)
        return network.to(device)

    def solve(
        self,
        content: Image.Image | None,
        style: Image.Image | None,
        style_scale: float,
        content_weight: float,
        style_weight: float,
        style_layer_weights: dict[str, float],
        callback: Callback | None,
    ) -> Image.Image:
        device = resolve_device(self.device)
        reference = content if content is not None else style
        assert reference is not None
        reference = images.resize_long_side(reference, self.size)
        start = self._start(reference.size, content, style)  # before the slow part: fail early
        network = self.network(device)
        with torch.no_grad():
            content_targets = {}
            if content is not None:
                content_targets = network(images.to_tensor(reference, device), self.content_layers)
            style_targets = {}
            if style is not None:
                painting = images.resize_long_side(style, max(1, round(self.size * style_scale)))
                features = network(images.to_tensor(painting, device), self.style_layers)
                style_targets = PerceptualLoss.gram_targets(features)
        loss = PerceptualLoss(
            content_targets, style_targets, content_weight, style_weight, style_layer_weights
        )
        layers = loss.layers
        result = optimize(
            start.to(device),
            lambda image: loss(network(image, layers)),
            self.iterations,
            self.optimizer,  # type: ignore[arg-type]
            callback,
        )
        return images.to_pil(result.image)

    def _start(
        self, size: tuple[int, int], content: Image.Image | None, style: Image.Image | None
    ) -> torch.Tensor:
        """The starting image: white noise from the seed, the content, the style, or a file."""
        if self.init == "noise":
            seed = self.seed if self.seed is not None else random.randrange(2**32)
            generator = torch.Generator().manual_seed(seed)
            return torch.rand((1, 3, size[1], size[0]), generator=generator)
        if self.init in INITS:
            chosen = content if self.init == "content" else style
            if chosen is None:
                raise ImpastoError(
                    f"init {self.init!r} needs a {self.init} image, which this run has none of"
                )
        else:
            chosen = images.read_image(self.init)
        return images.to_tensor(chosen.resize(size, Image.Resampling.LANCZOS))


def _check_whole(**values: object) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ImpastoError(f"{name} must be a positive whole number, not {value!r}")


def _check_positive(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not (isinstance(value, int | float) and value > 0 and value < float("inf")):
            raise ImpastoError(f"{name} must be a positive number, not {value!r}")


def _loss_weights(ratio: float, alpha: float | None, beta: float | None) -> tuple[float, float]:
    """(α, β) from the ratio α/β, or from either weight given directly."""
    _check_positive(ratio=ratio)
    for name, value in (("content_weight", alpha), ("style_weight", beta)):
        if value is not None and not (isinstance(value, int | float) and 0 <= value < float("inf")):
            raise ImpastoError(f"{name} must be a number of 0 or more, not {value!r}")
    if alpha is None and beta is None:
        return ratio, 1.0
    if beta is None:
        return alpha, alpha / ratio
    if alpha is None:
        return ratio * beta, beta
    return alpha, beta


def _style_layer_weights(layers: Sequence[str], given: Sequence[float] | None) -> dict[str, float]:
    """w_l per style layer: 1/L each by default (the paper's 1/5 for five layers)."""
    layers = tuple(layers)
    if not layers:
        raise ImpastoError("style layers must name at least one layer")
    if given is None:
        return {name: 1 / len(layers) for name in layers}
    given = tuple(given)
    if len(given) != len(layers):
        raise ImpastoError(
            f"{len(given)} style layer weights for {len(layers)} style layers; give one per layer"
        )
    for value in given:
        if not (isinstance(value, int | float) and 0 <= value < float("inf")):
            raise ImpastoError(f"style layer weights must be numbers of 0 or more, not {value!r}")
    return dict(zip(layers, given, strict=True))
