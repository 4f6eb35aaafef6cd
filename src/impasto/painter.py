"""The engine: a `Painter` holds one network and paints any number of pictures with it.

    painter = impasto.Painter()                       # loads the network once
    result = painter.paint("photo.jpg", "starry_night.jpg", impasto.Settings(size=256))
    result.image.save("painted.png")

    run = painter.iterate("photo.jpg", "starry_night.jpg")   # the same run, one iterate at a time
    for iterate in run:
        show(iterate.image)
    run.result.image.save("painted.png")

A run is: read and check the inputs (inputs.py), plan the scales (schedule.py) and their
memory (memory.py), then the loop over scales below: each scale starts from the one before,
enlarged (start.py), builds its objective from the targets (targets.py, objective.py), and
descends it (optimize.py), handing every evaluation to the caller as an `Iterate`. The command
line, the web page, video and batches are all callers of this loop.

A painter is not safe to use from two threads at once (the network and the target cache are
shared, unguarded); one thread at a time, or one painter per thread, is.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from PIL import Image
from torch import Tensor

from . import color, images, memory, objective, start
from .errors import ImpastoError, SettingError
from .hardware import resolve_device, resolve_precision
from .images import ImageInput
from .inputs import Inputs
from .losses import Temporal
from .network import build as build_network
from .optimize import Iterate, descend
from .schedule import Scale, lbfgs_pairs, schedule
from .settings import Settings
from .targets import TargetCache, Targets
from .vgg import VGG19, deepest, smallest_side
from .weights import load as load_weights
from .weights import resolve as resolve_weights

Callback = Callable[[Iterate], None]
Style = ImageInput | Sequence[ImageInput] | None


class Cancel(Protocol):
    """Anything with `is_set()`, such as a `threading.Event`: a run checks it after every
    iteration and stops with the best image so far once it is set."""

    def is_set(self) -> bool: ...


@dataclass
class Result:
    """What a run made: the best image evaluated (at the output's size), its losses, and how."""

    image: Image.Image
    loss: float  # the best evaluation's total (at the last scale reached)
    content_loss: float
    style_loss: float
    seed: int
    seconds: float
    iterations: int  # evaluations done, over all scales
    losses: list[tuple[float, float, float]] = field(default_factory=list, repr=False)  # per iteration
    stopped: bool = False  # cancelled or interrupted before the last iteration


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; `result` holds the best image so far."""

    def __init__(self, result: Result) -> None:
        super().__init__("interrupted")
        self.result = result


@dataclass(frozen=True)
class Estimate:
    """What a run would need: how each scale runs, peak memory, and time on this machine."""

    plan: memory.Plan
    flops_per_second: float
    precision: str
    device: str

    @property
    def peak_bytes(self) -> int:
        return self.plan.peak_bytes

    @property
    def seconds(self) -> float:
        return self.plan.seconds(self.flops_per_second)

    def __str__(self) -> str:
        last = self.plan.scales[-1]
        iterations = sum(scale.iterations for scale in self.plan.scales)
        count = len(self.plan.scales)
        head = (f"{last.width}x{last.height} output: {count} scale{'s' if count > 1 else ''}, "
                f"{iterations} iterations, {self.precision} on {self.device}")  # fmt: skip
        return head + "\n" + self.plan.describe(self.flops_per_second)


class Painter:
    """One VGG19, loaded once, that paints any number of pictures (see the module's description).

    device: "auto" (a CUDA GPU, else MPS, else the CPU), "cpu", "cuda" or "mps".
    precision: the network's arithmetic: "float32", "bfloat16" (features in bf16, Gram
        matrices and losses in float32), or "auto": bfloat16 where the hardware computes it
        natively (CPUs with AMX or AVX512-BF16, CUDA GPUs from Ampere on), else float32.
    weights: a VGG19 weights file (Keras .h5 or torchvision .pth); default as `impasto
        weights info` says.
    The paintings' targets are kept (`cache`), so a second photograph in the same style and
    size does not compute them again. The weights are read, and each network built, at its
    first use (`load()` does it at once, for a server that should be ready before its first
    visitor), so that a run refuses bad inputs before that work.
    """

    def __init__(self, device: str = "auto", precision: str = "auto",
                 weights: str | os.PathLike[str] | None = None) -> None:  # fmt: skip
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.weights = resolve_weights(weights)
        self.cache = TargetCache()
        self._networks: dict[tuple[str, bool], VGG19] = {}

    def load(self) -> Painter:
        """Read the weights and build the paper's network now rather than at the first run."""
        self.network()
        return self

    def network(self, pooling: str = "avg", normalize: bool = True) -> VGG19:
        """The network with this pooling and normalisation, built once."""
        key = (pooling, normalize)
        if key not in self._networks:
            parameters = load_weights(self.weights)  # read once: load() keeps them
            network = build_network(self.weights, parameters, pooling, normalize, self.precision)  # type: ignore[arg-type]
            self._networks[key] = network.to(self.device)
        return self._networks[key]

    def paint(self, content: ImageInput | None, style: Style, settings: Settings | None = None, *,
              callback: Callback | None = None, cancel: Cancel | None = None,
              temporal: Temporal | None = None) -> Result:  # fmt: skip
        """`content` painted in the style of `style` (one painting or several); either may be
        None, for a texture (style alone) or a reconstruction (content alone). `callback`
        sees every iterate; once `cancel` is set, the run stops and returns the best image so
        far. Ctrl-C raises `Interrupted`, which holds the same. `temporal`: a video frame's
        temporal loss (video.py)."""
        run = self.iterate(content, style, settings, cancel=cancel, temporal=temporal)
        try:
            for iterate in run:
                if callback is not None:
                    callback(iterate)
        except Interrupted:
            raise
        except KeyboardInterrupt:  # in the callback
            raise run.interrupted() from None
        return run.result

    def iterate(self, content: ImageInput | None, style: Style, settings: Settings | None = None, *,
                cancel: Cancel | None = None, temporal: Temporal | None = None) -> Run:  # fmt: skip
        """The run of `paint` as an iterator of its iterates, with `.result` (the best image
        so far, at any point). Its inputs are read and checked, and its memory planned, now.
        `temporal`: a video frame's temporal loss (video.py)."""
        settings = settings or Settings()
        inputs = Inputs.read(content, style, settings)
        scales, plan = self._plan(inputs, settings)
        return Run(self, inputs, settings, scales, plan, cancel, temporal)

    def estimate(
        self, content: ImageInput | None, style: Style, settings: Settings | None = None
    ) -> Estimate:
        """What `paint` would need, without running it: the inputs are read and checked and one
        forward and backward pass is timed, nothing is optimised."""
        settings = settings or Settings()
        inputs = Inputs.read(content, style, settings)
        scales, plan = self._plan(inputs, settings)
        throughput = self._throughput(scales[-1].long_side, layers_in_use(inputs, settings))
        return Estimate(plan, throughput, self.precision, str(self.device))

    def _plan(self, inputs: Inputs, settings: Settings) -> tuple[tuple[Scale, ...], memory.Plan]:
        """The scales and, for each, how it runs within the memory budget; refused in one line
        if an image would be too small for the deepest layer or nothing fits."""
        reference = inputs.reference.size
        scales = schedule(settings, reference)
        layers = layers_in_use(inputs, settings)
        _check_sizes(inputs, settings, scales, deepest(layers))
        if settings.max_memory is not None:
            budget, source = memory.parse_size(settings.max_memory), memory.GIVEN
        else:
            budget, source = memory.available(self.device)
        paintings = [p.image for p in inputs.paintings] + ([inputs.fine_style] if inputs.fine_style else [])
        workload = memory.Workload(
            channels=1 if settings.luminance_only else 3,
            precision=self.precision,
            deepest=deepest(layers),
            content_responses=sum(memory.layer_responses_per_pixel(name) for name in settings.content_layers)
            if inputs.photograph is not None else 0.0,
            base=memory.BASE_BYTES if self.device.type == "cpu" else memory.GPU_BASE_BYTES,
            painting_share=max((_area_share(p, inputs.reference) for p in paintings), default=0.0)
            * settings.style_scale**2,
        )  # fmt: skip
        smaller = [sum((side / scale.long_side) ** 2 for side in scale.levels) for scale in scales]
        sizes = [(scale.width, scale.height, scale.iterations) for scale in scales]
        plan = memory.plan(sizes, workload, lbfgs_pairs(settings), budget, source, settings.tile, smaller)
        return scales, plan

    def _throughput(self, long_side: int, layers: Sequence[str]) -> float:
        """FLOP/s of a forward and backward pass on this machine, timed (best of two, after
        a warm-up) at the output's long side or 384 px, whichever is smaller."""
        network = self.network()
        side = min(long_side, 384)
        image = torch.rand(1, 3, side, side, device=self.device, requires_grad=True)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            sum(response.sum() for response in network(image, layers).values()).backward()
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
            elif self.device.type == "mps":
                torch.mps.synchronize()
            timings.append(time.perf_counter() - started)
        return memory.flops_per_pixel(deepest(layers)) * side * side / min(timings[1:])


class Run:
    """One run in progress (`Painter.iterate`): iterating over it optimises, scale by scale,
    and yields every iterate; `result` is the best image so far at any point."""

    def __init__(self, painter: Painter, inputs: Inputs, settings: Settings, scales: tuple[Scale, ...],
                 plan: memory.Plan, cancel: Cancel | None,
                 temporal: Temporal | None = None) -> None:  # fmt: skip
        self.painter = painter
        self.inputs = inputs
        self.settings = settings
        self.scales = scales
        self.plan = plan
        self.cancel = cancel
        self.seed = settings.seed if settings.seed is not None else random.randrange(2**32)
        self.network = painter.network(settings.pooling, settings.normalize)
        self.targets = Targets(self.network, (settings.pooling, settings.normalize), inputs, settings,
                               painter.cache, temporal)  # fmt: skip
        self.losses: list[tuple[float, float, float]] = []
        self.finished = False
        self._best: tuple[float, Tensor, tuple[float, float], int] | None = None  # loss, pixels, terms, scale
        self._previous: tuple[float, Tensor, tuple[float, float], int] | None = None  # the last scale's best
        self._started = time.perf_counter()
        self._seconds = 0.0
        self._iterated = False

    def __iter__(self) -> Iterator[Iterate]:
        if self._iterated:
            raise ImpastoError("a run is iterated once; start another with Painter.iterate")
        self._iterated = True
        settings, device = self.settings, self.painter.device
        generator = torch.Generator().manual_seed(self.seed)
        planned = sum(scale.iterations for scale in self.scales)
        done = 0
        self._started = time.perf_counter()
        try:
            for number, (scale, how) in enumerate(zip(self.scales, self.plan.scales, strict=True), 1):
                begin = self._start(scale, generator).to(device)
                scored = objective.for_scale(self.targets, scale, how.tile)
                render = self._renderer(scale)
                self._previous, self._best = self._best, None
                steps = descend(begin, scored, scale.iterations, settings.optimizer, how.lbfgs_pairs)  # type: ignore[arg-type]
                for iteration, (pixels, evaluation) in enumerate(steps, 1):
                    terms = evaluation.terms
                    loss, content, style = terms.total.item(), terms.content.item(), terms.style.item()
                    done += 1
                    self.losses.append((loss, content, style))
                    if self._best is None or loss < self._best[0]:
                        self._best = (loss, pixels.detach().clone(), (content, style), number)
                    self._seconds = time.perf_counter() - self._started
                    shown = render(pixels.detach()).clone()
                    yield Iterate(iteration, scale.iterations, loss, content, style, self._seconds, shown,
                                  number, len(self.scales), done, planned)  # fmt: skip
                    if self.cancel is not None and self.cancel.is_set():
                        return
            self.finished = True
        except KeyboardInterrupt:
            raise self.interrupted() from None
        finally:
            self._seconds = time.perf_counter() - self._started

    def interrupted(self) -> KeyboardInterrupt:
        """What Ctrl-C raises: `Interrupted` with the best image so far, or a plain
        KeyboardInterrupt before there is one."""
        if self._best is None and self._previous is None:
            return KeyboardInterrupt()
        return Interrupted(self.result)

    @property
    def result(self) -> Result:
        """The best image evaluated so far: at the last scale reached, or the one before it
        where the last has not been evaluated yet, enlarged to the output's size."""
        best = self._best or self._previous
        if best is None:
            raise ImpastoError("the run was stopped before its first iteration")
        loss, pixels, (content, style), number = best
        image = self._renderer(self.scales[number - 1])(pixels)
        last = self.scales[-1]
        if image.shape[-2:] != (last.height, last.width):
            image = start.enlarge(image, (last.height, last.width))
        return Result(images.to_pil(image), loss, content, style, self.seed, self._seconds, len(self.losses),
                      self.losses, stopped=not self.finished)  # fmt: skip

    def _start(self, scale: Scale, generator: torch.Generator) -> Tensor:
        """Where `scale` starts (start.py): the first from noise or an image, each later one
        from the best of the one before, enlarged, with fresh luminance noise where the noise
        is "luminance"."""
        settings = self.settings
        shape = (1 if settings.luminance_only else 3, scale.height, scale.width)
        if self._best is not None:
            image = start.enlarge(self._best[1].cpu(), (scale.height, scale.width))
            if settings.noise_kind == "luminance":
                image = image + start.luminance_noise(
                    shape, self.targets.roughness(scale.long_side), generator
                )
            return image
        if settings.init == "noise" and settings.noise_kind == "white":
            return start.white_noise(shape, generator)
        if settings.init == "noise":
            return start.luminance_start(shape, self.targets.roughness(scale.long_side), generator)
        chosen = self.inputs.start
        if settings.init == "content":
            chosen = self.inputs.photograph
        elif settings.init == "style":
            chosen = self.inputs.paintings[0].image
        assert chosen is not None  # Inputs.read has checked
        image = images.to_tensor(chosen.resize((scale.width, scale.height), Image.Resampling.LANCZOS))
        return color.luminance(image) if settings.luminance_only else image

    def _renderer(self, scale: Scale) -> Callable[[Tensor], Tensor]:
        """The optimised variable as the RGB image it stands for: itself, or for luminance-only
        transfer the luminance with the photograph's colours at that size."""
        if not self.settings.luminance_only:
            return lambda pixels: pixels
        photo = self.targets.photograph(scale.width, scale.height)
        return lambda y: color.with_colors_of(y.to(photo.device), photo)


def layers_in_use(inputs: Inputs, settings: Settings) -> tuple[str, ...]:
    """The layers a run computes: the content layers if there is a photograph, the style
    layers if there is a painting."""
    content = settings.content_layers if inputs.photograph is not None else ()
    style = settings.style_layers if inputs.paintings else ()
    return content + style


def _check_sizes(inputs: Inputs, settings: Settings, scales: tuple[Scale, ...], deepest_layer: str) -> None:
    """Every image must reach the deepest layer at the smallest size it is seen at: the first
    scale, or a smaller copy that a scale is also scored at."""
    needed = smallest_side(deepest_layer)
    smallest = min(side for scale in scales for side in (scale.long_side, *scale.levels))
    paintings = [p.image for p in inputs.paintings] + ([inputs.fine_style] if inputs.fine_style else [])
    painting_side = max(1, round(smallest * settings.style_scale))
    for what, size in [("the output", images.size_at(inputs.reference.size, smallest))] + [
        ("a painting", images.size_at(painting.size, painting_side)) for painting in paintings
    ]:
        if min(size) < needed:
            parameter = "size" if settings.scales is None else "scales"
            raise SettingError(parameter, f"is too small: {what} would be {size[0]}x{size[1]} px at the "
                               f"smallest scale, and {deepest_layer} needs at least {needed} px on the "
                               "shorter side")  # fmt: skip


def _area_share(image: Image.Image, reference: Image.Image) -> float:
    """Pixels of `image` per pixel of `reference`, both resized to the same long side."""
    return (min(image.size) / max(image.size)) / (min(reference.size) / max(reference.size))
