"""The `impasto` command: a caller of the engine whose run options are the fields of `Settings`.

Every option of `transfer`, `content` and `texture` is a field of `Settings` (its help,
choices and reader come from the field's metadata) or a parameter of `Painter` (device,
precision, weights); the command adds only what a terminal needs: the output file, a
progress bar, a dry run and intermediate images. A bad value gets one line naming its flag
and exit status 2; Ctrl-C writes the best image so far and exits with 130.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch
from tqdm import tqdm

from . import batch, images, normalization, paths, reproduce, weights
from .errors import ImpastoError, SettingError
from .hardware import DEVICES, PRECISIONS
from .optimize import Iterate
from .painter import Interrupted, Painter, Result
from .settings import Settings, fields_for
from .video import Stopped, VideoSettings, paint_video

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_OUT_OF_MEMORY = 1
EXIT_SOME_FAILED = 1  # impasto batch: some rows failed, the others were painted
# The inputs each painting command takes: which fields of Settings apply to it.
COMMANDS = {
    "transfer": ("content", "style"),
    "content": ("content",),
    "texture": ("style",),
}
ENGINE = {  # the Painter's own parameters
    "device": dict(choices=DEVICES, default="auto", help="where to compute (default: auto)"),
    "precision": dict(choices=PRECISIONS, default="auto", help="the network's arithmetic; auto: bfloat16 "
                      "where the hardware computes it natively (CPUs with AMX or AVX512-BF16, recent GPUs), "
                      "else float32 (default: auto)"),
    "weights": dict(metavar="PATH", default=None, help="VGG19 weights file, .h5 (Keras) or .pth "
                    "(torchvision); default: IMPASTO_WEIGHTS, the fetched file, else the packaged "
                    "8-bit copy"),
}  # fmt: skip


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line and status 2 (argparse's own would add the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


FLAGS = {"normalize": "--no-normalize", "cluster": "--ray"}  # where a flag is not the parameter's name


def flag(parameter: str) -> str:
    """The command line's name for a parameter of Settings, Painter or a batch."""
    return FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def _reader(parse: Any) -> Any:
    """`parse` as an argparse type: text that it cannot read gets "'x' is not <what it reads>"."""

    def read(text: str) -> Any:
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {parse.__doc__}") from None

    return read


def _add_settings(parser: argparse.ArgumentParser, fields: Sequence[dataclasses.Field]) -> None:
    """One option per field (of Settings, or of VideoSettings), then the Painter's; an option
    not given is left to the field's default."""
    for field in fields:
        meta = field.metadata
        if field.name == "normalize":
            parser.add_argument(flag("normalize"), dest="normalize", action="store_false",
                                default=argparse.SUPPRESS, help="the network as trained, not the paper's "
                                "normalised one")  # fmt: skip
            continue
        spec: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS,
                                "help": meta["help"].replace("%", "%%")}  # argparse formats help with %
        if meta["choices"]:
            spec["choices"] = meta["choices"]
        if meta["metavar"]:
            spec["metavar"] = meta["metavar"]
        if meta["parse"]:
            spec["type"] = _reader(meta["parse"])
        if meta["many"]:
            spec["nargs"] = "+"
        if field.default is not None and "default:" not in meta["help"]:
            spec["help"] += f" (default: {_show(field.default)})"
        parser.add_argument(flag(field.name), **spec)
    for name, spec in ENGINE.items():
        parser.add_argument(flag(name), dest=name, **spec)


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
        type=_reader(_positive_whole),
        metavar="N",
        help="also write the image every N iterations, as OUT_STEM.NNNN.EXT",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar or summary")  # fmt: skip


