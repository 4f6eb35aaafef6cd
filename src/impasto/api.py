"""The Python API, and the one home of every default: the command line is built from these signatures.

    import impasto
    painting = impasto.transfer("photo.jpg", "starry_night.jpg", size=256, iterations=200)
    painting.save("out.png")

`transfer` is the paper's style transfer; `reconstruct_content` and `synthesize_texture` are
its Figure 1: an image made from one layer's content representation, or from the style
representation alone. Each starts from white noise, optimises the pixels, and returns the
best image evaluated as a PIL image. `callback`, if given, receives an `Iterate` (iteration
number, losses, elapsed time, current image) after every iteration. Ctrl-C raises
`Interrupted`, a KeyboardInterrupt whose `result.image` is the best image so far.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

import torch
from PIL import Image

from . import color, images, masks, memory, normalization, pyramid, start, tiles, weights
from .color import ColorMatch
from .errors import ImpastoError
from .losses import PerceptualLoss
from .optimize import LBFGS_HISTORY, Interrupted, Iterate, Optimizer, Result, optimize
from .start import NOISES, Noise
from .vgg import VGG19, Pooling, Precision, check_layers, deepest, smallest_side

# Shared by transfer(), reconstruct_content() and synthesize_texture(): the paper's kind of run.
SIZE = 512  # long side of the output, pixels
RECIPES = ("fast", "paper")
ITERATIONS = 500  # the paper recipe's loss-and-gradient evaluations (per scale)
# The fast recipe, measured against the paper's in bench/quality_vs_time.py: coarse to fine,
# doubling from FAST_COARSEST px, with FAST_FINAL_ITERATIONS at the output size and twice as
# many at each coarser scale (cheap there) up to FAST_MOST_ITERATIONS, which an output of one
# scale (below 2 * FAST_COARSEST) gets; and a short L-BFGS memory (each curvature pair is two
# copies of the image).
FAST_COARSEST = 128
FAST_FINAL_ITERATIONS = 50
FAST_MOST_ITERATIONS = 200
FAST_HISTORY = 20
# Clean pictures (start.py, bench/RESULTS.md "Colour grain"): the fast recipe seeds fine detail
# in luminance only and smooths colour alone; the paper recipe keeps the paper's white noise.
RECIPE_NOISE: dict[str, Noise] = {"fast": "luminance", "paper": "white"}
RECIPE_COLOR_TV_WEIGHT = {"fast": 0.02, "paper": 0.0}
PRECISIONS = ("auto", "float32", "bfloat16")
DEFAULT_STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
FINE_LAYERS = ("conv1_1", "conv2_1")  # the style layers whose Gram matrices hold fine texture
PRESERVE_COLOR = (None, "luminance", "histogram")
COLOR_MATCHES = ("cholesky", "pca", "symmetric")
INITS = ("noise", "content", "style")
DEVICES = ("auto", "cpu", "cuda", "mps")

Callback = Callable[[Iterate], None]
PathOrImage = images.ImageInput


def transfer(
    content: PathOrImage,
    style: PathOrImage | Sequence[PathOrImage],
    *,
    size: int = SIZE,
    iterations: int | None = None,
    recipe: str = "fast",
    ratio: float = 1e-3,
    content_weight: float | None = None,
    style_weight: float | None = None,
    content_layers: Sequence[str] = ("conv4_2",),
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
    style_layer_weights: Sequence[float] | None = None,
    style_scale: float = 1.0,
    style_blend: Sequence[float] | None = None,
    preserve_color: str | None = None,
    color_match: ColorMatch = "cholesky",
    content_mask: PathOrImage | None = None,
    style_mask: Sequence[PathOrImage | str] | None = None,
    fine_style: PathOrImage | None = None,
    scales: Sequence[int] | None = None,
    octaves: int | None = None,
    tv_weight: float = 0.0,
    color_tv_weight: float | None = None,
    init: str = "noise",
    noise: Noise | None = None,
    seed: int | None = None,
    optimizer: Optimizer = "lbfgs",
    pooling: Pooling = "avg",
    normalize: bool = True,
    device: str = "auto",
    precision: str = "auto",
    max_memory: str | int | None = None,
    tile: int | None = None,
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
) -> Image.Image:
    """`content` painted in the style of `style` (Gatys et al. 2016), with the controls of
    Gatys et al. 2017 ("Controlling Perceptual Factors in Neural Style Transfer").

    size: long side of the output in pixels; the painting is rescaled to the same long side,
        times `style_scale`, before its style representation is taken.
    iterations: evaluations of the loss and its gradient (forward + backward), for either
        optimizer, at each scale; default: the recipe's.
    recipe: "fast" (coarse to fine from FAST_COARSEST px, doubling: FAST_FINAL_ITERATIONS
        iterations at the output size and twice as many at each coarser scale, up to
        FAST_MOST_ITERATIONS, which an output of one scale gets; L-BFGS memory FAST_HISTORY;
        above 512 px each scale is also scored at smaller copies of the image, so that the
        look does not change with size (pyramid.py); reaches the paper recipe's quality in a
        fraction of its time, bench/RESULTS.md) or
        "paper" (one size, ITERATIONS iterations from the start image, L-BFGS memory 100).
        `scales` or `octaves` replace either recipe's sizes.
    ratio: α/β, the weight of content relative to style; `content_weight` (α) and
        `style_weight` (β) set them directly instead.
    style_layer_weights: w_l for each of `style_layers`; default 1/len(style_layers) each.
    style: one painting or several; `style_blend` weighs their Gram matrices (normalised to
        sum to 1; default equal).
    preserve_color: None (the paper), "luminance" (style is transferred in luminance only and
        the photograph keeps its colours) or "histogram" (the paintings first take the
        photograph's colour distribution, by the linear map `color_match`: "cholesky", "pca"
        or "symmetric").
    content_mask, style_mask: spatial control. Masks of a few flat colours name regions; each
        region of the output takes its style from the region of the same colour in the
        paintings. `style_mask` has one entry per painting: a mask image, or a colour
        ("#ff8800", "red") meaning the whole painting is that region.
    fine_style: scale control; a painting whose fine texture (the style layers conv1_1 and
        conv2_1) replaces that of `style`, which keeps the coarse structure.
    scales: coarse to fine: sizes (long side) to optimise at in turn, each started from the
        previous result upsampled; the last is the output size. `octaves`: the same with
        that many sizes, each half the next, ending at `size`.
    tv_weight: weight of a total variation (smoothness) term; 0 leaves the paper's loss.
    color_tv_weight: weight of a total variation term on the colour channels alone (YIQ's I
        and Q), divided by the same of the paintings at the size they are seen at, so that
        colour grain costs as much whatever the painting and the size: it removes colour
        grain and leaves the strokes' light and dark free (start.py); default: the recipe's
        (fast RECIPE_COLOR_TV_WEIGHT["fast"], paper 0).
    init: "noise", "content", "style", or the path of an image.
    noise: the random part of the start (start.py): "white" (the paper's white noise, at the
        first scale) or "luminance" (colour noise drawn coarse, fine noise in luminance only,
        as rough as the painting, at every scale); default: the recipe's (fast luminance,
        paper white).
    seed: makes a run repeatable bit for bit on the same machine's CPU (GPU kernels need not
        be deterministic); None draws one.
    normalize: use the paper's normalised network (each filter's mean response 1).
    precision: the network's arithmetic: "float32", "bfloat16" (features in bf16, Gram
        matrices and losses in float32), or "auto": bfloat16 where the hardware computes it
        natively (CPUs with AMX, CUDA GPUs that support it), else float32.
    max_memory: what the run may use ("8G", or bytes); default 90% of the memory available.
        A scale whose whole image does not fit runs in tiles (the same result, more time);
        if the tiles do not fit with the recipe's L-BFGS memory, a shorter memory is used;
        if nothing fits, the run is refused before it starts.
    tile: run every scale in tiles with cores of this many pixels, whatever the memory.
    weights: a VGG19 weights file (Keras .h5 or torchvision .pth); default as `impasto
        weights info` says.
    """
    alpha, beta = _loss_weights(ratio, content_weight, style_weight)
    layer_weights = _style_layer_weights(style_layers, style_layer_weights)
    _check_positive(style_scale=style_scale)
    _check_weight(tv_weight=tv_weight)
    if color_tv_weight is not None:
        _check_weight(color_tv_weight=color_tv_weight)
    if preserve_color not in PRESERVE_COLOR:
        raise ImpastoError(f"preserve_color must be luminance or histogram, not {preserve_color!r}")
    if color_match not in COLOR_MATCHES:
        raise ImpastoError(f"color_match must be one of {', '.join(COLOR_MATCHES)}, not {color_match!r}")
    paths_or_images = [style] if isinstance(style, str | os.PathLike | Image.Image) else list(style)
    if not paths_or_images:
        raise ImpastoError("give at least one style image")
    blend = _blend(style_blend, len(paths_or_images))
    masks_given = list(style_mask) if style_mask is not None else [None] * len(paths_or_images)
    if len(masks_given) != len(paths_or_images):
        raise ImpastoError(
            f"{len(masks_given)} style masks for {len(paths_or_images)} style images; give one each"
        )
    if style_mask is not None and content_mask is None:
        raise ImpastoError("style masks need a content mask (--content-mask)")
    problem = _Problem(
        init=init, seed=seed, optimizer=optimizer, recipe=recipe, precision=precision,
        max_memory=max_memory, tile=tile,
        pooling=pooling, normalize=normalize, device=device, weights=weights,
        content_layers=tuple(content_layers), style_layers=tuple(style_layers),
        schedule=_schedule(size, iterations, recipe, scales, octaves), noise_kind=noise,
        luminance=preserve_color == "luminance",
    )  # fmt: skip
    photograph = images.read_image(content)
    paintings = [images.read_image(painting) for painting in paths_or_images]
    if preserve_color == "histogram":
        paintings = [_match_colors(painting, photograph, color_match) for painting in paintings]
    styles = [
        _Style(painting, weight, _style_region(mask))
        for painting, weight, mask in zip(paintings, blend, masks_given, strict=True)
    ]
    fine = images.read_image(fine_style) if fine_style is not None else None
    if fine is not None and preserve_color == "histogram":
        fine = _match_colors(fine, photograph, color_match)
    return problem.solve(
        _Job(photograph, styles, alpha, beta, layer_weights, callback, style_scale=style_scale,
             content_mask=content_mask, fine_style=fine, tv_weight=tv_weight,
             color_tv_weight=_recipe_default(RECIPE_COLOR_TV_WEIGHT, recipe, color_tv_weight))
    )  # fmt: skip


def reconstruct_content(
    content: PathOrImage,
    *,
    layer: str = "conv4_2",
    size: int = SIZE,
    iterations: int | None = None,
    recipe: str = "fast",
    color_tv_weight: float | None = None,
    init: str = "noise",
    noise: Noise | None = None,
    seed: int | None = None,
    optimizer: Optimizer = "lbfgs",
    pooling: Pooling = "avg",
    normalize: bool = True,
    device: str = "auto",
    precision: str = "auto",
    max_memory: str | int | None = None,
    tile: int | None = None,
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
) -> Image.Image:
    """An image whose responses at `layer` match the photograph's (Figure 1, content row)."""
    problem = _Problem(
        init=init, seed=seed, optimizer=optimizer, recipe=recipe, precision=precision,
        max_memory=max_memory, tile=tile,
        pooling=pooling, normalize=normalize, device=device, weights=weights,
        content_layers=(layer,), style_layers=(), schedule=_schedule(size, iterations, recipe, None, None),
        noise_kind=noise,
    )  # fmt: skip
    color_tv_weight = _recipe_default(RECIPE_COLOR_TV_WEIGHT, recipe, color_tv_weight)
    return problem.solve(_Job(images.read_image(content), [], 1.0, 0.0, {}, callback,
                              color_tv_weight=color_tv_weight))  # fmt: skip


