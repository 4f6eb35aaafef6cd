"""Does the look survive a change of size? The same pair at 512 and 2048 px, shown alike.

    .venv/bin/python scripts/size_invariance.py [--sizes 512,2048] [--out docs/size]

Runs the default recipe at each size (seed 0), then scales every result to the smallest
size and measures there, with the float32 network, each one's style distance to the painting
at that size (L_style, the paper's equation 5) and its content distance to the photograph.
If the brush strokes keep their size relative to the picture, the downscaled large result
scores like the small one; strokes that shrank with the picture would score far worse.
Writes the results, a side-by-side sheet and the numbers (JSON) to --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from PIL import Image

import impasto
from impasto import images, quality

ROOT = Path(__file__).resolve().parents[1]


def distances(image: Image.Image, yardstick: quality.Yardstick) -> dict[str, float]:
    measured = yardstick(image)
    return {"content": measured.content, "style": measured.style}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,2048")
    parser.add_argument("--content", type=Path, default=ROOT / "examples" / "tubingen.jpg")
    parser.add_argument("--style", type=Path, default=ROOT / "examples" / "starry_night.jpg")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "size")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in options.sizes.split(",")]
    small = min(sizes)
    photograph = images.resize_long_side(images.read_image(options.content), small)
    yardstick = quality.Yardstick(options.content, options.style)
    report = {"sizes": sizes, "measured_at": small, "runs": []}
    shown = []
    for size in sizes:
        started = time.perf_counter()
        result = impasto.transfer(options.content, options.style, size=size, seed=0)
        seconds = time.perf_counter() - started
        images.write_image(result, options.out / f"{options.content.stem}_{size}.jpg")
        scaled = result.resize(photograph.size, Image.Resampling.LANCZOS)
        shown.append(scaled)
        report["runs"].append({"size": size, "seconds": seconds, **distances(scaled, yardstick)})
        print(json.dumps(report["runs"][-1]), flush=True)
    report["photograph"] = distances(photograph, yardstick)
    sheet = Image.new(
        "RGB", (sum(image.width for image in shown) + 8 * (len(shown) - 1), shown[0].height), "white"
    )
    for index, image in enumerate(shown):
        sheet.paste(image, (index * (image.width + 8), 0))
    images.write_image(sheet, options.out / "side_by_side.jpg")
    (options.out / "size_invariance.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report["photograph"]))


if __name__ == "__main__":
    main()