def _positive_whole(text: str) -> int:
    """a positive whole number"""
    value = int(text)
    if value <= 0:
        raise ValueError(text)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="impasto", description="Paint photographs in the style of artworks "
                     "(Gatys, Ecker & Bethge, CVPR 2016).")  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    transfer = commands.add_parser("transfer", help="paint a photograph in the style of a painting")
    transfer.add_argument("content", help="the photograph")
    transfer.add_argument("paintings", nargs="*", metavar="STYLE", help="the painting(s), or --style")
    transfer.add_argument("--style", dest="more_paintings", nargs="+", metavar="STYLE", default=[],
                          help="the painting(s), instead of after CONTENT")  # fmt: skip
    content = commands.add_parser("content", help="reconstruct a photograph from its content representation "
                                  "alone (Figure 1)")  # fmt: skip
    content.add_argument("content", help="the photograph")
    texture = commands.add_parser("texture", help="synthesise a painting's style representation alone "
                                  "(Figure 1)")  # fmt: skip
    texture.add_argument("paintings", nargs=1, metavar="STYLE", help="the painting")
    for name, command in (("transfer", transfer), ("content", content), ("texture", texture)):
        command.set_defaults(inputs=COMMANDS[name])
        _add_run_options(command)
        _add_settings(command, fields_for(COMMANDS[name]))

    clip = commands.add_parser("video", help="paint a video, or a folder of frames, without flicker "
                               "(optical flow, Ruder et al.); stopped, the same command goes on")  # fmt: skip
    clip.add_argument("source", metavar="INPUT", help="a video file, or a folder of numbered frames")
    clip.add_argument("paintings", nargs="+", metavar="STYLE", help="the painting(s)")
    clip.add_argument("-o", "--output", required=True, metavar="OUT", help="a video file (.mp4, .mov, .mkv, "
                      ".webm, .avi, .gif) or a folder for the frames (frame_000001.png, ...)")  # fmt: skip
    clip.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    _add_settings(clip, [*fields_for(COMMANDS["transfer"]), *dataclasses.fields(VideoSettings)])

    many = commands.add_parser("batch", help="paint many photographs, each in the style of one or more "
                               "paintings, into a folder; stopped, the same command goes on")  # fmt: skip
    many.add_argument("--content", nargs="+", default=[], metavar="PATH", help="the photographs: files, "
                      "folders or globs")  # fmt: skip
    many.add_argument("--style", nargs="+", default=[], metavar="PATH", help="the paintings: files, folders "
                      "or globs")  # fmt: skip
    many.add_argument("-o", "--output", required=True, metavar="DIR", help="the folder for the outputs "
                      "(PHOTO_x_PAINTING.png), results.jsonl and contact-sheet.png")  # fmt: skip
    many.add_argument("--pairs", choices=("all", "zip"), default="all", help="all: every photograph with "
                      "every painting; zip: the first with the first, and so on (default: all)")  # fmt: skip
    many.add_argument("--manifest", metavar="FILE", help="a CSV file of more rows: columns content, style "
                      "(several separated by ;), optionally output, and any setting (ratio, size, ...) "
                      "that the row overrides")  # fmt: skip
    many.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS", help="paint on a Ray "
                      "cluster: a new one on this machine, or the one at ADDRESS (pip install "
                      "'impasto[ray]')")  # fmt: skip
    many.add_argument("--workers", type=_reader(_positive_whole), metavar="N", help="with --ray: at most N "
                      "workers (default: one per GPU, else one per --threads CPUs)")  # fmt: skip
    many.add_argument("--threads", type=_reader(_positive_whole), metavar="N", help="CPU threads per engine "
                      "(default: all cores here; with --ray, 1)")  # fmt: skip
    many.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    _add_settings(many, fields_for(COMMANDS["transfer"]))

    quick, paper = reproduce.QUICK, reproduce.PAPER
    reproduction = commands.add_parser("reproduce", help="regenerate the paper's figures as contact sheets "
                                       "and an HTML report")  # fmt: skip
    reproduction.add_argument(
        "figures",
        nargs="*",
        metavar="FIGURE",
        help=f"all (the default) or any of {', '.join(reproduce.FIGURES)}",
    )
    reproduction.add_argument("--out", required=True, metavar="DIR", help="folder for the report")
    reproduction.add_argument(
        "--quick",
        action="store_true",
        help=f"small and fast: {quick.size} px, "
        f"{quick.iterations} iterations (about 13 minutes for all figures on 2 CPU cores)",
    )
    reproduction.add_argument(
        "--size",
        type=_reader(_positive_whole),
        metavar="N",
        help=f"long side of the panels (default {paper.size}, --quick {quick.size})",
    )
    reproduction.add_argument(
        "--iterations",
        type=_reader(_positive_whole),
        metavar="K",
        help=f"per panel (default {paper.iterations}, --quick {quick.iterations})",
    )
    reproduction.add_argument("--device", choices=DEVICES, default="auto",
                              help="where to compute")  # fmt: skip

    serve = commands.add_parser("serve", help="a web page for painting from a browser")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1, "
                       "this machine only; 0.0.0.0 for every network)")
    serve.add_argument("--port", type=_reader(_positive_whole), default=7860, help="(default: 7860)")
    serve.add_argument("--max-size", type=_reader(_positive_whole), default=1024, metavar="N",
                       help="the largest output a visitor may ask for, in px (default: 1024)")
    serve.add_argument("--device", choices=DEVICES, default="auto", help="where to compute (default: auto)")

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
        if command == "serve":
            return _serve(arguments)
        if command == "video":
            return _video(arguments)
        if command == "batch":
            return _batch(arguments)
        return _paint(arguments)
    except SettingError as error:
        print(f"impasto: error: {flag(error.parameter)} {error.detail}", file=sys.stderr)
        return EXIT_BAD_INPUT
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


