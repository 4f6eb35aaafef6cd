"""Make the pictures of the README's perceptual-control examples (docs/controls/).

    .venv/bin/python scripts/control_examples.py   # about 8 minutes on 2 CPU cores

Each picture is one `impasto transfer` of Tübingen at 192 px, 250 iterations, seed 0, with the
option its file is named after; the README shows each beside the command that makes it.
"""

from __future__ import annotations

from pathlib import Path

import impasto
from impasto import images
from impasto.paths import example

OUT = Path(__file__).resolve().parents[1] / "docs" / "controls"
STARRY, KANDINSKY = example("starry_night.jpg"), example("composition_vii.jpg")
EXAMPLES = {
    "plain": (STARRY, {}),
    "luminance": (STARRY, {"preserve_color": "luminance"}),
    "histogram": (STARRY, {"preserve_color": "histogram"}),
    "blend": ([STARRY, KANDINSKY], {"style_blend": [0.5, 0.5]}),
    "masks": ([STARRY, KANDINSKY], {"content_mask": example("tubingen_sky_mask.png"),
                                    "style_mask": ["blue", "white"]}),
    "fine_style": (STARRY, {"fine_style": KANDINSKY}),
    "scales": (STARRY, {"scales": [96, 192]}),
    "tv": (STARRY, {"tv_weight": 20.0}),
}  # fmt: skip


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (style, options) in EXAMPLES.items():
        options = {
            "size": 192,
            "iterations": 250,
            "seed": 0,
            "recipe": "paper",
            "precision": "float32",
            **options,
        }
        result = impasto.transfer(example("tubingen.jpg"), style, **options)
        print(f"wrote {images.write_image(result, OUT / f'{name}.jpg')}", flush=True)


if __name__ == "__main__":
    main()
