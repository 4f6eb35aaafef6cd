"""Rows per hour: 16 photographs x 1 painting at 256 px, three ways, side by side.

    .venv/bin/python bench/batch.py [--photographs 16] [--size 256] [--out bench/results/batch.json]

- 16 separate `impasto transfer` commands, one after another (each loads the network and
  computes the painting's targets again);
- `impasto batch` in one process (one engine, the targets computed once per size);
- `impasto batch --ray` on a local Ray cluster (one engine per worker, one thread each).

Every way paints the same rows (seed 0, the default recipe and precision), timed from the
command's start to its end, so process start, loading and writing are counted. The
photographs are the bundled ones and their mirror images, written at 512 px.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import ImageOps

from impasto import images, paths

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_vs_time import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMAND = Path(sys.executable).with_name("impasto")
SOURCES = [paths.example("tubingen.jpg"), ROOT / "tests" / "data" / "astronaut.png"] + [
    paths.data_path("calibration", name)
    for name in ("camera.jpg", "chelsea.jpg", "china.jpg", "coffee.jpg", "flower.jpg", "rocket.jpg")
]


def photographs(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for index in range(count):
        picture = images.resize_long_side(images.read_image(SOURCES[index % len(SOURCES)]), 512)
        if index // len(SOURCES) % 2:
            picture = ImageOps.mirror(picture)
        made.append(images.write_image(picture, folder / f"photo_{index + 1:02d}.png"))
    return made


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photographs", type=int, default=16)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "batch.json")
    arguments = parser.parse_args()
    painting = str(paths.example("starry_night.jpg"))
    common = ["--size", str(arguments.size), "--seed", "0", "--quiet"]
    work = Path(tempfile.mkdtemp(prefix="impasto-bench-batch-"))
    try:
        photos = photographs(work / "photos", arguments.photographs)
        seconds = {}
        separate = work / "separate"
        separate.mkdir()
        seconds["separate transfer commands"] = sum(
            timed([str(COMMAND), "transfer", str(photo), painting, "-o", str(separate / f"{photo.stem}.png"),
                   *common])  # fmt: skip
            for photo in photos
        )
        batch = [str(COMMAND), "batch", "--content", str(work / "photos"), "--style", painting, *common]
        seconds["impasto batch, one process"] = timed([*batch, "-o", str(work / "batch")])
        seconds["impasto batch --ray, local cluster"] = timed([*batch, "-o", str(work / "ray"), "--ray"])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = arguments.photographs
    base = seconds["separate transfer commands"]
    result = {
        "machine": machine(),
        "photographs": rows,
        "size": arguments.size,
        "ways": {
            way: {"seconds": round(t, 1), "rows_per_hour": round(rows / t * 3600, 1),
                  "speedup": round(base / t, 2)}  # fmt: skip
            for way, t in seconds.items()
        },
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"{rows} photographs x 1 painting at {arguments.size} px; {result['machine']}")
    print("| way | seconds | rows per hour | against separate commands |\n|---|---|---|---|")
    for way, row in result["ways"].items():
        print(f"| {way} | {row['seconds']:.0f} | {row['rows_per_hour']:.0f} | {row['speedup']:.2f}x |")


if __name__ == "__main__":
    main()
