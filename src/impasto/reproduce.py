"""`impasto reproduce`: the figures of Gatys, Ecker & Bethge (CVPR 2016) as contact sheets.

Each figure is a grid of panels; a panel is one run of the API (or one of the input images),
written to OUT/panels/FIGURE/NAME.png with its settings, time and loss history beside it in
NAME.json. A panel whose files exist with the same settings is not computed again, so an
interrupted reproduction resumes where it stopped. OUT/sheets/FIGURE.png is the labelled
sheet, and OUT/index.html shows every sheet with each run's settings, time and loss curves.
"""

from __future__ import annotations

import html
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from tqdm import tqdm

from . import api, images, sheet, weights
from .optimize import Iterate
from .paths import example, replacing

PHOTOGRAPH = "tubingen.jpg"
# α/β per painting for the results figure, as the paper's authors published them.
PAINTINGS = {
    "shipwreck.jpg": ("The Shipwreck of the Minotaur", 1e-3),
    "starry_night.jpg": ("The Starry Night", 8e-4),
    "the_scream.jpg": ("The Scream", 5e-3),
    "composition_vii.jpg": ("Composition VII", 5e-4),
}
FIGURES = ("content", "style", "results", "tradeoff", "init", "size")
# What reproducing the figures found, for the report (docs/REPRODUCTION.md has the measurements).
LOSS_SCALING_NOTE = (
    "The content loss enters per position (L_content / M_l). Taken literally, equation 1 sums over "
    "the M_l positions while the style loss E_l is divided by M_l², so the trade-off that a ratio "
    "strikes moved fourfold with each doubling of the image size, and on the normalised network "
    "the paper's ratios gave results almost identical to the photograph (the ratio at which a pure "
    "photograph and a pure painting cost the same was 1e-6 at 256 px and 2.3e-7 at 512 px). Per "
    "position that ratio is 7e-4 to 1e-3 at every size, and the paper's published ratios, used "
    "unchanged here, give the paper's balance."
)


@dataclass(frozen=True)
class Panel:
    name: str  # file stem, unique within its figure
    label: str  # printed under the panel
    kind: str  # "transfer", "content", "texture", "input" (an image shown as it is) or "blank"
    inputs: tuple[str, ...] = ()  # example file names
    options: dict[str, Any] = field(default_factory=dict)  # API keywords besides the settings


@dataclass(frozen=True)
class Figure:
    name: str
    title: str
    expectation: str  # what a reader should see, from the paper
    columns: int
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Reproduction:
    """How the figures are made: the panels' long side, iterations per panel, seed, device."""

    size: int
    iterations: int
    seed: int = 0
    device: str = "auto"


PAPER = Reproduction(size=512, iterations=500)  # the paper's kind of run (for a GPU)
QUICK = Reproduction(size=128, iterations=200)  # small enough for a 2-core CPU


@dataclass
class Record:
    """What a run produced: written beside its image, read back to resume and to report."""

    figure: str
    name: str
    label: str
    kind: str
    inputs: list[str]
    options: dict[str, Any]
    iterations: int
    seconds: float
    history: list[list[float]]  # (loss, content, style) per iteration

    weights: str = ""  # which VGG19 weights made it

    def settings(self) -> dict[str, Any]:
        return {"kind": self.kind, "inputs": self.inputs, "options": self.options,
                "iterations": self.iterations, "weights": self.weights}  # fmt: skip


