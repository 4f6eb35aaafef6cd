"""Achieved GFLOP/s of impasto's iteration against this machine's peak, per precision.

    .venv/bin/python bench/flops.py [--size 512] [--iterations 5]

An iteration is one forward and backward pass of VGG19 up to conv5_1 (input gradients only)
plus the losses; its floating-point operations are counted from the layer shapes
(`impasto.memory.flops_per_pixel`). The peak is measured with large matrix products in the
same precision, the best this machine's BLAS reaches.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from impasto import images, memory, quality, weights
from impasto.network import build

ROOT = Path(__file__).resolve().parents[1]


def matmul_peak(dtype: torch.dtype, side: int = 4096, repeats: int = 5) -> float:
    a, b = torch.rand(side, side).to(dtype), torch.rand(side, side).to(dtype)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * side**3 * repeats / (time.perf_counter() - started)


def iteration_rate(size: int, precision: str, iterations: int) -> tuple[float, float]:
    """(seconds per iteration, FLOP/s) of the default objective at `size`."""
    source = weights.resolve()
    network = build(source, weights.load(source), precision=precision)
    yardstick = quality.Yardstick(ROOT / "examples" / "tubingen.jpg", ROOT / "examples" / "starry_night.jpg",
                                  network)  # fmt: skip
    loss = yardstick.loss(size)
    photograph = images.resize_long_side(yardstick.photograph, size)
    pixels = torch.rand(1, 3, photograph.height, photograph.width, requires_grad=True)

    def step() -> None:
        loss(network(pixels, loss.layers), pixels).total.backward()
        pixels.grad = None

    step()
    started = time.perf_counter()
    for _ in range(iterations):
        step()
    seconds = (time.perf_counter() - started) / iterations
    return seconds, memory.flops_per_pixel("conv5_1") * photograph.width * photograph.height / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=5)
    options = parser.parse_args()
    results = []
    for precision, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16)):
        seconds, rate = iteration_rate(options.size, precision, options.iterations)
        peak = matmul_peak(dtype)
        results.append({"precision": precision, "seconds_per_iteration": round(seconds, 3),
                        "gflops": round(rate / 1e9), "matmul_peak_gflops": round(peak / 1e9),
                        "share_of_peak": round(rate / peak, 2)})  # fmt: skip
    print(json.dumps({"size": options.size, "threads": torch.get_num_threads(), "runs": results}, indent=1))


if __name__ == "__main__":
    main()
