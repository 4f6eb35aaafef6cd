"""impasto on a CUDA GPU: the default and the paper recipe, their times, peak memory and loss.

    python bench/gpu.py [--sizes 512,2048] [--out DIR]

For each size: the default recipe with the precision impasto picks (bfloat16 from compute
capability 8); up to 2048 px the paper recipe too (500 iterations at the output size), up to
512 px that in float32 as well; from 2048 px the default recipe in float32 and in tiles of
512 px. Each run reports its wall time, its seconds per iteration at the output
size, the GPU memory it peaked at (allocated by tensors and reserved by PyTorch's allocator)
beside `impasto.estimate`'s figure, and its result's loss under one float32 objective at the
output size (as bench/quality_vs_time.py scores). Writes DIR/gpu.jsonl, a line per run, and
the results as DIR/gpu_images.tar.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import time
from pathlib import Path

import torch

import impasto
from impasto import images

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_vs_time import Objective, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTENT, STYLE = ROOT / "examples" / "tubingen.jpg", ROOT / "examples" / "starry_night.jpg"


def runs_at(size: int) -> list[dict[str, object]]:
    runs: list[dict[str, object]] = [{"recipe": "fast"}]
    if size <= 2048:
        runs.append({"recipe": "paper"})
    if size <= 512:
        runs.append({"recipe": "paper", "precision": "float32"})
    if size >= 2048:
        runs += [{"recipe": "fast", "precision": "float32"}, {"recipe": "fast", "tile": 512}]
    return runs


def measure(size: int, objective: Objective, **options: object) -> tuple[dict[str, object], torch.Tensor]:
    final_scale_times: list[float] = []

    def callback(iterate: impasto.Iterate) -> None:
        if iterate.scale == iterate.scales:
            final_scale_times.append(time.perf_counter())

    torch.cuda.reset_peak_memory_stats()
    torch.cuda.synchronize()
    started = time.perf_counter()
    result = impasto.transfer(CONTENT, STYLE, size=size, seed=0, device="cuda", callback=callback, **options)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    allocated, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
    estimate = impasto.estimate(impasto.transfer, CONTENT, STYLE, size=size, device="cuda", **options)
    tensor = images.to_tensor(result)
    per_iteration = (final_scale_times[-1] - final_scale_times[0]) / max(len(final_scale_times) - 1, 1)
    record = {
        "size": size, **options, "precision_used": estimate.precision,
        "scales": [f"{step.width}x{step.height}:{step.iterations}" for step in estimate.plan.steps],
        "seconds": round(seconds, 2), "seconds_per_iteration_at_output_size": round(per_iteration, 4),
        "peak_allocated_gib": round(allocated / 2**30, 2), "peak_reserved_gib": round(reserved / 2**30, 2),
        "estimated_peak_gib": round(estimate.peak_bytes / 2**30, 2), "loss": round(objective(tensor), 4),
    }  # fmt: skip
    return record, tensor


def keep(tensor: torch.Tensor, archive: Path, name: str) -> None:
    """Add the result to a tar file, closed each time so that a run cut short keeps the rest."""
    buffer = io.BytesIO()
    images.to_pil(tensor).save(buffer, "JPEG", quality=92)
    member = tarfile.TarInfo(name)
    member.size = buffer.tell()
    buffer.seek(0)
    with tarfile.open(archive, "a") as tar:
        tar.addfile(member, buffer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,2048")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    options = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("bench/gpu.py: no CUDA GPU here")
    options.out.mkdir(parents=True, exist_ok=True)
    sizes = [int(size) for size in options.sizes.split(",")]
    print(json.dumps({"machine": machine()}), flush=True)
    # CUDA's context, the kernels' first selection and the weights' decoding fall on no timed run.
    impasto.transfer(CONTENT, STYLE, size=128, iterations=5, seed=0, device="cuda")
    for size in sizes:
        objective = Objective(CONTENT, STYLE, size, torch.device("cuda"))
        for run in runs_at(size):
            record, tensor = measure(size, objective, **run)
            print(json.dumps(record), flush=True)
            with open(options.out / "gpu.jsonl", "a") as log:
                log.write(json.dumps(record) + "\n")
            if "tile" not in run and run.get("precision") is None:
                keep(tensor, options.out / "gpu_images.tar", f"tubingen_{size}_{run['recipe']}.jpg")
        del objective
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
