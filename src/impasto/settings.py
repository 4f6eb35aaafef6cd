"""Every option of a run, with its default and its check, in one place.

    settings = impasto.Settings(size=1024, ratio=5e-4)
    painter.paint("photo.jpg", "painting.jpg", settings)

`Settings` is a frozen dataclass: one field per option, validated once when it is made. A bad
value raises `SettingError` (an `ImpastoError`) naming the field ("ratio must be a positive
number, not -1"); the command line says the same with its flag. Each field's metadata (help,
choices, how to read it from text, which inputs it needs) builds the command line (cli.py),
so the command and the API take exactly the same options.

Where a default depends on the recipe (`iterations`, `noise`, `color_tv_weight`) the field is
None and the recipe's value is a property (`scale_iterations`, `noise_kind`, ...).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image

from .errors import ImpastoError, SettingError
from .images import ImageInput
from .masks import parse_color
from .memory import parse_size
from .vgg import LAYERS

Recipe = Literal["fast", "paper"]
Noise = Literal["white", "luminance"]  # the start's noise (start.py)
NOISES: tuple[Noise, ...] = ("white", "luminance")
RECIPES: tuple[Recipe, ...] = ("fast", "paper")
SIZE = 512  # long side of the output, pixels: the size of the paper's figures
PAPER_ITERATIONS = 500  # the paper recipe's loss-and-gradient evaluations (per scale)
RATIO = 1e-3  # α/β: content weight α = 1e-3 against style weight β = 1
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
PRESERVE_COLORS = ("luminance", "histogram")
COLOR_MATCHES = ("cholesky", "pca", "symmetric")
INITS = ("noise", "content", "style")
OPTIMIZERS = ("lbfgs", "adam")
POOLINGS = ("avg", "max")
# Clean pictures (start.py): the fast recipe seeds fine detail in luminance only and smooths
# colour alone; the paper recipe keeps the paper's white noise and loss.
RECIPE_NOISE: dict[str, Noise] = {"fast": "luminance", "paper": "white"}
RECIPE_COLOR_TV_WEIGHT = {"fast": 0.02, "paper": 0.0}
LARGEST_SEED = 2**63 - 1


def option(
    default: Any,
    help: str,
    *,
    metavar: str | None = None,
    choices: Sequence[str] | None = None,
    parse: Callable[[str], Any] | None = None,
    needs: tuple[str, ...] = (),
    many: bool = False,
) -> Any:
    """A field with what the command line needs to offer it: its help, how to read it from
    text (`parse`; `many`: one argument per value), and the inputs it needs ("content",
    "style"), so that commands without them leave it out."""
    metadata = {"help": help, "metavar": metavar, "choices": choices, "parse": parse, "needs": needs,
                "many": many}  # fmt: skip
    return field(default=default, metadata=metadata)


# Readers of a field's value from text (the command line's); each docstring says what it
# expects, for the message when the text is not that. The values are checked in _validate.


def whole(text: str) -> int:
    """a whole number"""
    return int(text)


def number(text: str) -> float:
    """a number"""
    return float(text)


def wholes(text: str) -> tuple[int, ...]:
    """whole numbers separated by commas"""
    return tuple(int(part) for part in _parts(text))


def numbers(text: str) -> tuple[float, ...]:
    """numbers separated by commas"""
    return tuple(float(part) for part in _parts(text))


def names(text: str) -> tuple[str, ...]:
    """names separated by commas"""
    return tuple(_parts(text))


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dataclass(frozen=True)
class Settings:
    """The options of one run (see each field's help, or `impasto transfer --help`)."""

    size: int = option(
        None,
        "long side of the output in pixels; the painting is rescaled to the same "
        "long side (default: 512, or the last of the scales)",
        metavar="N",
        parse=whole,
    )
    recipe: Recipe = option(
        "fast",
        "fast: coarse to fine from 128 px, most of the time at the output size, "
        "the same look at any size, clean pictures; "
        "paper: the plain method, one size, white noise",
        choices=RECIPES,
    )
    iterations: int | None = option(
        None,
        "evaluations of the loss and its gradient (one forward and "
        "backward pass each) at each scale (default: the recipe's; paper: "
        f"{PAPER_ITERATIONS})",
        metavar="K",
        parse=whole,
    )
    scales: tuple[int, ...] | None = option(
        None,
        "coarse to fine: optimise at each size in turn (the iterations at each); the last is the output size",
        metavar="N,...",
        parse=wholes,
    )
    octaves: int | None = option(
        None,
        "coarse to fine over K sizes, each half the next, ending at the output size",
        metavar="K",
        parse=whole,
    )
    ratio: float | None = option(
        None,
        f"α/β, content weight over style weight (default: {RATIO:g}, that is α = 1e-3, β = 1)",
        metavar="R",
        parse=number,
        needs=("content", "style"),
    )
    content_weight: float | None = option(
        None,
        f"α, instead of the ratio (default: {RATIO:g})",
        metavar="A",
        parse=number,
        needs=("content", "style"),
    )
    style_weight: float | None = option(
        None, "β, instead of the ratio (default: 1)", metavar="B", parse=number, needs=("content", "style")
    )
    content_layers: tuple[str, ...] = option(
        ("conv4_2",), "layers of the content representation", metavar="L,...", parse=names, needs=("content",)
    )
    style_layers: tuple[str, ...] = option(
        DEFAULT_STYLE_LAYERS,
        "layers of the style representation",
        metavar="L,...",
        parse=names,
        needs=("style",),
    )
    style_layer_weights: tuple[float, ...] | None = option(
        None,
        "w_l per style layer (default: equal, summing to 1)",
        metavar="W,...",
        parse=numbers,
        needs=("style",),
    )
    style_scale: float = option(
        1.0,
        "rescale the painting by S after matching the output's size",
        metavar="S",
        parse=number,
        needs=("style",),
    )
    style_blend: tuple[float, ...] | None = option(
        None,
        "with several paintings: how much of each (normalised to sum to 1; default: equal)",
        metavar="W,...",
        parse=numbers,
        needs=("style",),
    )
    preserve_color: str | None = option(
        None,
        "keep the photograph's colours: transfer in luminance "
        "only, or give the paintings the photograph's colour histogram "
        "first",
        choices=PRESERVE_COLORS,
        needs=("content", "style"),
    )
    color_match: str = option(
        "cholesky",
        "the linear colour map of preserve_color histogram",
        choices=COLOR_MATCHES,
        needs=("content", "style"),
    )
    content_mask: ImageInput | None = option(
        None, "regions of the output, as a few flat colours", metavar="MASK", needs=("content", "style")
    )
    style_mask: tuple[ImageInput | str, ...] | None = option(
        None,
        "one per painting: its regions (a mask), or a colour for all of it",
        metavar="MASK|COLOR",
        many=True,
        needs=("content", "style"),
    )
    fine_style: ImageInput | None = option(
        None,
        "take the fine texture (conv1_1, conv2_1) from this painting, the coarse structure from the style",
        metavar="PAINTING",
        needs=("style",),
    )
    tv_weight: float = option(
        0.0, "weight of a total variation (smoothness) term", metavar="T", parse=number
    )
    color_tv_weight: float | None = option(
        None,
        "weight of a total variation term on the colour "
        "channels alone, relative to the painting's: no colour grain, "
        "the strokes' light and dark kept (default: the recipe's; fast "
        f"{RECIPE_COLOR_TV_WEIGHT['fast']:g}, paper 0)",
        metavar="T",
        parse=number,
    )
    init: str | os.PathLike[str] | Image.Image = option(
        "noise",
        "starting image: noise, content, style or the path of an image (from Python, also an image)",
        metavar="noise|content|style|PATH",
    )
    noise: Noise | None = option(
        None,
        "the start's noise: white (the paper's) or luminance (faint coarse "
        "colour noise, fine noise in luminance only, as rough as the painting, at "
        "every scale; default: the recipe's, fast luminance, paper white)",
        choices=NOISES,
    )
    seed: int | None = option(
        None,
        "random seed (default: drawn, and reported); on a CPU, the same seed repeats a run exactly",
        metavar="S",
        parse=whole,
    )
    optimizer: str = option("lbfgs", "optimiser", choices=OPTIMIZERS)
    pooling: str = option("avg", "pooling layers: average (the paper) or max", choices=POOLINGS)
    normalize: bool = option(True, "use the paper's normalised network (each filter's mean response 1)")
    max_memory: str | int | None = option(
        None,
        "memory the run may use, such as 8G; a size that does not "
        "fit whole runs in tiles (default: 90% of the memory available "
        "now)",
        metavar="SIZE",
    )
    tile: int | None = option(None, "optimise in tiles of N px (rounded up to a multiple of 16, plus a "
                               "margin) whatever the memory: the result of the whole image, in less memory "
                               "and more time", metavar="N", parse=whole)  # fmt: skip

    def __post_init__(self) -> None:
        for name in ("scales", "content_layers", "style_layers", "style_layer_weights", "style_blend",
                     "style_mask"):  # fmt: skip
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                if isinstance(value, str | os.PathLike) or not isinstance(value, Sequence):
                    value = (value,)
                object.__setattr__(self, name, tuple(value))
        if self.size is None:  # the last of the scales is the output size
            object.__setattr__(self, "size", self.scales[-1] if self.scales else SIZE)
        _validate(self)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (and checked again)."""
        return dataclasses.replace(self, **changes)

    @property
    def loss_weights(self) -> tuple[float, float]:
        """(α, β): from the ratio (α = ratio, β = 1), or the weights given (each defaulting to
        its own default: α 1e-3, β 1)."""
        if self.ratio is not None:
            return self.ratio, 1.0
        alpha = RATIO if self.content_weight is None else self.content_weight
        beta = 1.0 if self.style_weight is None else self.style_weight
        return alpha, beta

    @property
    def style_layer_weight_map(self) -> dict[str, float]:
        """w_l per style layer: 1/L each by default (the paper's 1/5 for five layers)."""
        given = self.style_layer_weights or (1 / len(self.style_layers),) * len(self.style_layers)
        return dict(zip(self.style_layers, given, strict=True))

    @property
    def noise_kind(self) -> Noise:
        return self.noise or RECIPE_NOISE[self.recipe]

    @property
    def color_tv(self) -> float:
        return RECIPE_COLOR_TV_WEIGHT[self.recipe] if self.color_tv_weight is None else self.color_tv_weight

    @property
    def luminance_only(self) -> bool:
        return self.preserve_color == "luminance"


def fields_for(inputs: Sequence[str]) -> list[dataclasses.Field]:
    """The fields that apply to a run with these inputs ("content", "style")."""
    return [f for f in dataclasses.fields(Settings) if set(f.metadata["needs"]) <= set(inputs)]


def blend_weights(settings: Settings, count: int) -> list[float]:
    """Blend weights for `count` paintings, normalised to sum to 1."""
    if settings.style_blend is None:
        return [1 / count] * count
    if len(settings.style_blend) != count:
        raise SettingError(
            "style_blend", f"has {len(settings.style_blend)} weights for {count} paintings; give one each"
        )
    return [value / sum(settings.style_blend) for value in settings.style_blend]


# The checks, one per kind of value; each raises SettingError naming the field.


def require_whole(name: str, value: object) -> None:
    """SettingError naming `name` unless `value` is a positive whole number (the check of every
    count, here, in video.py and for the batch's `threads` and `workers`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SettingError(name, f"must be a positive whole number, not {value!r}")


def _whole(settings: Settings, name: str, value: object = None, optional: bool = True) -> None:
    value = getattr(settings, name) if value is None else value
    if value is None and optional:
        return
    require_whole(name, value)


def require_number(name: str, value: object, positive: bool = False) -> None:
    """SettingError naming `name` unless `value` is a finite number of 0 or more (above 0 if
    `positive`): the check of every weight, time in seconds and rate, here and in video.py."""
    number = isinstance(value, int | float) and not isinstance(value, bool) and -math.inf < value < math.inf
    if not number or value < 0 or (positive and value == 0):  # type: ignore[operator]
        wanted = "a positive number" if positive else "a number of 0 or more"
        raise SettingError(name, f"must be {wanted}, not {value!r}")


def _positive(settings: Settings, name: str, value: object = None) -> None:
    value = getattr(settings, name) if value is None else value
    if value is not None:
        require_number(name, value, positive=True)


def _weight(settings: Settings, name: str, value: object = None) -> None:
    value = getattr(settings, name) if value is None else value
    if value is not None:
        require_number(name, value)


def _choice(settings: Settings, name: str, choices: Sequence[object]) -> None:
    value = getattr(settings, name)
    if value not in choices:
        shown = ", ".join(str(choice) for choice in choices if choice is not None)
        raise SettingError(name, f"must be one of {shown}, not {value!r}")


def _layers(settings: Settings, name: str) -> None:
    for layer in getattr(settings, name):
        if layer not in LAYERS:
            raise SettingError(
                name, f"names an unknown layer {layer!r}: VGG19's are conv1_1 ... conv5_4 and pool1 ... pool5"
            )
    if not getattr(settings, name) and name == "style_layers":
        raise SettingError(name, "must name at least one layer")


def _validate(settings: Settings) -> None:
    _whole(settings, "size", optional=False)
    _choice(settings, "recipe", RECIPES)
    _whole(settings, "iterations")
    _whole(settings, "octaves")
    if settings.scales is not None:
        for value in settings.scales:
            _whole(settings, "scales", value)
        if list(settings.scales) != sorted(set(settings.scales)):
            raise SettingError(
                "scales", f"must be increasing sizes, for example 256,512, not {settings.scales}"
            )
        if settings.scales[-1] != settings.size:
            raise SettingError(
                "scales",
                f"end at the output size, but the last is {settings.scales[-1]} and size is {settings.size}",
            )
        if settings.octaves is not None:
            raise SettingError("scales", "and octaves cannot both be given")
    _positive(settings, "ratio")
    _weight(settings, "content_weight")
    _weight(settings, "style_weight")
    if settings.ratio is not None and (settings.content_weight, settings.style_weight) != (None, None):
        raise SettingError("ratio", "and content_weight/style_weight cannot both be given")
    if settings.loss_weights == (0, 0):
        raise SettingError("content_weight", "and style_weight cannot both be 0")
    _layers(settings, "content_layers")
    _layers(settings, "style_layers")
    if settings.style_layer_weights is not None:
        for value in settings.style_layer_weights:
            _weight(settings, "style_layer_weights", value)
        if len(settings.style_layer_weights) != len(settings.style_layers):
            raise SettingError(
                "style_layer_weights",
                f"has {len(settings.style_layer_weights)} weights for {len(settings.style_layers)} style "
                "layers; give one per layer",
            )
    _positive(settings, "style_scale")
    if settings.style_blend is not None:
        for value in settings.style_blend:
            _weight(settings, "style_blend", value)
        if not sum(settings.style_blend) > 0:
            raise SettingError("style_blend", "must not be all 0")
    _choice(settings, "preserve_color", (None, *PRESERVE_COLORS))
    _choice(settings, "color_match", COLOR_MATCHES)
    if settings.style_mask is not None:
        if settings.content_mask is None:
            raise SettingError("style_mask", "needs a content mask (content_mask)")
        for mask in settings.style_mask:
            if isinstance(mask, str) and not os.path.exists(mask) and parse_color(mask) is None:
                raise SettingError("style_mask", f"{mask!r} is neither a file nor a colour")
    _weight(settings, "tv_weight")
    _weight(settings, "color_tv_weight")
    if not isinstance(settings.init, str | os.PathLike | Image.Image):
        raise SettingError("init", f"must be noise, content, style, a path or an image, not {settings.init}")
    _choice(settings, "noise", (None, *NOISES))
    seed = settings.seed
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= LARGEST_SEED
    ):
        raise SettingError("seed", f"must be a whole number from 0 to 2**63 - 1, not {seed!r}")
    _choice(settings, "optimizer", OPTIMIZERS)
    _choice(settings, "pooling", POOLINGS)
    if not isinstance(settings.normalize, bool):
        raise SettingError("normalize", f"must be True or False, not {settings.normalize!r}")
    if settings.max_memory is not None:
        try:
            parse_size(settings.max_memory)
        except ImpastoError:
            raise SettingError(
                "max_memory", f"must be a size such as 8G or 512M, not {settings.max_memory!r}"
            ) from None
    _whole(settings, "tile")