def figures(size: int) -> dict[str, Figure]:
    """The paper's figures; `size` is the long side of most panels."""
    photograph = Panel("photograph", "photograph", "input", (PHOTOGRAPH,))
    starry = "starry_night.jpg"
    style_sets = [("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")[: n + 1] for n in range(5)]
    tradeoff_ratios = (1e-5, 1e-4, 1e-3, 1e-2)
    return {
        "content": Figure(
            "content", "Figure 1, content: Tübingen reconstructed from one layer, from white noise",
            "Near-perfect from the low layers; from the high layers the layout survives while the "
            "exact pixels go.", 6,
            (photograph, *(Panel(layer, layer, "content", (PHOTOGRAPH,), {"layer": layer})
                           for layer in ("conv1_2", "conv2_2", "conv3_2", "conv4_2", "conv5_2"))),
        ),
        # Textures at twice the size: in a small image the Gram matrices of several layers hold
        # about as many numbers as the image has pixels, which pins the painting's own layout.
        "style": Figure(
            "style", "Figure 1, style: The Starry Night's style representation alone, from white noise",
            "Texture whose structures grow larger and more like the painting as layers are added, "
            "without the painting's layout.", 6,
            (Panel("painting", "painting", "input", (starry,), {"size": 2 * size}),
             *(Panel(f"upto_{layers[-1]}", " + ".join(layers), "texture", (starry,),
                     {"style_layers": list(layers), "size": 2 * size}) for layers in style_sets)),
        ),
        "results": Figure(
            "results", "Results: Tübingen in the style of four paintings (the paper's α/β for each)",
            "Each result has its painting's colours and brush texture while the riverfront stays "
            "recognisable.", 5,
            (photograph,
             *(Panel(Path(f).stem, title, "input", (f,)) for f, (title, _) in PAINTINGS.items()),
             Panel("blank", "", "blank"),
             *(Panel(f"{Path(f).stem}_result", f"α/β = {ratio:g}", "transfer", (PHOTOGRAPH, f),
                     {"ratio": ratio}) for f, (_, ratio) in PAINTINGS.items())),
        ),
        "tradeoff": Figure(
            "tradeoff", "Trade-off: α/β across, content layer down, Composition VII",
            "Small α/β gives mostly texture, large α/β mostly the photograph; conv2_2 keeps finer "
            "detail of the photograph than conv4_2.", 4,
            tuple(Panel(f"{layer}_{ratio:g}", f"{layer}, α/β = {ratio:g}", "transfer",
                        (PHOTOGRAPH, "composition_vii.jpg"), {"ratio": ratio, "content_layers": [layer]})
                  for layer in ("conv2_2", "conv4_2") for ratio in tradeoff_ratios),
        ),
        "init": Figure(
            "init", "Initialisation: the same transfer (The Starry Night) from different starts",
            "The start matters little: all six are pictures of the same kind. The content and "
            "style starts are deterministic; each noise seed gives a different sample, alike "
            "in everything but detail.", 6,
            (Panel("from_content", "from content", "transfer", (PHOTOGRAPH, starry),
                   {"ratio": 8e-4, "init": "content"}),
             Panel("from_style", "from style", "transfer", (PHOTOGRAPH, starry),
                   {"ratio": 8e-4, "init": "style"}),
             *(Panel(f"noise_seed_{seed}", f"noise, seed {seed}", "transfer", (PHOTOGRAPH, starry),
                     {"ratio": 8e-4, "seed": seed}) for seed in (1, 2, 3, 4))),
        ),
        "size": Figure(
            "size", "Image size: the same transfer (The Starry Night) at two sizes, shown alike",
            "The larger image holds more brush strokes of the same size in pixels, so each stroke "
            "covers less of the picture; the smaller one looks coarser.", 2,
            tuple(Panel(f"size_{s}", f"{s} px", "transfer", (PHOTOGRAPH, starry),
                        {"ratio": 8e-4, "size": s}) for s in (size, 2 * size)),
        ),
    }  # fmt: skip


def reproduce(
    names: list[str],
    out: Path,
    scope: Reproduction,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> dict[str, list[Record]]:
    """Compute what is missing of the named figures, then write their sheets and the report."""
    out.mkdir(parents=True, exist_ok=True)
    chosen = {name: figure for name, figure in figures(scope.size).items() if name in names}
    records: dict[str, list[Record]] = {}
    for figure in chosen.values():
        records[figure.name] = []
        runs = [panel for panel in figure.panels if panel.kind not in ("input", "blank")]
        for number, panel in enumerate(runs, 1):
            record, computed = _panel(figure, panel, out, scope, progress)
            records[figure.name].append(record)
            done = f"{record.seconds:.0f} s" if computed else "already done"
            log(f"{figure.name} {number}/{len(runs)}: {panel.label}: {done}")
        sheet = contact_sheet(figure, out, scope)
        log(f"{figure.name}: sheet {sheet}")
    write_report(out, chosen, records, scope)
    log(f"report: {out / 'index.html'}")
    return records


def _panel(
    figure: Figure, panel: Panel, out: Path, scope: Reproduction, progress: bool
) -> tuple[Record, bool]:
    """The panel's record, computing the panel unless it is on disk with the same scope."""
    folder = out / "panels" / figure.name
    image_path, record_path = folder / f"{panel.name}.png", folder / f"{panel.name}.json"
    options = {"seed": scope.seed, "size": scope.size, **panel.options}
    wanted = Record(figure.name, panel.name, panel.label, panel.kind, list(panel.inputs), options,
                    scope.iterations, 0.0, [], weights.resolve().description)  # fmt: skip
    if image_path.exists() and record_path.exists():
        try:
            saved = Record(**json.loads(record_path.read_text()))
        except (ValueError, TypeError):  # unreadable, or from another version: compute it again
            saved = None
        if saved is not None and saved.settings() == wanted.settings():
            return saved, False
    folder.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=scope.iterations, desc=f"{figure.name}: {panel.label}", leave=False,
               disable=not progress, unit="it")  # fmt: skip

    def collect(iterate: Iterate) -> None:
        wanted.history.append([iterate.loss, iterate.content_loss, iterate.style_loss])
        bar.update(1)

    function = {"transfer": api.transfer, "content": api.reconstruct_content,
                "texture": api.synthesize_texture}[panel.kind]  # fmt: skip
    started = time.perf_counter()
    try:
        result = function(*(example(name) for name in panel.inputs), iterations=scope.iterations,
                          recipe="paper", precision="float32", device=scope.device, callback=collect,
                          **options)  # fmt: skip
    finally:
        bar.close()
    wanted.seconds = time.perf_counter() - started
    images.write_image(result, image_path)
    _loss_plot(wanted, out / "plots" / figure.name / f"{panel.name}.png")
    _write_text(record_path, json.dumps(asdict(wanted)))  # last: its presence marks the panel done
    return wanted, True