def synthesize_texture(
    style: PathOrImage,
    *,
    style_layers: Sequence[str] = DEFAULT_STYLE_LAYERS,
    style_layer_weights: Sequence[float] | None = None,
    size: int = SIZE,
    iterations: int | None = None,
    recipe: str = "fast",
    color_tv_weight: float | None = None,
    init: str = "noise",
    noise: Noise | None = None,
    seed: int | None = None,
    optimizer: Optimizer = "lbfgs",
    pooling: Pooling = "avg",
    normalize: bool = True,
    device: str = "auto",
    precision: str = "auto",
    max_memory: str | int | None = None,
    tile: int | None = None,
    weights: str | os.PathLike[str] | None = None,
    callback: Callback | None = None,
) -> Image.Image:
    """An image with the painting's style representation alone (Figure 1, style row)."""
    style_layer_weights = _style_layer_weights(style_layers, style_layer_weights)
    problem = _Problem(
        init=init, seed=seed, optimizer=optimizer, recipe=recipe, precision=precision,
        max_memory=max_memory, tile=tile,
        pooling=pooling, normalize=normalize, device=device, weights=weights,
        content_layers=(), style_layers=tuple(style_layers),
        schedule=_schedule(size, iterations, recipe, None, None), noise_kind=noise,
    )  # fmt: skip
    painting = _Style(images.read_image(style), 1.0, None)
    color_tv_weight = _recipe_default(RECIPE_COLOR_TV_WEIGHT, recipe, color_tv_weight)
    return problem.solve(_Job(None, [painting], 0.0, 1.0, style_layer_weights, callback,
                              color_tv_weight=color_tv_weight))  # fmt: skip


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
        last = self.plan.steps[-1]
        iterations = sum(step.iterations for step in self.plan.steps)
        scales = len(self.plan.steps)
        head = (f"{last.width}x{last.height} output: {scales} scale{'s' if scales > 1 else ''}, "
                f"{iterations} iterations, {self.precision} on {self.device}")  # fmt: skip
        return head + "\n" + self.plan.describe(self.flops_per_second)