def _paint(arguments: dict[str, Any]) -> int:
    """transfer, content or texture: check everything, then run with a progress bar."""
    inputs = arguments.pop("inputs")
    output, dry_run = arguments.pop("output"), arguments.pop("dry_run")
    save_every, quiet = arguments.pop("save_every"), arguments.pop("quiet")
    engine = {name: arguments.pop(name) for name in ENGINE}
    content = arguments.pop("content", None)
    paintings = arguments.pop("paintings", []) + arguments.pop("more_paintings", [])
    if "style" in inputs and not paintings:
        raise ImpastoError("give a style image (after the photograph, or with --style)")
    settings = Settings(**arguments)
    style = paintings or None
    if output is None and not dry_run:
        raise ImpastoError("give an output image with -o/--output")
    if output is not None:
        output = Path(output)
        images.check_writable(output)
        _refuse_overwriting_an_input(output, [content, *paintings], settings, engine["weights"])
    painter = Painter(**engine)
    if dry_run:
        print(painter.estimate(content, style, settings))
        return 0
    assert output is not None
    run = painter.iterate(content, style, settings)
    progress = tqdm(total=sum(scale.iterations for scale in run.scales), unit="it", file=sys.stderr,
                    disable=quiet, dynamic_ncols=True, leave=False)  # fmt: skip
    try:
        for iterate in run:
            _report(iterate, progress, output, save_every)
    except KeyboardInterrupt:
        stopped = run.interrupted()
        if not isinstance(stopped, Interrupted):
            raise stopped from None
        return _finish(stopped.result, output, quiet, interrupted=True)
    finally:
        progress.close()
    return _finish(run.result, output, quiet)


def _report(iterate: Iterate, progress: tqdm, output: Path, save_every: int | None) -> None:
    progress.update(1)
    progress.set_postfix(size=f"{iterate.tensor.shape[-1]}x{iterate.tensor.shape[-2]}",
                         content=f"{iterate.content_loss:.3g}", style=f"{iterate.style_loss:.3g}",
                         refresh=False)  # fmt: skip
    if save_every and iterate.done % save_every == 0:
        images.write_image(
            iterate.image, output.with_name(f"{output.stem}.{iterate.done:04d}{output.suffix}")
        )


