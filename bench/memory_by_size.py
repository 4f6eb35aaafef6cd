"""Peak memory against size, whole and in tiles, with the estimate beside each.

    .venv/bin/python bench/memory_by_size.py [--sizes 512,1024,2048,4096] [--iterations 3]
        [--tiles-per-side 4] [--limit 20G]

Square outputs (a square crop of Tübingen × The Starry Night), the paper recipe for a few
iterations, each run in a fresh process whose peak resident memory is its own; tiled runs use
cores of a quarter of the side (16 tiles). Whole-image
runs are forced (a budget of 1T) and limited to --limit of address space, so that one that
does not fit fails with impasto's one-line out-of-memory error instead of taking the machine
down. Prints a Markdown table for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
STYLE = ROOT / "examples" / "starry_night.jpg"

CHILD = """
import json, sys, time
import impasto
options = json.loads(sys.argv[3])
started = time.perf_counter()
try:
    impasto.transfer(sys.argv[1], sys.argv[2], **options)
    outcome = "ran"
except (MemoryError, RuntimeError) as error:
    if not isinstance(error, MemoryError) and "memory" not in str(error).lower():
        raise
    outcome = "out of memory"
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
peak = int(status["VmHWM"].split()[0]) * 1024  # not ru_maxrss, which counts the parent's pages
print(json.dumps({"outcome": outcome, "peak": peak, "seconds": time.perf_counter() - started}))
"""


def square_photograph(folder: Path) -> Path:
    with Image.open(ROOT / "examples" / "tubingen.jpg") as photograph:
        side = min(photograph.size)
        left, top = (photograph.width - side) // 2, (photograph.height - side) // 2
        path = folder / "tubingen_square.png"
        photograph.convert("RGB").crop((left, top, left + side, top + side)).save(path)
    return path


def measure(content: Path, options: dict, limit: int | None) -> dict:
    def restrict() -> None:
        if limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-c", CHILD, str(content), str(STYLE), json.dumps(options)]
    done = subprocess.run(command, capture_output=True, text=True, preexec_fn=restrict)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["killed"])[-1]
        return {"outcome": f"failed: {last[:120]}", "peak": None, "seconds": None}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024,2048,4096")
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--tiles-per-side", type=int, default=4, help="tiled runs: cores of size / this")
    parser.add_argument("--limit", default="20G", help="address-space limit for whole-image runs")
    options = parser.parse_args()

    import impasto
    from impasto import api, memory

    limit = memory.parse_size(options.limit)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        content = square_photograph(Path(folder))
        for size in (int(s) for s in options.sizes.split(",")):
            for mode in ("whole", "tiles"):
                run: dict = dict(size=size, iterations=options.iterations, recipe="paper", seed=0)
                if mode == "whole":
                    run["max_memory"] = "1T"  # forces the whole image whatever it needs
                else:
                    run["tile"] = size // options.tiles_per_side
                estimate = api.estimate(
                    impasto.transfer, content, ROOT / "examples" / "starry_night.jpg", **run
                )
                started = time.perf_counter()
                result = measure(content, run, limit if mode == "whole" else None)
                step = estimate.plan.steps[-1]
                rows.append({"size": size, "mode": mode, "tiles": step.tile_count,
                             "estimate": estimate.peak_bytes, "wall": time.perf_counter() - started,
                             **result})  # fmt: skip
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    print("| output | how | estimated peak | measured peak | outcome, wall time |")
    print("|---|---|---|---|---|")
    for row in rows:
        core = row["size"] // options.tiles_per_side
        how = "whole image" if row["mode"] == "whole" else f"{row['tiles']} tiles of {core} px"
        measured = memory.format_size(row["peak"]) if row["peak"] else "—"
        print(f"| {row['size']}×{row['size']} | {how} | {memory.format_size(row['estimate'])} | {measured} | "
              f"{row['outcome']}, {row['wall']:.0f} s |")  # fmt: skip


if __name__ == "__main__":
    main()
