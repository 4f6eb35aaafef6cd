"""What a run will need, in memory and time, and the strategy that fits a memory budget.

Peak memory is modelled from what a step holds: the network's responses kept for the
backward pass (per channel and position of every layer up to the deepest one, at the
precision used), the image-sized buffers (the pixels, their gradient, the best image so far
and L-BFGS's curvature pairs, two image copies each) and a fixed base (Python, torch, the
weights). The constants were measured on a 2-core Xeon with torch 2.13.0 (bench/RESULTS.md
sets the estimates beside measured peaks). A step that does not fit runs in tiles
(tiles.py): then only one tile's window of responses is alive at a time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import torch

from .errors import ImpastoError, SettingError
from .tiles import stride, tiles
from .vgg import ARCHITECTURE, LAYERS, smallest_side

MiB = 2**20
BASE_BYTES = 520 * MiB  # the process before a run: Python, torch and the weights
GPU_BASE_BYTES = 200 * MiB  # on a GPU: the weights and the runtime's workspace
# Bytes per response (one channel at one position) of the layers up to the deepest, for a
# forward and backward pass: the kept activations and the backward's transient gradients.
ACTIVATION_BYTES = {"float32": 8.5, "bfloat16": 6.4}
FORWARD_SHARE = 1 / 3  # a forward pass alone, as a share of forward and backward, in time
IMAGE_BUFFERS = 10  # image-sized float32 buffers besides L-BFGS's pairs
TILE_CORES = (2048, 1024, 512, 256, 128)  # tried largest first
SHORTER_PAIRS = (10, 5, 3)  # L-BFGS memories (curvature pairs) to fall back to when the pairs do not fit
HEADROOM = 0.9  # the share of the available memory a run takes by default
GIVEN = "given"  # the budget source of a budget the caller gave


def parse_size(text: str | int | float) -> int:
    """Bytes from "8G", "512M", "1.5GB", "2T" or a number of bytes."""
    count = 0
    if isinstance(text, int | float) and not isinstance(text, bool):
        count = int(text)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
        if match:
            count = int(float(match.group(1)) * 1024 ** " kmgt".index(match.group(2).lower() or " "))
    if count > 0:
        return count
    raise ImpastoError(f"not a size such as 8G or 512M: {text!r}")


def format_size(count: float) -> str:
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{count / MiB:.0f} MiB"


def available(device: torch.device) -> tuple[int, str]:
    """The budget when none is given, and where it comes from: 90% of what the system could
    give this process (what it holds now and what is free), so that an estimate a little
    short does not meet the system's out-of-memory killer."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        total = free + torch.cuda.memory_reserved(device)
        return int(HEADROOM * total), f"90% of the free memory of {torch.cuda.get_device_name(device)}"
    try:
        with open("/proc/meminfo") as meminfo:
            fields = dict(line.split(":", 1) for line in meminfo)
        with open("/proc/self/statm") as statm:
            resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        total = int(fields["MemAvailable"].split()[0]) * 1024 + resident
        return int(HEADROOM * total), "90% of the memory available"
    except (OSError, KeyError, ValueError, IndexError):
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        return int(HEADROOM * total), "90% of the machine's memory"


def _channels(layer: str) -> int:
    return dict(ARCHITECTURE)[layer] or _channels(LAYERS[LAYERS.index(layer) - 1])  # pooling keeps them


def layer_responses_per_pixel(layer: str) -> float:
    """Responses (channels x positions) of one layer per input pixel."""
    return _channels(layer) / stride(layer) ** 2


def responses_per_pixel(deepest: str) -> float:
    """Responses of all convolutions up to `deepest`, per input pixel."""
    convolutions = [name for name in LAYERS[: LAYERS.index(deepest) + 1] if name.startswith("conv")]
    return sum(layer_responses_per_pixel(name) for name in convolutions)


def flops_per_pixel(deepest: str) -> float:
    """Floating-point operations of one forward and backward pass per input pixel (the
    backward computes gradients for the input only: the weights are fixed)."""
    total, previous = 0.0, 3
    for name in LAYERS[: LAYERS.index(deepest) + 1]:
        if name.startswith("conv"):
            total += 2 * 9 * previous * _channels(name) / stride(name) ** 2
            previous = _channels(name)
    return 2 * total


@dataclass(frozen=True)
class ScalePlan:
    """How one scale runs: whole or in tiles (`tile`: the core's side), and its needs."""

    width: int
    height: int
    iterations: int
    tile: int | None
    tile_count: int
    lbfgs_pairs: int  # L-BFGS's curvature pairs
    peak_bytes: int
    flops: float  # per iteration, margins and the extra forward pass of tiles included