def estimate(function: Callable[..., Image.Image], *args: object, **options: object) -> Estimate:
    """What `function(*args, **options)` (transfer, reconstruct_content or synthesize_texture)
    would need, without running it: its inputs are read and checked and one small forward and
    backward pass is timed, nothing is optimised."""
    token = _ESTIMATING.set(True)
    try:
        function(*args, **options)
    except _Estimated as estimated:
        return estimated.estimate
    finally:
        _ESTIMATING.reset(token)
    raise AssertionError(f"{function.__name__} ran instead of being estimated")


_ESTIMATING: ContextVar[bool] = ContextVar("estimating", default=False)


class _Estimated(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, estimate: Estimate) -> None:
        self.estimate = estimate


def resolve_device(name: str) -> torch.device:
    if name not in DEVICES:
        raise ImpastoError(f"device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available[name]:
        raise ImpastoError(f"device {name!r} is not available on this machine; use --device cpu")
    return torch.device(name)


@dataclass(frozen=True)
class _Style:
    """One painting of a run: its image, its blend weight, and the region it provides
    (None: all of them; a colour: all of the painting is that region; else a mask)."""

    image: Image.Image
    weight: float
    region: PathOrImage | masks.Color | None


@dataclass(frozen=True)
class _Job:
    """What one call asks for, beyond the settings of its `_Problem`."""

    content: Image.Image | None
    styles: list[_Style]
    content_weight: float
    style_weight: float
    style_layer_weights: dict[str, float]
    callback: Callback | None
    style_scale: float = 1.0
    content_mask: PathOrImage | None = None
    fine_style: Image.Image | None = None
    tv_weight: float = 0.0
    color_tv_weight: float = 0.0


@dataclass(frozen=True)
class _Problem:
    """What every kind of run shares: the network, the starting image, the loop over scales."""

    init: str
    seed: int | None
    optimizer: str
    recipe: str
    precision: str
    max_memory: str | int | None
    tile: int | None
    pooling: str
    normalize: bool
    device: str
    weights: str | os.PathLike[str] | None
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    schedule: tuple[tuple[int, int], ...]  # (long side, iterations) per scale, coarse to fine
    noise_kind: Noise | None = None  # None: the recipe's; see `noise`
    luminance: bool = False  # optimise luminance only, keep the photograph's colours

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ImpastoError(f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}")
        if self.tile is not None:
            _check_whole(tile=self.tile)
        if self.max_memory is not None:
            memory.parse_size(self.max_memory)
        if self.optimizer not in ("lbfgs", "adam"):
            raise ImpastoError(f"optimizer must be lbfgs or adam, not {self.optimizer!r}")
        if self.pooling not in ("avg", "max"):
            raise ImpastoError(f"pooling must be avg or max, not {self.pooling!r}")
        if self.noise_kind is not None and self.noise_kind not in NOISES:
            raise ImpastoError(f"noise must be one of {', '.join(NOISES)}, not {self.noise_kind!r}")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63
        ):
            raise ImpastoError(f"seed must be a whole number from 0 to 2**63 - 1, not {self.seed!r}")
        try:
            check_layers(self.content_layers + self.style_layers)
        except ValueError as error:
            raise ImpastoError(str(error)) from None

    def network(self, device: torch.device) -> VGG19:
        source = weights.resolve(self.weights)
        parameters = weights.load(source)
        scales = normalization.scales_for(source, parameters) if self.normalize else None
        last = deepest(self.content_layers + self.style_layers)
        precision = resolve_precision(self.precision, device)
        network = VGG19(parameters, source.convention, self.pooling, last, scales, precision)
        return network.to(device)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(long_side for long_side, _ in self.schedule)

    @property
    def noise(self) -> Noise:
        return self.noise_kind or RECIPE_NOISE[self.recipe]

    def solve(self, job: _Job) -> Image.Image:
        device = resolve_device(self.device)
        reference = job.content if job.content is not None else job.styles[0].image
        first = images.resize_long_side(reference, self.sizes[0])
        seed = self.seed if self.seed is not None else random.randrange(2**32)
        generator = torch.Generator().manual_seed(seed)
        # before the slow part: fail early
        variable = self._start(first, job, generator)
        paintings = [style.image for style in job.styles] + ([job.fine_style] if job.fine_style else [])
        self._check_sizes(reference, paintings, job.style_scale)
        plan = self.plan(reference, device, paintings, job.style_scale)
        if _ESTIMATING.get():
            precision = resolve_precision(self.precision, device)
            throughput = self._throughput(device, self.sizes[-1])
            raise _Estimated(Estimate(plan, throughput, precision, str(device)))
        network = self.network(device)
        counts = [step.iterations for step in plan.steps]
        result = None
        for number, ((long_side, _), step) in enumerate(zip(self.schedule, plan.steps, strict=True), 1):
            try:
                start = variable if result is None else result.pixels
                photograph = images.resize_long_side(reference, long_side)
                progress = (number, len(counts), sum(counts[: number - 1]), sum(counts))
                result = self._solve_at(job, progress, photograph, network, start, step, generator)
            except KeyboardInterrupt as interrupt:
                stopped = interrupt.result if isinstance(interrupt, Interrupted) else result
                if stopped is None:
                    raise
                # the best image so far, at the output's size even if it came from a coarser scale
                last = plan.steps[-1]
                if stopped.image.shape[-2:] != (last.height, last.width):
                    stopped.image = start.enlarge(stopped.image, (last.height, last.width))
                raise Interrupted(stopped) from None
        assert result is not None
        return images.to_pil(result.image)

    def plan(
        self, reference: Image.Image, device: torch.device, paintings: Sequence[Image.Image] = (),
        style_scale: float = 1.0,
    ) -> memory.Plan:  # fmt: skip
        """How each scale runs (whole or in tiles) within the memory budget."""
        if self.max_memory is not None:
            budget, source = memory.parse_size(self.max_memory), "--max-memory"
        else:
            budget, source = memory.available(device)
        sizes = [
            (*images.resize_long_side(reference, long_side).size, iterations)
            for long_side, iterations in self.schedule
        ]
        model = memory.Model(
            channels=1 if self.luminance else 3,
            precision=resolve_precision(self.precision, device),
            deepest=deepest(self.content_layers + self.style_layers),
            content_responses=sum(memory.layer_responses_per_pixel(name) for name in self.content_layers),
            base=memory.BASE_BYTES if device.type == "cpu" else memory.GPU_BASE_BYTES,
            painting_share=max((_area_share(painting, reference) for painting in paintings), default=0.0)
            * style_scale**2,
        )
        smaller = [sum((side / long) ** 2 for side in self.levels(long)) for long in self.sizes]
        return memory.plan(sizes, model, self.history, budget, source, self.tile, smaller)

    @property
    def history(self) -> int:
        """L-BFGS's curvature pairs (Adam keeps two image-sized moments: count them as one)."""
        if self.optimizer == "adam":
            return 1
        return FAST_HISTORY if self.recipe == "fast" else LBFGS_HISTORY

    def _throughput(self, device: torch.device, long_side: int) -> float:
        """FLOP/s of a forward and backward pass on this machine, timed (best of two, after
        a warm-up) at the output's long side or 384 px, whichever is smaller."""
        network = self.network(device)
        layers = self.content_layers + self.style_layers
        side = min(long_side, 384)
        image = torch.rand(1, 3, side, side, device=device, requires_grad=True)
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            sum(response.sum() for response in network(image, layers).values()).backward()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            elif device.type == "mps":
                torch.mps.synchronize()
            timings.append(time.perf_counter() - started)
        return memory.flops_per_pixel(deepest(layers)) * side * side / min(timings[1:])

    def _solve_at(
        self, job: _Job, progress: tuple[int, int, int, int], photograph: Image.Image, network: VGG19,
        variable: torch.Tensor, step: memory.Step, generator: torch.Generator,
    ) -> Result:  # fmt: skip
        """One scale of the schedule, at the size of `photograph`, started from `variable`
        (enlarged to that size after the first scale, with fresh luminance noise where the
        noise is "luminance"), whole or in tiles as `step` says.
        `progress`: (this scale, of how many, iterations before it, iterations in all)."""
        number, scales, done, total = progress
        device = next(network.parameters()).device
        width, height = photograph.size
        objective: pyramid.Objective = self._objective(job, photograph, network, step.tile)
        smaller = [images.resize_long_side(photograph, side) for side in self.levels(max(width, height))]
        if smaller:
            objective = pyramid.PyramidObjective(
                [(objective, (height, width))]
                + [(self._objective(job, level, network, step.tile), (level.height, level.width))
                   for level in smaller]
            )  # fmt: skip
        start_image = variable
        if number > 1:
            start_image = start.enlarge(variable, (height, width))
            if self.noise == "luminance":
                shape = (start_image.shape[1], height, width)
                roughness = self._paintings_mean(job, max(width, height), start.roughness)
                start_image = start_image + start.luminance_noise(shape, roughness, generator)
        photo = images.to_tensor(photograph, device)
        render = (lambda y: color.with_colors_of(y, photo)) if self.luminance else None
        return optimize(
            start_image.to(device),
            objective,
            step.iterations,
            self.optimizer,  # type: ignore[arg-type]
            job.callback,
            render,
            (number, scales),
            history=step.history,
            steps=(done, total),
        )

    def levels(self, long_side: int) -> list[int]:
        """The smaller sizes a scale of `long_side` is also scored at (pyramid.py): the fast
        recipe's, so that the look does not change with size; the paper recipe has none."""
        return pyramid.levels(long_side) if self.recipe == "fast" else []

    def _objective(
        self, job: _Job, photograph: Image.Image, network: VGG19, tile: int | None
    ) -> pyramid.Objective:
        """The paper's objective at the size of `photograph`: against the photograph and the
        paintings at that size, whole or in tiles of `tile` px where the image is larger."""
        device = next(network.parameters()).device
        width, height = photograph.size
        tile = tile if tile is not None and tile < max(width, height) else None
        photo = images.to_tensor(photograph, device)
        regions, colors = None, [None]
        if job.content_mask is not None:
            indices, colors = masks.read_mask(job.content_mask, (width, height), "the content mask")
            regions = masks.one_hot(indices, len(colors)).to(device)
        with torch.no_grad():
            content_targets = {}
            if job.content is not None:
                content_input = self._network_input(photo)
                if tile is None:
                    content_targets = network(content_input, self.content_layers)
                else:
                    content_targets = tiles.responses(network, content_input, list(self.content_layers), tile)
            painting_size = round(max(width, height) * job.style_scale)
            style_targets = self._style_targets(
                network, job.styles, colors, painting_size, photo, job.fine_style, tile
            )
        color_tv_weight = 0.0
        if job.color_tv_weight:  # relative to the colour roughness of the paintings at this size
            roughness = self._paintings_mean(job, max(width, height), start.color_roughness)
            color_tv_weight = job.color_tv_weight / max(roughness, 1e-8)
        loss = PerceptualLoss(content_targets, style_targets, job.content_weight, job.style_weight,
                              job.style_layer_weights, regions, job.tv_weight, color_tv_weight)  # fmt: skip
        if tile is not None:
            return tiles.TiledObjective(network, loss, self._network_input, tile)
        return lambda image: loss(network(self._network_input(image), loss.layers), image)

    def _check_sizes(self, reference: Image.Image, paintings: list[Image.Image], style_scale: float) -> None:
        """Every image must be large enough to reach the deepest layer at the smallest size it
        is seen at: the first scale, or a smaller copy that a scale is also scored at."""
        deepest_layer = deepest(self.content_layers + self.style_layers)
        needed = smallest_side(deepest_layer)
        smallest = min(self.sizes + tuple(level for size in self.sizes for level in self.levels(size)))
        first = images.resize_long_side(reference, smallest)
        long_side = max(1, round(smallest * style_scale))
        for what, image in [("the output", first)] + [
            ("a style image", images.resize_long_side(p, long_side)) for p in paintings
        ]:
            if min(image.size) < needed:
                raise ImpastoError(
                    f"{what} would be {image.width}x{image.height} px at the smallest size; {deepest_layer} "
                    f"needs at least {needed} px on the shorter side (raise --size or the smallest scale)"
                )

    def _network_input(self, image: torch.Tensor) -> torch.Tensor:
        """What the network sees: the image, or its luminance as a grey RGB image."""
        if self.luminance:
            return color.grey_to_rgb(image if image.shape[1] == 1 else color.luminance(image))
        return image

    def _style_targets(
        self,
        network: VGG19,
        styles: list[_Style],
        colors: list[masks.Color | None],
        long_side: int,
        photo: torch.Tensor,
        fine_style: Image.Image | None,
        tile: int | None = None,
    ) -> dict[str, torch.Tensor]:
        """(R, N, N) per-position Gram targets per style layer, one per region of the output.

        A region's target blends the paintings that provide it, by their blend weights; with
        `fine_style`, the fine layers take that painting's Gram matrices in every region.
        """
        if not styles:
            return {}
        device = photo.device
        sums: dict[str, torch.Tensor] = {}
        totals = torch.zeros(len(colors), device=device)
        for painting in styles:
            resized = images.resize_long_side(painting.image, max(1, long_side))
            maps, provided = self._style_regions(painting, resized.size, colors, device)
            grams = _gram_targets(
                network, self._painting_input(resized, photo), self.style_layers, maps, tile
            )
            for name, gram in grams.items():
                # scatter the painting's regions onto the output's regions it provides
                placed = torch.zeros(len(colors), *gram.shape[1:], device=device)
                placed[provided] = gram
                sums[name] = sums.get(name, 0) + painting.weight * placed
            totals[provided] += painting.weight
        missing = [c for c, total in zip(colors, totals.tolist(), strict=True) if total == 0]
        if missing:
            raise masks.MaskError(
                f"the content mask's colour {masks.hex_color(missing[0])} is in no style mask"
            )
        targets = {name: total / totals.view(-1, 1, 1) for name, total in sums.items()}
        if fine_style is not None:
            resized = images.resize_long_side(fine_style, max(1, long_side))
            fine_layers = [name for name in FINE_LAYERS if name in self.style_layers]
            fine = _gram_targets(network, self._painting_input(resized, photo), fine_layers, None, tile)
            for name in fine_layers:
                targets[name] = fine[name].expand(len(colors), -1, -1)
        return targets

    def _painting_input(self, painting: Image.Image, photo: torch.Tensor) -> torch.Tensor:
        image = images.to_tensor(painting, photo.device)
        if self.luminance:  # the 2017 paper: the style's luminance, matched to the content's
            return color.grey_to_rgb(color.match_luminance(image, photo))
        return image

    @staticmethod
    def _style_regions(
        painting: _Style, size: tuple[int, int], colors: list, device: torch.device
    ) -> tuple[torch.Tensor | None, list[int]]:
        """The painting's region maps at `size`, and which output regions they provide."""
        if painting.region is None:  # the whole painting, for every region
            return None, list(range(len(colors)))
        if isinstance(painting.region, tuple):  # the whole painting is one region
            provided = [i for i, c in enumerate(colors) if c == painting.region]
            return None, provided
        indices, own = masks.read_mask(painting.region, size, "a style mask")
        provided = [i for i, c in enumerate(colors) if c in own]
        keep = [own.index(colors[i]) for i in provided]
        return masks.one_hot(indices, len(own))[keep].to(device), provided

    def _start(self, first: Image.Image, job: _Job, generator: torch.Generator) -> torch.Tensor:
        """The starting image at the first size: noise from `generator` (start.py), the
        content, the style, or a file; one luminance channel for luminance-only transfer."""
        width, height = first.size
        shape = (1 if self.luminance else 3, height, width)
        if self.init == "noise" and self.noise == "white":
            return start.white_noise(shape, generator)
        if self.init == "noise":
            roughness = self._paintings_mean(job, max(width, height), start.roughness)
            return start.luminance_start(shape, roughness, generator)
        if self.init in INITS:
            chosen = job.content if self.init == "content" else (job.styles[0].image if job.styles else None)
            if chosen is None:
                raise ImpastoError(
                    f"init {self.init!r} needs a {self.init} image, which this run has none of"
                )
        else:
            chosen = images.read_image(self.init)
        image = images.to_tensor(chosen.resize((width, height), Image.Resampling.LANCZOS))
        return color.luminance(image) if self.luminance else image

    @staticmethod
    def _paintings_mean(job: _Job, long_side: int, statistic: Callable[[Image.Image], float]) -> float:
        """`statistic` of the paintings at the size their style is taken at for an output of
        `long_side`, by their blend weights; of the photograph where there is no painting."""
        if not job.styles:
            return statistic(images.resize_long_side(job.content, long_side))
        painting_side = max(1, round(long_side * job.style_scale))
        return sum(
            style.weight * statistic(images.resize_long_side(style.image, painting_side))
            for style in job.styles
        )


