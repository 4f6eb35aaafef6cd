"""Seconds per iteration at one size (the paper recipe) at 256 and 512 px, and peak memory.

    .venv/bin/python bench/speed.py [--sizes 256,512] [--iterations 20] [--device auto]
        [--precision auto]

Each size runs in a fresh process so that its peak memory is its own (resident set size on
the CPU, allocated memory on a GPU). The first few iterations are left out of the timing:
they include one-off work (allocation, the style targets, the first L-BFGS step).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM_UP = 3


def one(size: int, iterations: int, device: str, precision: str) -> dict:
    import torch

    import impasto
    from impasto.hardware import resolve_device, resolve_precision

    stamps: list[float] = []
    impasto.transfer(
        ROOT / "examples" / "tubingen.jpg", ROOT / "examples" / "starry_night.jpg", size=size,
        iterations=iterations + WARM_UP, seed=0, device=device, recipe="paper", precision=precision,
        callback=lambda iterate: stamps.append(time.perf_counter()),
    )  # fmt: skip
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        peak = torch.cuda.max_memory_allocated()
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    return {
        "size": size,
        "device": str(chosen),
        "threads": torch.get_num_threads(),
        "precision": resolve_precision(precision, chosen),
        "seconds_per_iteration": (stamps[-1] - stamps[WARM_UP - 1]) / iterations,
        "peak_memory_mib": round(peak / 2**20),
    }


def processor_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        print(json.dumps(one(options.one, options.iterations, options.device, options.precision)))
        return
    runs = []
    for size in (int(s) for s in options.sizes.split(",")):
        command = [sys.executable, __file__, "--one", str(size), "--iterations", str(options.iterations),
                   "--device", options.device, "--precision", options.precision]  # fmt: skip
        runs.append(json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout))
    machine = {"processor": processor_name(), "cores": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps({"machine": machine, "iterations_timed": options.iterations, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