@dataclass(frozen=True)
class Plan:
    scales: tuple[ScalePlan, ...]
    budget: int
    budget_source: str
    lbfgs_pairs: int  # the recipe's L-BFGS memory (Adam: 1, for its two moments)

    @property
    def peak_bytes(self) -> int:
        return max(scale.peak_bytes for scale in self.scales)

    def seconds(self, flops_per_second: float) -> float:
        return sum(scale.iterations * scale.flops for scale in self.scales) / flops_per_second

    def describe(self, flops_per_second: float | None = None) -> str:
        lines = []
        for number, scale in enumerate(self.scales, 1):
            how = "whole image"
            if scale.tile is not None:
                how = f"{scale.tile_count} tiles of {scale.tile} px (+ margins)"
            if scale.lbfgs_pairs < min(self.lbfgs_pairs, scale.iterations):
                how += f", L-BFGS memory shortened to {scale.lbfgs_pairs} to fit"
            lines.append(f"  scale {number}: {scale.width}x{scale.height}, {scale.iterations} iterations, "
                         f"{how}: peak {format_size(scale.peak_bytes)}")  # fmt: skip
        lines.append(f"estimated peak memory: {format_size(self.peak_bytes)} "
                     f"(budget {format_size(self.budget)}, {self.budget_source})")  # fmt: skip
        if flops_per_second:
            lines.append(f"estimated time: {_duration(self.seconds(flops_per_second))} "
                         f"(at {flops_per_second / 1e9:.0f} GFLOP/s, measured here just now)")  # fmt: skip
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@dataclass(frozen=True)
class Workload:
    """What a run's memory and time depend on, besides each scale's size and strategy."""

    channels: int  # of the optimised image: 3, or 1 for luminance-only transfer
    precision: str
    deepest: str
    content_responses: float = 0.0  # per pixel, of the content targets kept for the whole image
    base: int = BASE_BYTES
    painting_share: float = 0.0  # the largest painting's pixels per output pixel, as its targets are taken

    def needs(
        self, width: int, height: int, lbfgs_pairs: int, tile: int | None, smaller: float = 0.0
    ) -> tuple[int, float, int]:
        """(peak bytes, FLOPs per iteration, tiles) of one scale; `smaller`: the pixels of the
        smaller copies it is also scored at (pyramid.py), as a share of its own. Those copies
        add their targets and their passes, one at a time: not to the peak of the largest."""
        pixels = width * height
        content_targets = pixels * (1 + smaller) * self.content_responses * 4
        buffers = pixels * self.channels * 4 * (2 * lbfgs_pairs + IMAGE_BUFFERS) + content_targets
        per_pixel = responses_per_pixel(self.deepest) * ACTIVATION_BYTES[self.precision]
        flops = flops_per_pixel(self.deepest) * (1 + smaller)
        if tile is None:
            # Before the loop, each painting's responses are taken without a graph; with a large
            # style_scale that forward pass can need more than the loop (float32 responses, kept
            # for the Gram matrices, bound it).
            painting = self.painting_share * pixels * responses_per_pixel(self.deepest) * 4
            peak = self.base + max(buffers + pixels * per_pixel, painting)
            return int(peak), pixels * flops, 1
        windows = [tile_.window for tile_ in tiles(height, width, tile, self.deepest)]
        areas = [(bottom - top) * (right - left) for top, bottom, left, right in windows]
        gradient = pixels * self.channels * 4  # the whole image's, added to tile by tile
        peak = self.base + buffers + gradient + max(areas) * per_pixel
        return int(peak), sum(areas) * flops * (1 + FORWARD_SHARE), len(windows)


def plan(
    sizes: list[tuple[int, int, int]], workload: Workload, lbfgs_pairs: int, budget: int, budget_source: str,
    tile: int | None = None, smaller: list[float] | None = None,
) -> Plan:  # fmt: skip
    """A strategy per scale ((width, height, iterations) each) that fits `budget`: the whole
    image if it fits, else the largest tiles that do with the recipe's L-BFGS memory
    (`lbfgs_pairs`), else with a shorter memory. `tile` forces tiles of that core (rounded up
    to the network's stride) wherever the image is larger; `smaller` gives each scale's
    smaller copies (Workload.needs). `budget_source` says where the budget comes from: GIVEN,
    or how it was found. Refuses with one line if nothing fits: the budget is too small where
    it was given, else the size too large."""
    step = smallest_side(workload.deepest)
    scales = []
    shares = smaller or [0.0] * len(sizes)
    for number, ((width, height, iterations), share) in enumerate(zip(sizes, shares, strict=True), 1):
        # L-BFGS keeps a pair per step taken, so a short scale never fills a long memory
        longest = min(lbfgs_pairs, iterations)
        memories = [longest] + [shorter for shorter in SHORTER_PAIRS if shorter < longest]
        if tile is not None:
            core = -(-tile // step) * step
            cores: list[int | None] = [core if core < max(width, height) else None]
        else:
            cores = [None, *(core for core in TILE_CORES if core < max(width, height))]
        options = [(core, memory) for memory in memories for core in cores]
        for core, memory in options:
            peak, flops, count = workload.needs(width, height, memory, core, share)
            if peak <= budget:
                scales.append(ScalePlan(width, height, iterations, core, count, memory, peak, flops))
                break
        else:
            core, memory = options[-1]
            peak, _, _ = workload.needs(width, height, memory, core, share)
            need = (f"at {width}x{height} (scale {number} of {len(sizes)}) the run needs about "
                    f"{format_size(peak)} even in tiles")  # fmt: skip
            if budget_source == GIVEN:
                raise SettingError("max_memory", f"is too small: {need}; give more, or a smaller size")
            raise SettingError("size", f"is too large for this machine: {need}, more than the "
                               f"{format_size(budget)} it may use ({budget_source})")  # fmt: skip
    return Plan(tuple(scales), budget, budget_source, lbfgs_pairs)