def _gram_targets(
    network: VGG19, image: torch.Tensor, layers: Sequence[str], maps: torch.Tensor | None, tile: int | None
) -> dict[str, torch.Tensor]:
    """A painting's per-position Gram matrices per region, whole or from tiles."""
    if tile is None:
        return PerceptualLoss.gram_targets(network(image, layers), maps)
    return tiles.gram_targets(network, image, list(layers), tile, maps)


def _area_share(image: Image.Image, reference: Image.Image) -> float:
    """Pixels of `image` per pixel of `reference`, both resized to the same long side."""
    return (min(image.size) / max(image.size)) / (min(reference.size) / max(reference.size))


def _schedule(
    size: int, iterations: int | None, recipe: str, scales: Sequence[int] | None, octaves: int | None
) -> tuple[tuple[int, int], ...]:
    """(long side, iterations) per scale, coarse to fine; the last size is always `size`.

    Explicit `scales` or `octaves` set the sizes, else the recipe does; `iterations`, given,
    applies at every scale, else the recipe's counts do.
    """
    _check_whole(size=size)
    if recipe not in RECIPES:
        raise ImpastoError(f"recipe must be one of {', '.join(RECIPES)}, not {recipe!r}")
    if iterations is not None:
        _check_whole(iterations=iterations)
    if scales is not None and octaves is not None:
        raise ImpastoError("give scales or octaves, not both")
    if scales is not None:
        sizes = tuple(scales)
        for value in sizes:
            _check_whole(scales=value)
        if not sizes or list(sizes) != sorted(set(sizes)):
            raise ImpastoError("scales must be increasing sizes, for example 256,512")
        if sizes[-1] != size:
            raise ImpastoError(f"the last of the scales ({sizes[-1]}) is the output size, but size is {size}")
    elif octaves is not None:
        _check_whole(octaves=octaves)
        sizes = tuple(sorted({max(1, round(size / 2**k)) for k in range(octaves)}))
    elif recipe == "fast":
        sizes = (size,)
        while sizes[0] / 2 >= FAST_COARSEST:
            sizes = (round(sizes[0] / 2), *sizes)
    else:
        sizes = (size,)
    if iterations is not None:
        counts = [iterations] * len(sizes)
    elif recipe == "fast" and len(sizes) > 1:  # counted back from the output size
        counts = [min(FAST_MOST_ITERATIONS, FAST_FINAL_ITERATIONS * 2**k) for k in range(len(sizes))][::-1]
    elif recipe == "fast":  # one small scale, all from the start image
        counts = [FAST_MOST_ITERATIONS]
    else:
        counts = [ITERATIONS] * len(sizes)
    return tuple(zip(sizes, counts, strict=True))


