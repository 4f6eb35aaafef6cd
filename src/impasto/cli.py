"""The `impasto` command: a caller of api.py whose options and defaults come from its signatures."""

from __future__ import annotations

import argparse
import inspect
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch
from tqdm import tqdm

from . import api, images, normalization, paths, reproduce, weights
from .errors import ImpastoError
from .optimize import Interrupted, Iterate
from .start import NOISES
from .vgg import LAYERS

# The paper's kind of run (for a GPU), and one small enough for a 2-core CPU.
PAPER = reproduce.Settings(size=api.SIZE, iterations=api.ITERATIONS)
QUICK = reproduce.Settings(size=128, iterations=200)
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_OUT_OF_MEMORY = 1


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line and status 2 (argparse's own would add the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _whole(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not positive")
    return value


def _number(text: str, allow_zero: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (value >= 0 if allow_zero else value > 0) or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be {'0 or more' if allow_zero else 'positive'}")
    return value


def _weight(text: str) -> float:
    return _number(text, allow_zero=True)


def _layers(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    for name in names:
        if name not in LAYERS:
            raise argparse.ArgumentTypeError(
                f"unknown layer {name!r} (VGG19 has conv1_1 ... conv5_4, pool1 ... pool5)"
            )
    if not names:
        raise argparse.ArgumentTypeError("no layer named")
    return names


def _weights_list(text: str) -> tuple[float, ...]:
    return tuple(_weight(part.strip()) for part in text.split(","))


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


# How each API parameter appears on the command line; the defaults come from api.py.
OPTIONS: dict[str, dict[str, Any]] = {
    "size": dict(type=_whole, metavar="N", help="long side of the output in pixels"),
    "iterations": dict(type=_whole, metavar="K",
                       help="evaluations of the loss and its gradient (one forward and backward pass each) "
                       f"at each scale (default: the recipe's; paper: {api.ITERATIONS})"),
    "recipe": dict(choices=api.RECIPES, help=f"fast: coarse to fine from {api.FAST_COARSEST} px, "
                   f"{api.FAST_FINAL_ITERATIONS} iterations at the output size and up to "
                   f"{api.FAST_MOST_ITERATIONS} at coarser ones, the same look at any size; "
                   "paper: the plain method, one size"),
    "precision": dict(choices=api.PRECISIONS, help="the network's arithmetic; auto: bfloat16 where the "
                      "hardware has it (AMX CPUs, recent GPUs), else float32"),
    "ratio": dict(type=_number, metavar="R", help="α/β, content weight over style weight"),
    "content_weight": dict(type=_weight, metavar="A", help="α, instead of --ratio"),
    "style_weight": dict(type=_weight, metavar="B", help="β, instead of --ratio"),
    "content_layers": dict(type=_layers, metavar="L,...", help="layers of the content representation"),
    "layer": dict(type=_layers, metavar="L", help="the layer whose content representation is matched"),
    "style_layers": dict(type=_layers, metavar="L,...", help="layers of the style representation"),
    "style_layer_weights": dict(type=_weights_list, metavar="W,...",
                                help="w_l per style layer (default: equal, summing to 1)"),
    "style_scale": dict(type=_number, metavar="S",
                        help="rescale the painting by S after matching the output's size"),
    "style_blend": dict(type=_weights_list, metavar="W,...",
                        help="with several style images: how much of each (normalised to sum to 1)"),
    "preserve_color": dict(choices=api.PRESERVE_COLOR[1:],
                           help="keep the photograph's colours: transfer in luminance only, or give the "
                           "paintings the photograph's colour histogram first"),
    "color_match": dict(choices=api.COLOR_MATCHES,
                        help="the linear colour map of --preserve-color histogram"),
    "content_mask": dict(metavar="MASK", help="regions of the output, as a few flat colours"),
    "style_mask": dict(nargs="+", metavar="MASK|COLOR",
                       help="one per style image: its regions (a mask), or a colour for all of it"),
    "fine_style": dict(metavar="PAINTING", help="take the fine texture (conv1_1, conv2_1) from this "
                       "painting, the coarse structure from the style"),
    "scales": dict(type=lambda text: tuple(_whole(part) for part in text.split(",")), metavar="N,...",
                   help="coarse to fine: optimise at each size in turn (--iterations at each); "
                   "the last is the output size"),
    "octaves": dict(type=_whole, metavar="K", help="coarse to fine over K sizes, each half the next, "
                    "ending at --size"),
    "tv_weight": dict(type=_weight, metavar="T", help="weight of a total variation (smoothness) term"),
    "color_tv_weight": dict(type=_weight, metavar="T", help="weight of a total variation term on the "
                            "colour channels alone, relative to the painting's: no colour grain, the "
                            "strokes' light and dark kept (default: the recipe's; fast "
                            f"{api.RECIPE_COLOR_TV_WEIGHT['fast']:g}, paper 0)"),
    "init": dict(metavar="noise|content|style|PATH", help="starting image"),
    "noise": dict(choices=NOISES, help="the start's noise: white (the paper's) or luminance (colour noise "
                  "drawn coarse, fine noise in luminance only, as rough as the painting, at every scale; "
                  "default: the recipe's, fast luminance, paper white)"),
    "seed": dict(type=_seed, metavar="S", help="random seed; on a CPU, the same seed repeats a run exactly"),
    "optimizer": dict(choices=("lbfgs", "adam"), help="optimiser"),
    "pooling": dict(choices=("avg", "max"), help="pooling layers: average (the paper) or max"),
    "device": dict(choices=api.DEVICES, help="where to compute"),
    "max_memory": dict(metavar="SIZE", help="memory the run may use, such as 8G; a size that does not fit "
                       "whole runs in tiles (default: the memory available now)"),
    "tile": dict(type=_whole, metavar="N", help="optimise in tiles of N px (rounded up to a multiple of 16, "
                 "plus a margin) whatever the memory: the result of the whole image, in less memory and "
                 "more time"),
    "weights": dict(metavar="PATH", help="VGG19 weights file, .h5 (Keras) or .pth (torchvision); "
                    "default: IMPASTO_WEIGHTS, the fetched file, else the packaged 8-bit copy"),
}  # fmt: skip


def _add_api_options(parser: argparse.ArgumentParser, function: Callable[..., Any]) -> None:
    """One option per keyword of `function`; an option not given is left to the API's default."""
    parser.set_defaults(function=function)
    for name, parameter in inspect.signature(function).parameters.items():
        if parameter.kind is not inspect.Parameter.KEYWORD_ONLY or name == "callback":
            continue
        if name == "normalize":
            parser.add_argument("--no-normalize", dest="normalize", action="store_false",
                                default=argparse.SUPPRESS,
                                help="the network as trained, not the paper's normalised one")  # fmt: skip
            continue
        spec = dict(OPTIONS[name])
        if parameter.default is not None:
            spec["help"] += f" (default: {_show(parameter.default)})"
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, default=argparse.SUPPRESS, **spec)


def _show(value: object) -> str:
    if isinstance(value, tuple | list):
        return ",".join(str(item) for item in value)
    return str(value)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output image; its extension sets the format (png, jpg, webp, bmp, tif)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print how the run would go (scales, tiles), its peak memory and time, and stop",
    )
    parser.add_argument(
        "--save-every",
        type=_whole,
        metavar="N",
        help="also write the image every N iterations, as OUT_STEM.NNNN.EXT",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="impasto", description="Paint photographs in the style of artworks "
                     "(Gatys, Ecker & Bethge, CVPR 2016).")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    transfer = commands.add_parser("transfer", help="paint a photograph in the style of a painting")
    transfer.add_argument("content", help="the photograph")
    transfer.add_argument("paintings", nargs="*", metavar="STYLE", help="the painting(s), or --style")
    transfer.add_argument(
        "--style",
        dest="more_paintings",
        nargs="+",
        metavar="STYLE",
        default=[],
        help="the painting(s), instead of after CONTENT",
    )
    _add_run_options(transfer)
    _add_api_options(transfer, api.transfer)

    content = commands.add_parser("content", help="reconstruct a photograph from one layer (Figure 1)")
    content.add_argument("content", help="the photograph")
    _add_run_options(content)
    _add_api_options(content, api.reconstruct_content)

    texture = commands.add_parser("texture", help="synthesise a painting's style alone (Figure 1)")
    texture.add_argument("style", help="the painting")
    _add_run_options(texture)
    _add_api_options(texture, api.synthesize_texture)

    reproduce_command = commands.add_parser(
        "reproduce", help="regenerate the paper's figures as contact sheets and an HTML report"
    )
    reproduce_command.add_argument(
        "figures",
        nargs="*",
        metavar="FIGURE",
        help=f"all (the default) or any of {', '.join(reproduce.FIGURES)}",
    )
    reproduce_command.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    reproduce_command.add_argument(
        "--quick",
        action="store_true",
        help=f"small and fast: {QUICK.size} px, {QUICK.iterations} iterations "
        "(about 13 minutes for all figures on 2 CPU cores)",
    )
    reproduce_command.add_argument(
        "--size",
        type=_whole,
        metavar="N",
        help=f"long side of the panels (default {PAPER.size}, --quick {QUICK.size})",
    )
    reproduce_command.add_argument(
        "--iterations",
        type=_whole,
        metavar="K",
        help=f"per panel (default {PAPER.iterations}, --quick {QUICK.iterations})",
    )
    reproduce_command.add_argument("--device", choices=api.DEVICES, default="auto", help="where to compute")

    weights_command = commands.add_parser("weights", help="where VGG19's weights come from")
    actions = weights_command.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("fetch", help="put the full-precision weights in the cache (about 75 MB)")
    actions.add_parser("info", help="say which weights are used, where they are, their checksum")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = vars(parser.parse_args(argv))
    try:
        command = arguments.pop("command")
        if command == "weights":
            return _weights(arguments["action"])
        if command == "reproduce":
            return _reproduce(arguments)
        return _run(arguments)
    except ImpastoError as error:
        print(f"impasto: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:  # before the optimisation started: nothing to write yet
        print("impasto: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (MemoryError, RuntimeError) as error:  # torch's allocators raise RuntimeErrors
        if not _out_of_memory(error):
            raise
        print("impasto: error: ran out of memory; give a lower --max-memory (it then works in "
              "smaller tiles) or a smaller --size", file=sys.stderr)  # fmt: skip
        return EXIT_OUT_OF_MEMORY


def _out_of_memory(error: BaseException) -> bool:
    message = str(error).lower()
    return isinstance(error, MemoryError | torch.OutOfMemoryError) or any(
        words in message for words in ("out of memory", "can't allocate memory", "not enough memory")
    )


def _weights(action: str) -> int:
    if action == "fetch":
        weights.fetch(log=lambda line: print(line, file=sys.stderr))
        return 0
    source = weights.resolve()
    print(f"weights:  {source.description}")
    print(f"file:     {source.path}")
    print(f"chosen:   {_origin(source)}")
    print(f"md5:      {weights.md5(source.path)}")
    print(f"size:     {source.path.stat().st_size:,} bytes")
    print(f"cache:    {weights.cache_dir()}")
    print(f"normalisation scales: {paths.data_path(normalization.SCALES_FILE)}")
    return 0


def _reproduce(arguments: dict[str, Any]) -> int:
    base = QUICK if arguments["quick"] else PAPER
    settings = reproduce.Settings(
        size=arguments["size"] or base.size,
        iterations=arguments["iterations"] or base.iterations,
        device=arguments["device"],
    )
    unknown = set(arguments["figures"]) - {"all", *reproduce.FIGURES}
    if unknown:
        raise ImpastoError(f"no figure {sorted(unknown)[0]!r}; choose all or {', '.join(reproduce.FIGURES)}")
    wanted = arguments["figures"] or ["all"]
    names = list(reproduce.FIGURES) if "all" in wanted else wanted
    out = Path(arguments["out"])
    try:  # fail now rather than after the first panel
        out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=out).close()
    except OSError:
        raise ImpastoError(f"{out}: cannot write a report in this folder") from None
    reproduce.reproduce(names, out, settings, log=lambda line: print(line, file=sys.stderr))
    return 0


def _origin(source: weights.WeightsSource) -> str:
    return {
        "package": "default (run 'impasto weights fetch' for the full-precision file)",
        "cache": "fetched full-precision file in the cache",
        "IMPASTO_WEIGHTS": "the IMPASTO_WEIGHTS variable",
        "--weights": "--weights",
    }[source.origin]


def _run(arguments: dict[str, Any]) -> int:
    function = arguments.pop("function")
    output = arguments.pop("output")
    dry_run = arguments.pop("dry_run")
    save_every = arguments.pop("save_every")
    quiet = arguments.pop("quiet")
    if output is None and not dry_run:
        raise ImpastoError("give an output image with -o/--output")
    output = Path(output) if output is not None else None
    if output is not None:
        images.check_writable(output)
    if function is api.transfer:
        paintings = arguments.pop("paintings") + arguments.pop("more_paintings")
        if not paintings:
            raise ImpastoError("give a style image (after the photograph, or with --style)")
        arguments["style"] = paintings
    if "layer" in arguments:
        arguments["layer"] = _single_layer(arguments["layer"])
    if "scales" in arguments:  # the last scale is the output size
        arguments.setdefault("size", arguments["scales"][-1])
    if "ratio" in arguments and ("content_weight" in arguments or "style_weight" in arguments):
        raise ImpastoError("give --ratio or --content-weight/--style-weight, not both")
    if "seed" not in arguments and arguments.get("init", "noise") == "noise":
        arguments["seed"] = random.randrange(2**31)  # drawn here so that the summary can report it
    inputs = [arguments.pop(name) for name in ("content", "style") if name in arguments]
    if dry_run:
        print(api.estimate(function, *inputs, **arguments))
        return 0
    assert output is not None
    progress: tqdm | None = None  # opened at the first iterate, once the inputs have been checked
    evaluations = 0

    def report(iterate: Iterate) -> None:
        nonlocal progress, evaluations
        evaluations = iterate.step  # counted across all scales
        if progress is None:
            progress = tqdm(total=iterate.steps, unit="it", file=sys.stderr,
                            disable=quiet, dynamic_ncols=True, leave=False)  # fmt: skip
        progress.update(1)
        progress.set_postfix(size=f"{iterate.tensor.shape[-1]}x{iterate.tensor.shape[-2]}",
                             content=f"{iterate.content_loss:.3g}", style=f"{iterate.style_loss:.3g}",
                             refresh=False)  # fmt: skip
        if save_every and evaluations % save_every == 0:
            images.write_image(iterate.image, _intermediate(output, evaluations))

    started = time.perf_counter()
    interrupted = False
    try:
        image = function(*inputs, callback=report, **arguments)
    except Interrupted as stop:
        image, interrupted = images.to_pil(stop.result.image), True
    finally:
        if progress is not None:
            progress.close()
    images.write_image(image, output)
    if interrupted:
        print(f"impasto: interrupted after {evaluations} iterations; "
              f"wrote the best image so far to {output}", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    if not quiet:
        seed = f", seed {arguments['seed']}" if "seed" in arguments else ""
        print(f"impasto: wrote {output} ({image.width}x{image.height}, {evaluations} iterations "
              f"in {time.perf_counter() - started:.0f} s{seed})", file=sys.stderr)  # fmt: skip
    return 0


def _single_layer(layers: tuple[str, ...]) -> str:
    if len(layers) != 1:
        raise ImpastoError("--layer takes one layer")
    return layers[0]


def _intermediate(output: Path, iteration: int) -> Path:
    return output.with_name(f"{output.stem}.{iteration:04d}{output.suffix}")
