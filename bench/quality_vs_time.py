"""Time to quality: impasto's default recipe against the plain method, side by side.

    .venv/bin/python bench/quality_vs_time.py [--size 256] [--content C --style S] [--out DIR]

Both runs solve one problem: Tübingen × The Starry Night (or the pair given), the default
layers and α/β, from white noise (seed 0). The reference is the paper's recipe as it is
usually run: single-scale L-BFGS at the final size for 1000 iterations, in float32. The
other is `impasto.transfer` with its defaults. Every recorded iterate is scored afterwards
with one float32 objective at the final size (coarse iterates upsampled as the next scale
would), so the two curves compare. The time of an iterate excludes the recording itself.

Writes DIR/quality_vs_time_SIZE.json and .png and prints the headline: the reference's time
to its final loss over impasto's time to reach that loss.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

import impasto
from impasto import images, quality
from impasto.hardware import resolve_device
from impasto.network import paper_network
from impasto.optimize import Iterate
from impasto.schedule import schedule

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_ITERATIONS = 1000


@dataclass
class Recording:
    """Iterates of one run: (seconds, snapshot) for those kept, scored after the run."""

    name: str
    keep: Callable[[Iterate], bool]
    started: float = 0.0
    overhead: float = 0.0  # seconds spent recording, taken off the clock
    seconds: list[float] = field(default_factory=list)
    snapshots: list[torch.Tensor] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    scale_ends: list[float] = field(default_factory=list)

    def __call__(self, iterate: Iterate) -> None:
        entered = time.perf_counter()
        if self.keep(iterate):
            self.seconds.append(entered - self.started - self.overhead)
            self.snapshots.append(iterate.tensor.detach().to("cpu", torch.float16))
            self.steps.append(iterate.done)
        if iterate.iteration == iterate.iterations and iterate.scale < iterate.scales:
            self.scale_ends.append(entered - self.started - self.overhead)
        self.overhead += time.perf_counter() - entered


class Objective:
    """The loss every iterate is scored with: the paper's (quality.Yardstick, float32) with the
    default α/β, at the final size, on the image clamped to [0, 1] as it is saved."""

    def __init__(self, content: Path, style: Path, size: int, device: torch.device) -> None:
        self.yardstick = quality.Yardstick(content, style, paper_network(device))
        self.shape = images.size_at(images.read_image(content).size, size)[::-1]

    def __call__(self, image: torch.Tensor) -> float:
        image = image.to(torch.float32)
        if image.shape[-2:] != self.shape:
            image = F.interpolate(image, size=self.shape, mode="bicubic", align_corners=False)
        return self.yardstick.measure(image.clamp(0, 1)).total


def run(name: str, content: Path, style: Path, size: int, keep: Callable[[Iterate], bool],
        device: str, **options: Any) -> Recording:  # fmt: skip
    recording = Recording(name, keep)
    recording.started = time.perf_counter()
    impasto.transfer(content, style, size=size, seed=0, device=device, callback=recording, **options)
    return recording


def every(n: int, whole_final_scale: bool = False) -> Callable[[Iterate], bool]:
    """Keep every n-th iterate and the last of each scale (and all of the final scale)."""
    return lambda i: (
        i.iteration % n == 0 or i.iteration == i.iterations or (whole_final_scale and i.scale == i.scales)
    )


def score(recording: Recording, objective: Objective) -> list[tuple[float, float, int]]:
    return [(seconds, objective(snapshot), step) for seconds, snapshot, step
            in zip(recording.seconds, recording.snapshots, recording.steps, strict=True)]  # fmt: skip


def time_to(curve: list[tuple[float, float, int]], loss: float) -> float | None:
    """The first recorded time at which the curve is at or below `loss`."""
    return next((seconds for seconds, value, _ in curve if value <= loss), None)


def machine() -> dict[str, Any]:
    """The processor, whether it computes bfloat16 natively (AMX, AVX512-BF16), and the software."""
    processor = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    text = cpuinfo.read_text() if cpuinfo.exists() else ""
    names = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")]
    processor = names[0] if names else processor
    bfloat16 = [name for name, flag in (("AMX", "amx_tile"), ("AVX512-BF16", "avx512_bf16")) if flag in text]
    info = {"processor": processor, "bfloat16": ", ".join(bfloat16) or "neither AMX nor AVX512-BF16",
            "cores": os.cpu_count(), "threads": torch.get_num_threads(),
            "torch": torch.__version__, "python": platform.python_version()}  # fmt: skip
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def plot(curves: dict[str, list[tuple[float, float, int]]], reference_loss: float, title: str,
         path: Path) -> None:  # fmt: skip
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.2), dpi=110)
    for name, curve in curves.items():
        axes.plot([c[0] for c in curve], [c[1] for c in curve], label=name, marker=".", markersize=3)
    axes.axhline(reference_loss, color="grey", linestyle="--", linewidth=0.8,
                 label="reference's final loss")  # fmt: skip
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("wall time (s)")
    axes.set_ylabel("loss at the final size (float32)")
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--content", type=Path, default=ROOT / "examples" / "tubingen.jpg")
    parser.add_argument("--style", type=Path, default=ROOT / "examples" / "starry_night.jpg")
    parser.add_argument("--reference-iterations", type=int, default=REFERENCE_ITERATIONS)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    size = options.size
    pair = f"{options.content.stem} x {options.style.stem}"

    # One-time costs (a GPU's context and kernel selection, the weights' decoding) on neither run.
    impasto.transfer(options.content, options.style, size=64, iterations=2, seed=0, device=options.device)
    print(f"{pair}, {size} px: impasto's default recipe ...", file=sys.stderr)
    fast = run(
        "impasto (default recipe)", options.content, options.style, size, every(5, True), options.device
    )
    print(f"... the reference ({options.reference_iterations} iterations) ...", file=sys.stderr)
    reference = run("reference (paper recipe, float32)", options.content, options.style, size,
                    every(10), options.device, recipe="paper", precision="float32",
                    iterations=options.reference_iterations)  # fmt: skip
    objective = Objective(options.content, options.style, size, resolve_device(options.device))
    curves = {recording.name: score(recording, objective) for recording in (fast, reference)}

    reference_curve = curves[reference.name]
    reference_seconds, reference_loss, _ = reference_curve[-1]
    fast_curve = curves[fast.name]
    fast_seconds = time_to(fast_curve, reference_loss)
    speedup = reference_seconds / fast_seconds if fast_seconds else None
    # The plain method's scored loss is not monotone: its pixels drift out of [0, 1] and the
    # saved (clamped) image gets worse late in the run. So also: its best loss, the time it
    # first reached it, and impasto's time to the same.
    best_seconds, best_loss, _ = min(reference_curve, key=lambda point: point[1])
    fast_best_seconds = time_to(fast_curve, best_loss)
    best_speedup = best_seconds / fast_best_seconds if fast_best_seconds else None
    summary = {
        "pair": pair,
        "size": size,
        "machine": machine(),
        "reference": {"iterations": options.reference_iterations, "seconds": reference_seconds,
                      "final_loss": reference_loss},
        "impasto": {"schedule": [(scale.long_side, scale.iterations)
                                 for scale in schedule(impasto.Settings(size=size), (4, 3))],
                    "seconds": fast_curve[-1][0], "final_loss": fast_curve[-1][1],
                    "seconds_to_reference_loss": fast_seconds, "scale_ends": fast.scale_ends},
        "speedup": speedup,
        "reference_best": {"seconds": best_seconds, "loss": best_loss,
                           "impasto_seconds": fast_best_seconds, "speedup": best_speedup},
        "curves": {name: [{"seconds": s, "loss": v, "step": k} for s, v, k in curve]
                   for name, curve in curves.items()},
    }  # fmt: skip
    stem = options.out / f"quality_vs_time_{size}_{options.content.stem}_{options.style.stem}"
    stem.with_suffix(".json").write_text(json.dumps(summary, indent=1))
    on_gpu = resolve_device(options.device).type == "cuda"
    where = machine()["gpu"] if on_gpu else machine()["processor"]
    plot(curves, reference_loss, f"{pair}, {size} px, {where}", stem.with_suffix(".png"))
    if speedup is None:
        headline = "impasto did not reach the reference's final loss"
    else:
        headline = f"{speedup:.1f}x ({reference_seconds:.0f} s against {fast_seconds:.1f} s)"
    print(f"{pair}, {size} px: reference final loss {reference_loss:.4g} after {reference_seconds:.0f} s; "
          f"impasto final loss {fast_curve[-1][1]:.4g} after {fast_curve[-1][0]:.0f} s; "
          f"time to the reference's loss: {headline}")  # fmt: skip
    if best_speedup is not None:
        print(f"to the reference's best loss ({best_loss:.4g}, first reached after {best_seconds:.0f} s): "
              f"{best_speedup:.1f}x ({fast_best_seconds:.1f} s)")  # fmt: skip
    if not math.isfinite(reference_loss):
        sys.exit(1)


if __name__ == "__main__":
    main()