def _recipe_default(defaults: dict, recipe: str, given: object) -> object:
    """`given`, or the recipe's default where it is None."""
    return defaults.get(recipe) if given is None else given


def resolve_precision(name: str, device: torch.device) -> Precision:
    """ "auto": bfloat16 where the hardware computes it natively (a CUDA GPU that supports
    it, a CPU with AMX tiles), else float32."""
    if name != "auto":
        return name  # type: ignore[return-value]
    if device.type == "cuda":  # native from Ampere (compute capability 8) on
        return "bfloat16" if torch.cuda.get_device_capability(device) >= (8, 0) else "float32"
    if device.type == "cpu":
        try:
            native = torch.cpu._is_amx_tile_supported()
        except AttributeError:  # a torch without the query: assume not
            native = False
        return "bfloat16" if native else "float32"
    return "float32"


def _match_colors(painting: Image.Image, photograph: Image.Image, method: ColorMatch) -> Image.Image:
    return images.to_pil(color.match_colors(images.to_tensor(painting), images.to_tensor(photograph), method))


def _style_region(mask: PathOrImage | str | None) -> PathOrImage | masks.Color | None:
    """A style mask entry as a colour (a colour name or #rrggbb) or a mask image."""
    if isinstance(mask, str) and not os.path.exists(mask):
        named = masks.parse_color(mask)
        if named is not None:
            return named
    return mask


