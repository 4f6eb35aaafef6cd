"""Why the content loss is taken per position: the measurements behind docs/REPRODUCTION.md.

    .venv/bin/python scripts/loss_balance.py            # numbers only (seconds)
    .venv/bin/python scripts/loss_balance.py --images   # also docs/reproduction/loss_scaling.png (minutes)

For Tübingen and The Starry Night at several sizes it prints the two costs that α/β trades
off: what the painting itself would cost in content (L_content between the painting's and the
photograph's conv4_2 responses) and what the photograph itself would cost in style (L_style of
the photograph against the painting). Their quotient is the α/β at which a pure photograph
and a pure painting cost the same: a rough centre of the trade-off. With equation 1 as
written (a sum over positions) that centre moves fourfold per doubling of the size and sits
far below the paper's ratios; per position it stays put, near the paper's 1e-3.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from PIL import Image, ImageDraw

import impasto
from impasto import images, weights
from impasto.losses import content_loss, flatten, gram_matrix, style_layer_loss
from impasto.network import build
from impasto.paths import example
from impasto.reproduce import font
from impasto.settings import DEFAULT_STYLE_LAYERS
from impasto.vgg import VGG19

DOCS = Path(__file__).resolve().parents[1] / "docs" / "reproduction"


def costs(network: VGG19, size: int) -> tuple[float, float, int]:
    photograph = images.resize_long_side(images.read_image(example("tubingen.jpg")), size)
    painting = images.resize_long_side(images.read_image(example("starry_night.jpg")), size)
    layers = [*DEFAULT_STYLE_LAYERS, "conv4_2"]
    with torch.no_grad():
        photo = network(images.to_tensor(photograph), layers)
        paint = network(images.to_tensor(painting), layers)
        paint_as_photo = network(images.to_tensor(painting.resize(photograph.size)), ["conv4_2"])
    content = content_loss(paint_as_photo["conv4_2"], photo["conv4_2"]).item()
    style = 0.0
    for name in DEFAULT_STYLE_LAYERS:
        # the painting's Gram matrix, rescaled to the photograph's number of positions
        target = gram_matrix(paint[name]) * flatten(photo[name]).shape[1] / flatten(paint[name]).shape[1]
        style += style_layer_loss(photo[name], target).item() / len(DEFAULT_STYLE_LAYERS)
    return content, style, flatten(photo["conv4_2"]).shape[1]


def comparison_image(positions: int) -> Image.Image:
    """Three 256 px transfers: the paper's ratio with the summed and the per-position content.

    impasto divides the content loss by M_l, so the summed loss at ratio r is impasto's at r·M_l.
    """
    runs = [("equation 1 as a sum, α/β = 1e-3", 1e-3 * positions),
            ("equation 1 as a sum, α/β = 1e-5", 1e-5 * positions),
            ("per position (impasto), α/β = 1e-3", 1e-3)]  # fmt: skip
    pictures = [impasto.transfer(example("tubingen.jpg"), example("starry_night.jpg"), size=256,
                                 iterations=300, seed=0, ratio=ratio, recipe="paper", precision="float32")
                for _, ratio in runs]  # fmt: skip
    width, height = pictures[0].size
    sheet = Image.new("RGB", (3 * (width + 8) + 8, height + 36), "white")
    draw = ImageDraw.Draw(sheet)
    for index, ((label, _), picture) in enumerate(zip(runs, pictures, strict=True)):
        sheet.paste(picture, (8 + index * (width + 8), 8))
        draw.text((8 + index * (width + 8), height + 14), label, fill="black", font=font(11))
    return sheet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", action="store_true", help="also make the comparison image")
    options = parser.parse_args()
    source = weights.resolve()
    parameters = weights.load(source)
    networks = {"normalised": build(source, parameters),
                "as trained": build(source, parameters, normalize=False)}  # fmt: skip
    print("network     size  M(conv4_2)  content(painting)  style(photo)  centre, sum  centre, per position")
    for name, network in networks.items():
        for size in (128, 256, 512):
            content, style, positions = costs(network, size)
            print(
                f"{name:<11} {size:>4}  {positions:>10}  {content:>17.3g}  {style:>12.3g}  "
                f"{style / content:>11.2g}  {style / (content / positions):>20.2g}"
            )
    if options.images:
        positions = costs(networks["normalised"], 256)[2]
        path = images.write_image(comparison_image(positions), DOCS / "loss_scaling.png")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
