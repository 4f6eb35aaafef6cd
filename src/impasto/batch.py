"""Many pictures: every photograph in the style of every painting asked for, into one folder.

    rows = batch.plan(["holiday/"], ["starry_night.jpg", "the_scream.jpg"], settings=Settings(size=256))
    summary = batch.paint_batch(rows, "painted/")

A batch is a list of `Row`s, each a photograph, its painting(s) and its settings (the batch's,
with a manifest row's own), and the name of its output. One engine (`Painter`) paints them
in turn, so the network loads once and a painting's targets are computed once for all the
photographs at a size; with Ray (`cluster=`) one engine per worker paints them side by side.

Resuming and honesty, in one place:
- each output is written atomically, as a PNG that carries its row's description (inputs,
  settings, seed) in a text chunk; a later run skips a row whose output is there with the
  same description, and refuses to overwrite one made by anything else;
- a row's seed is the settings' seed, else one derived from its output's name, so a rerun
  paints an unfinished row exactly as an uninterrupted run would have (on a CPU the number of
  threads changes the last bits of the arithmetic: compare runs with the same `threads`);
- the description holds the engine asked for (device, precision, the weights' checksum) and
  digests of every file read, so a rerun with other weights or an edited mask paints again;
- a row that fails (an unreadable image, a mask that does not fit) is recorded with its
  error and the others go on;
- DIR/results.jsonl, one line per row in the batch's order (settings, seed, seconds, losses,
  status; then the lines of an earlier batch's other outputs), and DIR/contact-sheet.png are
  rewritten, atomically, as rows finish.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import glob
import hashlib
import io
import json
import math
import os
import socket
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import torch
from PIL import Image, PngImagePlugin

from . import images, inputs, sheet
from .errors import ImpastoError, SettingError
from .painter import Cancel, Painter
from .paths import remove_unfinished, replacing
from .settings import INITS, Settings, require_whole
from .weights import md5
from .weights import resolve as resolve_weights

RESULTS = "results.jsonl"
CONTACT_SHEET = "contact-sheet.png"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
Pairs = Literal["all", "zip"]
# Settings that name files: in a manifest, relative to the manifest's folder.
FILE_SETTINGS = ("content_mask", "style_mask", "fine_style", "init")
THUMBNAIL = 160  # px, the long side of a picture on the contact sheet
# Bumped whenever the outputs a batch makes change, so that a rerun does not take an older
# impasto's outputs for its own.
METHOD = 1


class ManifestError(ImpastoError):
    pass


@dataclass(frozen=True)
class Row:
    """One picture of a batch: `content` in the style of `style`, with `settings` (whose seed is
    always set, and whose files are absolute paths), written to OUT/`output`."""

    number: int  # 1-based, in the batch's order
    content: str
    style: tuple[str, ...]
    settings: Settings
    output: str


@dataclass
class Outcome:
    """What painting a row gave: the PNG to write, or the error; and its figures."""

    row: Row
    png: bytes | None = None
    error: str | None = None
    seconds: float | None = None
    losses: dict[str, float] = field(default_factory=dict)
    status: Literal["made", "found", "failed"] = "made"  # found: already there from an earlier run
    worker: str | None = None  # where it was painted: host:process

    def record(self) -> dict[str, Any]:
        """Its line of results.jsonl."""
        row = self.row
        return {
            "row": row.number,
            "output": row.output,
            "content": row.content,
            "style": list(row.style),
            "settings": settings_record(row.settings),
            "seed": row.settings.seed,
            "status": "failed" if self.status == "failed" else "ok",
            "seconds": None if self.seconds is None else round(self.seconds, 2),
            **self.losses,
            "worker": self.worker,
            "error": self.error,
        }


@dataclass(frozen=True)
class Progress:
    """What a caller hears: once before any work, then after each row (`outcome`)."""

    done: int  # rows finished, made or found, or failed
    total: int
    outcome: Outcome | None = None


@dataclass(frozen=True)
class Engine:
    """What paints the rows: `Painter`'s parameters, with the weights file resolved once here
    (so that every worker uses the same), and the threads of each engine."""

    device: str = "auto"
    precision: str = "auto"
    weights: str | None = None
    threads: int | None = None
    weights_digest: str = ""

    @classmethod
    def resolve(cls, device: str = "auto", precision: str = "auto",
                weights: str | os.PathLike[str] | None = None,
                threads: int | None = None) -> Engine:  # fmt: skip
        if threads is not None:
            require_whole("threads", threads)
        source = resolve_weights(weights)
        return cls(device, precision, str(source.path), threads, md5(source.path))

    def painter(self) -> Painter:
        return Painter(self.device, self.precision, self.weights)

    def describe(self) -> dict[str, Any]:
        """What of the engine an output depends on (threads only in the last bits: not here)."""
        return {"device": self.device, "precision": self.precision, "weights": self.weights_digest,
                "method": METHOD}  # fmt: skip


@dataclass
class Summary:
    """How a batch went: the rows made now, found from an earlier run, and failed."""

    outcomes: list[Outcome]

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]


# Planning: which rows a batch has.


def expand(path: str | os.PathLike[str], what: str = "image", exclude: Path | None = None) -> list[Path]:
    """The images a PATH names: a file, the images in a folder, or those a glob matches,
    sorted; images in the folder `exclude` (a batch's outputs) are left out."""
    text = os.fspath(path)
    candidate = Path(text)
    if candidate.is_file():
        return [candidate]
    if candidate.is_dir():
        found = sorted(child for child in candidate.iterdir() if _is_image(child, exclude))
        if not found:
            raise ImpastoError(f"{candidate}: a folder with no {what} files ({', '.join(IMAGE_SUFFIXES)})")
        return found
    if not glob.has_magic(text):
        raise ImpastoError(f"{candidate}: no such file or folder")
    found = sorted(Path(name) for name in glob.glob(text, recursive=True) if _is_image(Path(name), exclude))
    if not found:
        raise ImpastoError(f"{text}: matches no {what} files ({', '.join(IMAGE_SUFFIXES)})")
    return found


def _is_image(path: Path, exclude: Path | None) -> bool:
    if exclude is not None and path.parent.absolute() == exclude.absolute():
        return False
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


class Wanted(NamedTuple):
    """A row asked for, before it is checked and named."""

    content: Path
    style: tuple[Path, ...]
    overrides: dict[str, Any]
    output: str | None = None
    where: str = "the command"  # where it was asked for, for a message


def plan(
    content: Sequence[str | os.PathLike[str]] = (),
    style: Sequence[str | os.PathLike[str]] = (),
    pairs: Pairs = "all",
    manifest: str | os.PathLike[str] | None = None,
    settings: Settings | None = None,
    out: str | os.PathLike[str] | None = None,
) -> list[Row]:
    """The rows of a batch: each photograph of `content` with each painting of `style`
    (`pairs="all"`), or the first with the first and so on ("zip"); then a row per line of
    `manifest`. Each PATH is a file, a folder or a glob; images in the output folder `out`
    are not taken as inputs."""
    settings = _absolute_files(settings or Settings(), Path.cwd())
    if pairs not in ("all", "zip"):
        raise SettingError("pairs", f"must be all or zip, not {pairs!r}")
    exclude = Path(out) if out is not None else None
    photographs = [path for given in content for path in expand(given, "photograph", exclude)]
    paintings = [path for given in style for path in expand(given, "painting", exclude)]
    if bool(photographs) != bool(paintings):
        missing = "paintings" if photographs else "photographs"
        raise SettingError("style" if photographs else "content", f"is missing: there are no {missing}")
    if pairs == "zip" and len(photographs) != len(paintings):
        raise SettingError("pairs", f"zip needs as many photographs as paintings, not {len(photographs)} "
                           f"and {len(paintings)}")  # fmt: skip
    if pairs == "zip":
        combined = list(zip(photographs, paintings, strict=True))
    else:
        combined = [(photo, painting) for photo in photographs for painting in paintings]
    wanted = [Wanted(photo, (painting,), {}) for photo, painting in combined]
    if manifest is not None:
        wanted += read_manifest(manifest)
    if not wanted:
        raise ImpastoError("nothing to paint: give photographs and paintings, or a manifest")
    names = _names(wanted)
    rows = []
    for number, (item, name) in enumerate(zip(wanted, names, strict=True), 1):
        try:
            chosen = settings.replace(**_with_size_of_scales(item.overrides))
        except SettingError as error:
            raise ManifestError(f"{item.where}: {error}") from None
        seed = chosen.seed if chosen.seed is not None else zlib.crc32(name.encode())
        rows.append(Row(number, str(item.content.absolute()), tuple(str(p.absolute()) for p in item.style),
                        chosen.replace(seed=seed), name))  # fmt: skip
    return rows


def _with_size_of_scales(overrides: dict[str, Any]) -> dict[str, Any]:
    """A row's `scales` without a `size` ends at its own last scale, as on the command line."""
    if "scales" in overrides and "size" not in overrides:
        return {**overrides, "size": None}
    return overrides


def _names(wanted: Sequence[Wanted]) -> list[str]:
    """Each row's output name: PHOTO_x_PAINTING.png (PAINTING+PAINTING for several), or the
    manifest's. Where photographs share a stem, their suffix and then their folder are added,
    so that a name depends on its row's inputs and not on their order; the same row asked
    for twice gets _2, _3."""

    def name(item: Wanted, detail: int) -> str:
        photo = item.content
        label = [photo.stem, f"{photo.stem}-{photo.suffix.lstrip('.')}",
                 f"{photo.parent.name}-{photo.stem}-{photo.suffix.lstrip('.')}"][detail]  # fmt: skip
        return f"{label}_x_{'+'.join(p.stem for p in item.style)}.png"

    chosen = [item.output or name(item, 0) for item in wanted]
    for detail in (1, 2):
        counts = Counter(chosen)
        chosen = [name(item, detail) if not item.output and counts[old] > 1 else old
                  for item, old in zip(wanted, chosen, strict=True)]  # fmt: skip
    taken = set(chosen)  # a copy's name must not be another row's
    seen: set[str] = set()
    named = []
    for item, candidate in zip(wanted, chosen, strict=True):
        if candidate in seen:
            if item.output:
                raise ManifestError(f"{item.where}: another row writes {candidate} too; give each its own")
            copy = 2
            while f"{candidate[:-4]}_{copy}.png" in taken:
                copy += 1
            candidate = f"{candidate[:-4]}_{copy}.png"
            taken.add(candidate)
        seen.add(candidate)
        named.append(candidate)
    return named


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name where it has none."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _absolute_files(settings: Settings, base: Path) -> Settings:
    """`settings` with the files it names (masks, a fine style, a start image) as absolute
    paths, those given relative to `base`: a worker on Ray may run in another folder."""
    changes = {}
    for name in FILE_SETTINGS:
        value = getattr(settings, name)
        if isinstance(value, tuple):
            changes[name] = tuple(_absolute_file(item, base) for item in value)
        elif value is not None:
            changes[name] = _absolute_file(value, base)
    return settings.replace(**changes) if changes else settings


def _absolute_file(value: Any, base: Path) -> Any:
    if isinstance(value, str | os.PathLike) and str(value) not in INITS and (base / value).exists():
        return str((base / value).absolute())
    return value


def read_manifest(manifest: str | os.PathLike[str]) -> list[Wanted]:
    """A manifest's rows: a CSV file with a header, whose columns are `content` (the
    photograph), `style` (its painting, or several separated by ";"), optionally `output` (the
    file name to write) and any field of `Settings`, whose cell, where not empty, overrides
    the batch's setting for that row, written as on the command line (a list's items
    separated by ";" or quoted commas). Paths are relative to the manifest's folder; empty
    lines and columns are ignored."""
    path = Path(manifest)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: cannot read it as text ({error})") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip() for name in next(reader, [])]
        lines = [(reader.line_num, cells) for cells in reader]
    except csv.Error as error:
        raise ManifestError(f"{path}: line {reader.line_num}: not CSV ({error})") from None
    known = {f.name: f for f in dataclasses.fields(Settings)}
    if "content" not in header or "style" not in header:
        raise ManifestError(f"{path}: needs a header with the columns content and style")
    unknown = [name for name in header if name and name not in ("content", "style", "output", *known)]
    if unknown:
        raise ManifestError(f"{path}: {unknown[0]!r} is not a setting (columns: content, style, output "
                            "and the fields of Settings)")  # fmt: skip
    base, rows = path.parent.absolute(), []
    for line, values in lines:
        if not any(value.strip() for value in values):
            continue
        if len(values) > len(header) and any(value.strip() for value in values[len(header) :]):
            raise ManifestError(f"{path}: line {line}: more cells than columns; quote a cell with commas")
        cells = {name: value.strip() for name, value in zip(header, values, strict=False) if name}
        where = f"{path}: line {line}"
        if not cells.get("content") or not cells.get("style"):
            raise ManifestError(f"{where}: give a content and a style")
        paintings = tuple(base / part.strip() for part in cells["style"].split(";") if part.strip())
        overrides = {}
        for name, cell in cells.items():
            if name in known and cell:
                overrides[name] = _cell(known[name], cell, base, where)
        output = cells.get("output") or None
        if output is not None and (Path(output).name != output or Path(output).suffix.lower() != ".png"):
            raise ManifestError(f"{where}: output {output!r} must be a file name ending in .png")
        rows.append(Wanted(base / cells["content"], paintings, overrides, output, where))
    if not rows:
        raise ManifestError(f"{path}: no rows under the header")
    return rows


def _cell(setting: dataclasses.Field, text: str, base: Path, where: str) -> Any:
    """A manifest cell as the value of `setting`: read as the command line reads it."""
    if setting.name == "normalize":
        if text.lower() not in ("true", "false", "yes", "no", "1", "0"):
            raise ManifestError(f"{where}: normalize {text!r} is not true or false")
        return text.lower() in ("true", "yes", "1")
    if setting.metadata["many"]:
        values = [part.strip() for part in text.split(";")]
    else:  # lists such as 0.5,0.5 may be written 0.5;0.5, as commas separate the cells
        values = [text.replace(";", ",")]
    if setting.name in FILE_SETTINGS:
        values = [_absolute_file(value, base) for value in values]
    parse = setting.metadata["parse"]
    try:
        values = [parse(value) if parse else value for value in values]
    except ValueError:
        raise ManifestError(f"{where}: {setting.name} {text!r} is not {parse.__doc__}") from None
    return tuple(values) if setting.metadata["many"] else values[0]


# Painting a row, wherever it runs.


def describe(row: Row, engine: Engine) -> dict[str, Any]:
    """What a row's output depends on: a file there with another description is not this row's."""
    files = {name: _fingerprints(getattr(row.settings, name)) for name in FILE_SETTINGS}
    return {"content": _fingerprint(row.content), "style": [_fingerprint(p) for p in row.style],
            "settings": settings_record(row.settings), "files": files,
            "engine": engine.describe()}  # fmt: skip


def _fingerprint(path: str) -> str:
    """A file's name and a digest of its bytes ("unreadable" where it cannot be read); a
    painting shared by many rows is read once while it is unchanged."""
    try:
        found = Path(path).stat()
    except OSError:
        return f"{Path(path).name}:unreadable"
    return _digest(path, found.st_size, found.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _digest(path: str, size: int, modified: int) -> str:
    try:
        return f"{Path(path).name}:{hashlib.sha1(Path(path).read_bytes()).hexdigest()[:16]}"
    except OSError:
        return f"{Path(path).name}:unreadable"


def _fingerprints(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_fingerprints(item) for item in value]
    if isinstance(value, str | os.PathLike) and Path(value).is_file():
        return _fingerprint(str(value))
    return None


def settings_record(settings: Settings) -> dict[str, Any]:
    """The settings that differ from the defaults (and the size and seed), as JSON values."""
    defaults = Settings()
    return {name: _as_json(value) for name, value in vars(settings).items()
            if value != getattr(defaults, name) or name in ("size", "seed")}  # fmt: skip


def _as_json(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_as_json(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Image.Image):
        return f"image:{inputs.digest(value)}"
    return value


def paint_row(painter: Painter, row: Row, engine: Engine, cancel: Cancel | None = None) -> Outcome:
    """Paint one row with `painter`: its PNG (with its description), or the error that stopped it.
    A bad input or setting is an outcome, not an exception; Ctrl-C is raised as usual."""
    started = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        result = painter.paint(row.content, row.style, row.settings, cancel=cancel)
    except ImpastoError as error:
        return Outcome(row, error=str(error), status="failed", worker=worker)
    except (MemoryError, RuntimeError) as error:  # out of memory, among others: this row only
        message = f"{type(error).__name__}: {first_line(error)}"
        return Outcome(row, error=message, status="failed", worker=worker)
    if result.stopped:
        raise KeyboardInterrupt
    losses = {"loss": result.loss, "content_loss": result.content_loss, "style_loss": result.style_loss}
    info = PngImagePlugin.PngInfo()
    info.add_text("impasto", json.dumps(describe(row, engine) | losses, sort_keys=True))
    buffer = io.BytesIO()
    result.image.save(buffer, format="PNG", pnginfo=info)
    seconds = time.perf_counter() - started
    return Outcome(row, buffer.getvalue(), seconds=seconds, losses=losses, worker=worker)


def found(row: Row, engine: Engine, out: Path) -> Outcome | None:
    """The row's output from an earlier run, if it is there; a file there that is not the
    row's (other inputs, settings or engine, or not impasto's) is a failed outcome, never
    overwritten."""
    path = out / row.output
    if not path.exists():
        return None
    try:
        with Image.open(path) as image:
            chunk = json.loads(image.text.get("impasto", "null"))  # type: ignore[attr-defined]
    except (OSError, ValueError, AttributeError):
        chunk = None
    expected = describe(row, engine)
    if not isinstance(chunk, dict) or any(chunk.get(key) != value for key, value in expected.items()):
        return Outcome(row, error=f"{path} is there and was not made from this row's inputs, settings "
                       "and engine; remove it, or give another output folder", status="failed")  # fmt: skip
    losses = {key: chunk[key] for key in ("loss", "content_loss", "style_loss") if key in chunk}
    return Outcome(row, losses=losses, status="found")


# Running a batch.


def paint_batch(
    rows: Sequence[Row],
    out: str | os.PathLike[str],
    engine: Engine | None = None,
    *,
    cluster: str | None = None,
    workers: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: Cancel | None = None,
) -> Summary:
    """Paint `rows` into the folder `out`, skipping those finished by an earlier run. One
    `engine` (default: `Engine.resolve()`) paints them in this process, or, with `cluster`
    ("local" to start a Ray cluster on this machine, or the address of one), one engine per
    Ray worker (`workers`: at most this many). Rows of one painting are painted one after
    another, so that its targets are computed once. Ctrl-C (or `cancel`) raises
    KeyboardInterrupt, keeping every row finished."""
    engine = engine or Engine.resolve()
    if workers is not None:
        require_whole("workers", workers)
    folder = _claim(Path(out), rows)
    earlier = _earlier_records(folder)
    outcomes: dict[int, Outcome] = {}
    todo = []
    for row in rows:
        there = found(row, engine, folder)
        if there is None:
            todo.append(row)
            continue
        if there.status == "found" and row.output in earlier:  # keep the time it took then
            there.seconds = earlier[row.output].get("seconds")
        outcomes[row.number] = there
    todo.sort(key=lambda row: (row.style, row.settings.size))  # stable: photographs keep their order

    def finish(outcome: Outcome) -> None:
        if outcome.png is not None:
            _write(folder / outcome.row.output, outcome.png)
            outcome.png = None  # written: no need to hold it
        outcomes[outcome.row.number] = outcome
        _write_results(folder, rows, outcomes, earlier)
        if progress:
            progress(Progress(len(outcomes), len(rows), outcome))

    if progress:
        progress(Progress(len(outcomes), len(rows)))
    try:
        if cluster is None:
            _paint_here(todo, engine, finish, cancel)
        else:
            from .cluster import paint_on_ray  # Ray is an optional extra

            paint_on_ray(todo, engine, cluster, workers, finish, cancel)
    finally:
        _write_results(folder, rows, outcomes, earlier)
        write_contact_sheet(folder, [outcomes[row.number] for row in rows if row.number in outcomes])
    return Summary([outcomes[row.number] for row in rows if row.number in outcomes])


def _paint_here(rows: Iterable[Row], engine: Engine, finish: Callable[[Outcome], None],
                cancel: Cancel | None) -> None:  # fmt: skip
    before = torch.get_num_threads()
    torch.set_num_threads(engine.threads or before)
    try:
        painter = engine.painter().load()  # bad weights stop the batch here, not every row
        for row in rows:
            if cancel is not None and cancel.is_set():
                raise KeyboardInterrupt
            finish(paint_row(painter, row, engine, cancel))
    finally:
        torch.set_num_threads(before)


def _write(path: Path, data: bytes | str) -> None:
    try:
        with replacing(path) as temporary:
            temporary.write_bytes(data) if isinstance(data, bytes) else temporary.write_text(data)
    except OSError as error:
        raise ImpastoError(f"{path}: cannot write it ({error.strerror})") from None


def _claim(folder: Path, rows: Sequence[Row]) -> Path:
    """The output folder, made if need be; leftovers of outputs being written when a run was
    killed are removed."""
    if folder.exists() and not folder.is_dir():
        raise ImpastoError(f"{folder}: is a file; give a folder for the outputs")
    if any(row.output in (RESULTS, CONTACT_SHEET) for row in rows):
        raise ImpastoError(f"an output may not be named {RESULTS} or {CONTACT_SHEET}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImpastoError(f"{folder}: cannot make the folder ({error.strerror})") from None
    if not os.access(folder, os.W_OK):
        raise ImpastoError(f"{folder}: cannot write the outputs there")
    for name in {row.output for row in rows} | {RESULTS, CONTACT_SHEET}:
        remove_unfinished(folder, glob.escape(name))
    return folder


def _earlier_records(folder: Path) -> dict[str, dict[str, Any]]:
    """An earlier run's results.jsonl, by output name (lines that cannot be read are ignored)."""
    records = {}
    try:
        lines = (folder / RESULTS).read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        try:
            record = json.loads(line)
            records[record["output"]] = record
        except (ValueError, KeyError, TypeError):
            continue
    return records


def _write_results(folder: Path, rows: Sequence[Row], outcomes: dict[int, Outcome],
                   earlier: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    """This batch's rows in its order, then an earlier batch's records of outputs that are
    still in the folder and not this batch's, so that none is lost."""
    lines = [json.dumps(outcomes[row.number].record()) for row in rows if row.number in outcomes]
    ours = {row.output for row in rows}
    lines += [json.dumps(record) for name, record in earlier.items()
              if name not in ours and (folder / name).exists()]  # fmt: skip
    _write(folder / RESULTS, "".join(line + "\n" for line in lines))


def write_contact_sheet(folder: Path, outcomes: Sequence[Outcome]) -> Path | None:
    """DIR/contact-sheet.png: every output of the batch that is there, small, with its name
    (none: an earlier sheet is removed rather than left to show other pictures)."""
    pictures, labels = [], []
    for outcome in outcomes:
        if outcome.status == "failed":
            continue
        try:
            picture = images.read_image(folder / outcome.row.output)
        except ImpastoError:
            continue
        picture.thumbnail((THUMBNAIL, THUMBNAIL), Image.Resampling.LANCZOS)
        pictures.append(picture)
        labels.append(outcome.row.output[: -len(".png")].replace("_x_", " × ").replace("+", " + "))
    path = folder / CONTACT_SHEET
    if not pictures:
        path.unlink(missing_ok=True)
        return None
    drawn = sheet.contact_sheet(pictures, labels, columns=min(6, math.ceil(math.sqrt(len(pictures))) + 1))
    try:
        return images.write_image(drawn, path)
    except OSError as error:
        raise ImpastoError(f"{path}: cannot write it ({error.strerror})") from None