def _panel_image(figure: Figure, panel: Panel, out: Path, scope: Reproduction) -> Image.Image | None:
    if panel.kind == "blank":
        return None
    if panel.kind == "input":
        size = panel.options.get("size", scope.size)
        return images.resize_long_side(images.read_image(example(panel.inputs[0])), size)
    return images.read_image(out / "panels" / figure.name / f"{panel.name}.png")


def contact_sheet(figure: Figure, out: Path, scope: Reproduction) -> Path:
    """Write OUT/sheets/FIGURE.png: the figure's panels with their labels (sheet.py)."""
    pictures = [_panel_image(figure, panel, out, scope) for panel in figure.panels]
    labels = [panel.label for panel in figure.panels]
    drawn = sheet.contact_sheet(pictures, labels, figure.columns, figure.title)
    (out / "sheets").mkdir(exist_ok=True)
    return images.write_image(drawn, out / "sheets" / f"{figure.name}.png")


def _loss_plot(record: Record, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = pyplot.subplots(figsize=(3.2, 2.2), dpi=80)
    iterations = range(1, len(record.history) + 1)
    for column, name in ((1, "content"), (2, "style")):
        values = [step[column] for step in record.history]
        if any(values):
            axes.plot(iterations, values, label=name)
    axes.set_yscale("log")
    axes.set_xlabel("iteration")
    axes.legend(fontsize=7)
    axes.tick_params(labelsize=7)
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)


def _write_text(path: Path, text: str) -> None:
    with replacing(path) as temporary:
        temporary.write_text(text)


def write_report(
    out: Path, chosen: dict[str, Figure], records: dict[str, list[Record]], scope: Reproduction
) -> Path:
    """OUT/index.html: every sheet, and each run's settings, time and loss curves."""
    source = weights.resolve()
    parts = [
        "<!doctype html><meta charset=utf-8><title>impasto: the paper's figures</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "img.sheet{max-width:100%;border:1px solid #ccc}table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ddd;padding:4px;vertical-align:top}code{font-size:12px}</style>",
        "<h1>Gatys, Ecker &amp; Bethge (CVPR 2016), reproduced by impasto</h1>",
        f"<p>Panels of {scope.size} px (long side), {scope.iterations} L-BFGS iterations each, "
        f"seed {scope.seed} unless a panel says otherwise; weights: {html.escape(source.description)}; "
        f"machine: {html.escape(platform.machine())}, {os.cpu_count()} cores; "
        f"written {time.strftime('%Y-%m-%d %H:%M')}.</p>",
        f"<p><b>α/β.</b> {html.escape(LOSS_SCALING_NOTE)}</p>",
    ]
    for name, figure in chosen.items():
        total = sum(record.seconds for record in records[name])
        parts += [
            f"<h2 id={name}>{html.escape(figure.title)}</h2>",
            f"<p><b>What to look for:</b> {html.escape(figure.expectation)}</p>",
            f"<p><img class=sheet src='sheets/{name}.png' alt='{name}'></p>",
            f"<p>{len(records[name])} runs, {total:.0f} s in all.</p>",
            "<table><tr><th>panel</th><th>settings</th><th>seconds</th><th>final losses</th>"
            "<th>losses</th></tr>",
        ]
        for record in records[name]:
            settings_text = json.dumps({"inputs": record.inputs, **record.options,
                                        "iterations": record.iterations})  # fmt: skip
            last = record.history[-1] if record.history else [0, 0, 0]
            parts.append(
                f"<tr><td>{html.escape(record.label)}</td><td><code>{html.escape(settings_text)}</code></td>"
                f"<td>{record.seconds:.1f}</td><td>content {last[1]:.3g}<br>style {last[2]:.3g}</td>"
                f"<td><img src='plots/{name}/{record.name}.png' alt='losses'></td></tr>"
            )
        parts.append("</table>")
    path = out / "index.html"
    _write_text(path, "\n".join(parts) + "\n")
    return path
