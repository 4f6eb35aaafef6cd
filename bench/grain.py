"""Colour grain and brushwork of the default recipe, before and after clean pictures (issue 10).

    .venv/bin/python bench/grain.py [--sizes 128,256,512,1024] [--pairs NAME,...] [--out DIR]

For each pair and size, two runs of the default recipe (seed 0): *before*, with the start and
loss the recipe had until issue 10 (`noise="white"`, `color_tv_weight=0`), and *after*, the
default now. Each saved image (PNG) is measured with impasto.quality: grain and detail (the
colour and luminance roughness over the painting's at the same size) and the paper's
distances in float32 (content, equation 1 at conv4_2; style, equation 5 over five layers).

Rows are appended to DIR/grain.jsonl as they finish, and a rerun skips those already there,
so a long run can be stopped and resumed. At the end the table is printed as Markdown, and
DIR/grain_SIZE.png shows before and after side by side for each size.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from PIL import Image, ImageDraw

import impasto
from impasto import images, paths, quality

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_vs_time import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = paths.data_path("calibration")
# The first four are the pairs the new default was tuned on; the last two it never saw.
PAIRS = {
    "tubingen x starry_night": (paths.example("tubingen.jpg"), paths.example("starry_night.jpg")),
    "tubingen x shipwreck": (paths.example("tubingen.jpg"), paths.example("shipwreck.jpg")),
    "astronaut x the_scream": (ROOT / "tests" / "data" / "astronaut.png", paths.example("the_scream.jpg")),
    "tubingen x composition_vii": (paths.example("tubingen.jpg"), paths.example("composition_vii.jpg")),
    "chelsea x woman_with_hat": (CALIBRATION / "chelsea.jpg", paths.example("woman_with_hat.jpg")),
    "coffee x woman_with_hat": (CALIBRATION / "coffee.jpg", paths.example("woman_with_hat.jpg")),
}
HELD_OUT = ("chelsea x woman_with_hat", "coffee x woman_with_hat")
VERSIONS = {"before": {"noise": "white", "color_tv_weight": 0.0}, "after": {}}


def measure(pair: str, size: int, version: str, precision: str, out: Path) -> dict:
    content, style = PAIRS[pair]
    started = time.perf_counter()
    result = impasto.transfer(content, style, size=size, seed=0, precision=precision, **VERSIONS[version])
    seconds = time.perf_counter() - started
    path = out / "images" / f"{pair.replace(' x ', '_x_')}_{size}_{version}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    images.write_image(result, path)
    saved = images.read_image(path)
    painting = images.read_image(style)
    distances = quality.Yardstick(content, style)(saved)
    return {"pair": pair, "size": size, "version": version, "precision": precision,
            "grain": quality.grain(saved, painting), "detail": quality.detail(saved, painting),
            "content": distances.content, "style": distances.style, "seconds": seconds,
            "image": str(path.relative_to(out))}  # fmt: skip


def table(rows: list[dict], sizes: list[int]) -> str:
    found = {(row["pair"], row["size"], row["version"]): row for row in rows}
    lines = ["| pair | size | grain before → after | detail before → after | content: after / before "
             "| style: after / before | seconds before, after |",
             "|---|---|---|---|---|---|---|"]  # fmt: skip
    for pair in PAIRS:
        for size in sizes:
            before, after = found.get((pair, size, "before")), found.get((pair, size, "after"))
            if before is None or after is None:
                continue
            name = pair + (" (held out)" if pair in HELD_OUT else "")
            lines.append(
                f"| {name} | {size} | {before['grain']:.2f} → **{after['grain']:.2f}** "
                f"| {before['detail']:.2f} → **{after['detail']:.2f}** "
                f"| {after['content'] / before['content']:.3f} | {after['style'] / before['style']:.3f} "
                f"| {before['seconds']:.0f}, {after['seconds']:.0f} |"
            )
    return "\n".join(lines)


def sheet(rows: list[dict], size: int, out: Path) -> None:
    """Before (top) and after (bottom) for every pair at one size: the middle 128 x 128 pixels
    of each result, enlarged twice without smoothing, so that single pixels show."""
    chosen = {(row["pair"], row["version"]): row for row in rows if row["size"] == size}
    pairs = [pair for pair in PAIRS if (pair, "before") in chosen and (pair, "after") in chosen]
    if not pairs:
        return
    crop, zoom, gap, label = 128, 2, 6, 16
    side = crop * zoom
    canvas = Image.new("RGB", (len(pairs) * (side + gap) - gap, 2 * (side + label) + gap), "white")
    draw = ImageDraw.Draw(canvas)
    for column, pair in enumerate(pairs):
        for line, version in enumerate(("before", "after")):
            row = chosen[(pair, version)]
            image = Image.open(out / row["image"]).convert("RGB")
            left, top = (image.width - crop) // 2, (image.height - crop) // 2
            middle = image.crop((left, top, left + crop, top + crop))
            middle = middle.resize((side, side), Image.Resampling.NEAREST)
            x, y = column * (side + gap), line * (side + label + gap)
            canvas.paste(middle, (x, y + label))
            draw.text((x + 2, y + 2), f"{version}: grain {row['grain']:.1f}, detail {row['detail']:.2f}",
                      fill="black")  # fmt: skip
    canvas.save(out / f"grain_{size}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="128,256,512,1024")
    parser.add_argument("--pairs", default=",".join(PAIRS), help="comma-separated pair names")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "grain")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    chosen = [pair.strip() for pair in options.pairs.split(",")]
    options.out.mkdir(parents=True, exist_ok=True)
    log = options.out / "grain.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = {(row["pair"], row["size"], row["version"]) for row in rows}
    print(f"machine: {json.dumps(machine())}", flush=True)
    for size in sizes:
        for pair in chosen:
            for version in VERSIONS:
                if (pair, size, version) in done:
                    continue
                row = measure(pair, size, version, options.precision, options.out)
                row["machine"] = machine()
                rows.append(row)
                with log.open("a") as file:
                    file.write(json.dumps(row) + "\n")
                print(f"{pair}, {size} px, {version}: grain {row['grain']:.2f}, detail {row['detail']:.2f}, "
                      f"content {row['content']:.1f}, style {row['style']:.4f}, {row['seconds']:.0f} s",
                      flush=True)  # fmt: skip
    for size in sizes:
        sheet(rows, size, options.out)
    print(table(rows, sizes))


if __name__ == "__main__":
    main()
