"""Does bfloat16 cost quality? The default recipe in bfloat16 and in float32, side by side.

    .venv/bin/python bench/precision.py [--size 256]

Tübingen × The Starry Night, seed 0, the default recipe, once in each precision in one
process. Each saved image is scored with the paper's distances in float32
(impasto.quality.Yardstick: α/β = 1e-3, as the recipe optimises), so the two compare.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import impasto
from impasto import paths, quality

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_vs_time import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    options = parser.parse_args()
    photograph, painting = paths.example("tubingen.jpg"), paths.example("starry_night.jpg")
    yardstick = quality.Yardstick(photograph, painting)
    print(json.dumps({"machine": machine()}))
    for precision in ("bfloat16", "float32"):
        painter = impasto.Painter(precision=precision)
        painter.paint(photograph, painting, impasto.Settings(size=64, iterations=2, seed=0))  # warm up
        result = painter.paint(photograph, painting, impasto.Settings(size=options.size, seed=0))
        distances = yardstick(result.image)
        print(json.dumps({"precision": precision, "size": options.size, "loss": distances.total,
                          "content": distances.content, "style": distances.style,
                          "seconds": result.seconds}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