def _blend(given: Sequence[float] | None, count: int) -> list[float]:
    """Blend weights for `count` paintings, normalised to sum to 1."""
    if given is None:
        return [1 / count] * count
    given = list(given)
    if len(given) != count:
        raise ImpastoError(f"{len(given)} blend weights for {count} style images; give one per style")
    for value in given:
        _check_weight(style_blend=value)
    if sum(given) <= 0:
        raise ImpastoError("the blend weights must not all be 0")
    return [value / sum(given) for value in given]


def _check_weight(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not (isinstance(value, int | float) and 0 <= value < float("inf")):
            raise ImpastoError(f"{name} must be a number of 0 or more, not {value!r}")


def _check_whole(**values: object) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ImpastoError(f"{name} must be a positive whole number, not {value!r}")


def _check_positive(**values: float | None) -> None:
    for name, value in values.items():
        if value is not None and not (isinstance(value, int | float) and value > 0 and value < float("inf")):
            raise ImpastoError(f"{name} must be a positive number, not {value!r}")


def _loss_weights(ratio: float, alpha: float | None, beta: float | None) -> tuple[float, float]:
    """(α, β) from the ratio α/β, or from either weight given directly."""
    _check_positive(ratio=ratio)
    for name, value in (("content_weight", alpha), ("style_weight", beta)):
        if value is not None:
            _check_weight(**{name: value})
    if alpha is None and beta is None:
        return ratio, 1.0
    if beta is None:  # α alone: β from the ratio, or 1 where α = 0 (style alone)
        return alpha, alpha / ratio if alpha else 1.0
    if alpha is None:  # β alone: α from the ratio, or 1 where β = 0 (content alone)
        return ratio * beta if beta else 1.0, beta
    if alpha == 0 and beta == 0:
        raise ImpastoError("content_weight and style_weight cannot both be 0")
    return alpha, beta


def _style_layer_weights(layers: Sequence[str], given: Sequence[float] | None) -> dict[str, float]:
    """w_l per style layer: 1/L each by default (the paper's 1/5 for five layers)."""
    layers = tuple(layers)
    if not layers:
        raise ImpastoError("style layers must name at least one layer")
    if given is None:
        return {name: 1 / len(layers) for name in layers}
    given = tuple(given)
    if len(given) != len(layers):
        raise ImpastoError(
            f"{len(given)} style layer weights for {len(layers)} style layers; give one per layer"
        )
    for value in given:
        _check_weight(style_layer_weights=value)
    return dict(zip(layers, given, strict=True))