def _finish(result: Result, output: Path, quiet: bool, interrupted: bool = False) -> int:
    images.write_image(result.image, output)
    if interrupted:
        print(f"impasto: interrupted after {result.iterations} iterations; "
              f"wrote the best image so far to {output}", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    if not quiet:
        print(f"impasto: wrote {output} ({result.image.width}x{result.image.height}, {result.iterations} "
              f"iterations in {result.seconds:.0f} s, seed {result.seed})", file=sys.stderr)  # fmt: skip
    return 0


def _refuse_overwriting_an_input(
    output: Path, given: list[Any], settings: Settings, weights_file: Any
) -> None:
    """-o must not name a file the run reads: the photograph, a painting, a mask, a start image."""
    named = [*given, settings.content_mask, *(settings.style_mask or ()), settings.fine_style, weights_file]
    if settings.init not in ("noise", "content", "style"):
        named.append(settings.init)
    for item in named:
        if isinstance(item, str | os.PathLike) and os.path.exists(item) and output.exists():
            if os.path.samefile(item, output):
                raise ImpastoError(f"{output}: is one of the run's inputs; give another output file")


def _video(arguments: dict[str, Any]) -> int:
    """Paint a clip frame by frame, with a progress bar over frames; Ctrl-C keeps the finished
    frames, and the same command goes on from there."""
    quiet, output = arguments.pop("quiet"), Path(arguments.pop("output"))
    engine = {name: arguments.pop(name) for name in ENGINE}
    source, paintings = arguments.pop("source"), arguments.pop("paintings")
    names = {field.name for field in dataclasses.fields(VideoSettings)}
    chosen = VideoSettings(**{name: arguments.pop(name) for name in names & set(arguments)})
    settings = Settings(**arguments)
    _refuse_overwriting_an_input(output, [source, *paintings], settings, engine["weights"])
    bar = _Bar("frame", quiet)
    report = lambda p: bar(p.done, p.frames, f"{p.seconds:.1f} s" if p.painted else None)  # noqa: E731
    try:
        note = paint_video(Painter(**engine), source, paintings, output, settings, chosen, progress=report)
    except Stopped as stopped:
        bar.close()
        print(f"impasto: stopped after {stopped.done} of {stopped.total} frames, which are kept; "
              "run the same command again to go on", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    bar.close()
    if not quiet:
        print(f"impasto: wrote {output}" + (f"; {note}" if note else ""), file=sys.stderr)
    return 0


def _batch(arguments: dict[str, Any]) -> int:
    """Plan every row (bad input stops here, before any work), then paint with a bar over rows."""
    quiet, out = arguments.pop("quiet"), Path(arguments.pop("output"))
    cluster, workers = arguments.pop("ray"), arguments.pop("workers")
    if workers is not None and cluster is None:
        raise ImpastoError("--workers is for --ray; without it one engine paints every row")
    engine = batch.Engine.resolve(**{name: arguments.pop(name) for name in (*ENGINE, "threads")})
    wanted = {name: arguments.pop(name) for name in ("content", "style", "pairs", "manifest")}
    rows = batch.plan(**wanted, settings=Settings(**arguments), out=out)
    bar = _Bar("row", quiet)
    report = lambda p: bar(p.done, p.total, p.outcome.row.output if p.outcome else None)  # noqa: E731
    try:
        summary = batch.paint_batch(rows, out, engine, cluster=cluster, workers=workers, progress=report)
    except KeyboardInterrupt:
        print(f"impasto: stopped; the rows finished are kept in {out}: run the same command again to go on",
              file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    finally:
        bar.close()
    for outcome in summary.failed:
        print(f"impasto: row {outcome.row.number} ({outcome.row.output}) failed: {outcome.error}",
              file=sys.stderr)  # fmt: skip
    if not quiet:
        sheet = out / batch.CONTACT_SHEET
        print(f"impasto: {len(rows)} rows: {summary.count('made')} made, {summary.count('found')} already "
              f"there, {len(summary.failed)} failed; see {out / batch.RESULTS}"
              + (f" and {sheet}" if sheet.exists() else ""), file=sys.stderr)  # fmt: skip
    return EXIT_SOME_FAILED if summary.failed else 0


class _Bar:
    """A progress bar over frames or rows, shown from the first report on: those finished by
    an earlier run count as done without making the time left look shorter."""

    def __init__(self, unit: str, quiet: bool) -> None:
        self.unit, self.quiet = unit, quiet
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int, last: str | None = None) -> None:
        """`last`: what was just finished (None: the first report, before any work)."""
        if self.bar is None:
            self.bar = tqdm(total=total, initial=done, unit=self.unit, file=sys.stderr, disable=self.quiet,
                            dynamic_ncols=True, leave=False)  # fmt: skip
        if last is not None:
            self.bar.set_postfix(last=last, refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
    print(f"normalisation factors: {paths.data_path(normalization.FACTORS_FILE)}")
    return 0


def _reproduce(arguments: dict[str, Any]) -> int:
    base = reproduce.QUICK if arguments["quick"] else reproduce.PAPER
    scope = dataclasses.replace(base, size=arguments["size"] or base.size,
                                iterations=arguments["iterations"] or base.iterations,
                                device=arguments["device"])  # fmt: skip
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
    reproduce.reproduce(names, out, scope, log=lambda line: print(line, file=sys.stderr))
    return 0


def _serve(arguments: dict[str, Any]) -> int:
    try:
        from . import web
    except ImportError as missing:
        raise ImpastoError(f"the web page needs {missing.name}: pip install 'impasto[web]'") from None
    web.serve(arguments["host"], arguments["port"], arguments["max_size"], arguments["device"])
    return 0


def _origin(source: weights.WeightsSource) -> str:
    return {
        "package": "default (run 'impasto weights fetch' for the full-precision file)",
        "cache": "fetched full-precision file in the cache",
        "IMPASTO_WEIGHTS": "the IMPASTO_WEIGHTS variable",
        "given": "--weights",
    }[source.origin]
