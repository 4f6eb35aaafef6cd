"""One-call functions over a `Painter`, for a script that paints a picture or two.

    import impasto
    painting = impasto.transfer("photo.jpg", "starry_night.jpg", size=256, iterations=200)
    painting.save("out.png")

`transfer` is the paper's style transfer; `reconstruct_content` and `synthesize_texture` are
its Figure 1: an image made from one layer's content representation, or from the style
representation alone. Each takes the options of `Settings` as keywords (or a `Settings`),
builds a `Painter` on `device` with `precision` and `weights`, and returns the best image
evaluated as a PIL image; `callback` receives every `Iterate`. Ctrl-C raises `Interrupted`,
a KeyboardInterrupt whose `result.image` is the best image so far. To paint many pictures
with one network, use a `Painter` directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from PIL import Image

from .images import ImageInput
from .optimize import Iterate
from .painter import Estimate, Painter, Style
from .settings import Settings

Callback = Callable[[Iterate], None]
Weights = str | os.PathLike[str] | None


def transfer(content: ImageInput, style: Style, settings: Settings | None = None, *,
             callback: Callback | None = None, device: str = "auto", precision: str = "auto",
             weights: Weights = None, **options: Any) -> Image.Image:  # fmt: skip
    """`content` painted in the style of `style` (one painting or several): Gatys et al.
    2016, with the controls of Gatys et al. 2017. `options`: fields of `Settings`."""
    settings = with_options(settings, options)
    return Painter(device, precision, weights).paint(content, style, settings, callback=callback).image


def reconstruct_content(content: ImageInput, settings: Settings | None = None, *, layer: str = "conv4_2",
                        callback: Callback | None = None, device: str = "auto", precision: str = "auto",
                        weights: Weights = None, **options: Any) -> Image.Image:  # fmt: skip
    """An image whose responses at `layer` match the photograph's (Figure 1, content row)."""
    settings = with_options(settings, {"content_layers": (layer,), **options})
    return Painter(device, precision, weights).paint(content, None, settings, callback=callback).image


def synthesize_texture(style: ImageInput, settings: Settings | None = None, *,
                       callback: Callback | None = None, device: str = "auto", precision: str = "auto",
                       weights: Weights = None, **options: Any) -> Image.Image:  # fmt: skip
    """An image with the painting's style representation alone (Figure 1, style row)."""
    settings = with_options(settings, options)
    return Painter(device, precision, weights).paint(None, style, settings, callback=callback).image


def estimate(function: Callable[..., Image.Image], *inputs: Any, **options: Any) -> Estimate:
    """What `function(*inputs, **options)` (transfer, reconstruct_content or
    synthesize_texture) would need, without running it: its inputs are read and checked and
    one small forward and backward pass is timed, nothing is optimised."""
    engine = {name: options.pop(name) for name in ("device", "precision", "weights") if name in options}
    options.pop("callback", None)
    settings = options.pop("settings", None)
    if function is reconstruct_content:
        options["content_layers"] = (options.pop("layer", "conv4_2"),)
    settings = with_options(settings, options)
    content, style = {
        transfer: (inputs[0], inputs[1]) if len(inputs) == 2 else (None, None),
        reconstruct_content: (inputs[0], None) if inputs else (None, None),
        synthesize_texture: (None, inputs[0]) if inputs else (None, None),
    }[function]
    return Painter(**engine).estimate(content, style, settings)


def with_options(settings: Settings | None, options: dict[str, Any]) -> Settings:
    """`settings` (default: the defaults) with `options` replacing some of its fields."""
    if settings is None:
        return Settings(**options)
    return settings.replace(**options) if options else settings
