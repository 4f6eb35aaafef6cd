"""`impasto serve`: a web page on one painter, for every visitor.

    impasto serve [--host 127.0.0.1] [--port 7860] [--max-size 1024] [--device auto]

The page is a Gradio app, and a caller of the engine like the command line: one `Painter`,
loaded when the server starts, paints for every visitor, one run at a time (Gradio's queue
shows a waiting visitor their place), and keeps the paintings' targets between runs. Start
streams a preview every PREVIEW_SECONDS with the iteration, scale and losses; Stop sets the
run's cancel token, so the run ends within an iteration and the best image so far is the
result, which downloads as a PNG with its settings in the file.

Visitors send bytes, never paths: uploads are decoded in memory, bounded in bytes and pixels,
and the bundled examples are chosen by name from a fixed list. It runs offline: Gradio's
telemetry and update check are off, and its fonts and scripts are served by itself.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no telemetry
import gradio as gr  # noqa: E402

from . import images, paths
from .errors import ImpastoError, SettingError
from .optimize import Iterate
from .painter import Painter, Result
from .settings import Settings

MAX_BYTES = 20 * 2**20  # an upload larger than this is refused
MAX_PIXELS = 40_000_000  # so is one with more pixels than this (a 7700 x 5200 photograph)
PREVIEW_SECONDS = 0.5  # at most two previews a second
PREVIEW_SIDE = 384  # a smaller picture is shown enlarged (pixels repeated) to about this long side
KEEP_RESULTS_SECONDS = 3600  # results wait this long for their download
PHOTOGRAPHS = {"Tübingen": "tubingen.jpg"}
PAINTINGS = {
    "The Starry Night (van Gogh)": "starry_night.jpg",
    "The Shipwreck of the Minotaur (Turner)": "shipwreck.jpg",
    "The Scream (Munch)": "the_scream.jpg",
    "Composition VII (Kandinsky)": "composition_vii.jpg",
    "Woman with a Hat (Matisse)": "woman_with_hat.jpg",
}
UPLOAD = "upload your own"


class VisitorError(ImpastoError):
    """What a visitor sent cannot be used; the message is shown on the page."""


def decode(data: bytes | None, what: str) -> Image.Image | None:
    """An uploaded file's bytes as an RGB image, or None where nothing was sent; refused with
    a message if it is too large or not an image."""
    if not data:
        return None
    if len(data) > MAX_BYTES:
        raise VisitorError(f"the {what} is {len(data) / 2**20:.0f} MB; the limit is {MAX_BYTES // 2**20} MB")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if opened.width * opened.height > MAX_PIXELS:
                raise VisitorError(
                    f"the {what} is {opened.width}x{opened.height} px; the limit is "
                    f"{MAX_PIXELS // 1_000_000} megapixels"
                )
            return images.read_image(opened)
    except VisitorError:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise VisitorError(
            f"the {what} is not an image that can be read (use PNG, JPEG, WebP, BMP or TIFF)"
        ) from None


def choose(
    data: bytes | None, example: str | None, examples: dict[str, str], what: str
) -> Image.Image | None:
    """The uploaded image if there is one, else the bundled example named (by its label)."""
    uploaded = decode(data, what)
    if uploaded is not None or example in (None, "", UPLOAD):
        return uploaded
    if example not in examples:
        raise VisitorError(f"there is no bundled {what} called {example!r}")
    return images.read_image(paths.example(examples[example]))


def settings_from(
    size: float,
    recipe: str,
    strength: float,
    preserve: str,
    blend: float,
    seed: float,
    paintings: int,
    max_size: int,
) -> Settings:
    """The page's controls as Settings. `strength` is −log10 of α/β (3: the default 1e-3);
    `blend` is the first painting's share when there are two."""
    if not 16 <= size <= max_size:
        raise SettingError("size", f"must be from 16 to {max_size} px on this server, not {size:g}")
    return Settings(
        size=int(size),
        recipe=recipe,
        ratio=10 ** -float(strength),
        preserve_color=None if preserve == "off" else preserve,
        style_blend=(float(blend), 1 - float(blend)) if paintings == 2 else None,
        seed=int(seed),
    )


def enlarged(image: Image.Image) -> Image.Image:
    """A small picture enlarged by whole pixels, so that its grain shows on the page."""
    factor = PREVIEW_SIDE // max(image.size)
    if factor < 2:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def message(error: ImpastoError) -> str:
    return f"**Cannot start:** {error}"


def progress(iterate: Iterate) -> str:
    return (
        f"iteration {iterate.done} of {iterate.planned} · scale {iterate.scale} of {iterate.scales} "
        f"({iterate.tensor.shape[-1]}x{iterate.tensor.shape[-2]} px) · content {iterate.content_loss:.4g} · "
        f"style {iterate.style_loss:.4g}"
    )


def png_with_settings(result: Result, settings: Settings, folder: Path) -> Path:
    """The result as a PNG in `folder`, with its settings and seed in a text chunk."""
    described = {field: value for field, value in vars(settings).items() if value is not None}
    described.update(seed=result.seed, iterations=result.iterations, stopped=result.stopped)
    info = PngImagePlugin.PngInfo()
    info.add_text("impasto", json.dumps(described))
    descriptor, name = tempfile.mkstemp(dir=folder, prefix="impasto-", suffix=".png")
    os.close(descriptor)
    result.image.save(name, format="PNG", pnginfo=info)
    return Path(name)


class Page:
    """The state behind the page: the painter, the visitors' cancel tokens, the results."""

    def __init__(self, painter: Painter, max_size: int) -> None:
        self.painter = painter
        self.max_size = max_size
        self.cancels: dict[str, threading.Event] = {}
        self.results = Path(tempfile.mkdtemp(prefix="impasto-serve-"))

    def show(self, data: bytes | None, what: str) -> tuple[Any, str]:
        """An upload's preview and a word on it, or the reason it cannot be used."""
        try:
            image = decode(data, what)
        except VisitorError as error:
            return None, message(error)
        return image, f"The {what} is {image.width}x{image.height} px." if image else "Ready."

    def paint(
        self,
        session: str,
        photo: bytes | None,
        photo_example: str,
        first: bytes | None,
        first_example: str,
        second: bytes | None,
        second_example: str,
        size: float,
        recipe: str,
        strength: float,
        preserve: str,
        blend: float,
        seed: float,
    ) -> Iterator[tuple[Any, str, Any]]:
        """Stream (preview, status, download) while a run goes; a message instead of a run where
        the inputs cannot be used."""
        try:
            photograph = choose(photo, photo_example, PHOTOGRAPHS, "photograph")
            paintings = [
                painting
                for painting in (
                    choose(first, first_example, PAINTINGS, "first painting"),
                    choose(second, second_example, PAINTINGS, "second painting"),
                )
                if painting is not None
            ]
            if photograph is None or not paintings:
                raise VisitorError("choose a photograph and at least one painting")
            settings = settings_from(
                size, recipe, strength, preserve, blend, seed, len(paintings), self.max_size
            )
            cancel = self.cancels[session] = threading.Event()
            cache = self.painter.cache
            computed, reused = cache.misses, cache.hits
            run = self.painter.iterate(photograph, paintings, settings, cancel=cancel)
        except ImpastoError as error:
            yield None, message(error), None
            return
        last_shown = 0.0
        try:
            for iterate in run:
                if time.monotonic() - last_shown >= PREVIEW_SECONDS or iterate.iteration == 1:
                    last_shown = time.monotonic()
                    yield enlarged(iterate.image), progress(iterate), None
        finally:
            self.cancels.pop(session, None)
        result = run.result
        self._forget_old_results()
        download = png_with_settings(result, settings, self.results)
        how = "stopped" if result.stopped else "done"
        print(f"impasto serve: a run {how} after {result.iterations} iterations, {settings.size} px; "
              f"the paintings' targets: {cache.misses - computed} computed, {cache.hits - reused} reused",
              file=sys.stderr, flush=True)  # fmt: skip
        yield (
            enlarged(result.image),
            (
                f"**{how}**: {result.iterations} iterations in {result.seconds:.0f} s, seed "
                f"{result.seed}; the PNG holds its settings"
            ),
            download,
        )

    def stop(self, session: str) -> None:
        cancel = self.cancels.get(session)
        if cancel is not None:
            cancel.set()

    def _forget_old_results(self) -> None:
        for old in self.results.glob("impasto-*.png"):
            if time.time() - old.stat().st_mtime > KEEP_RESULTS_SECONDS:
                old.unlink(missing_ok=True)


def build(painter: Painter, max_size: int = 1024) -> Any:
    """The Gradio page on `painter`; sizes above `max_size` are refused."""
    page = Page(painter, max_size)
    slots = (
        ("photograph", PHOTOGRAPHS, "Tübingen"),
        ("painting", PAINTINGS, "The Starry Night (van Gogh)"),
        ("second painting", PAINTINGS, UPLOAD),
    )
    with gr.Blocks(title="impasto", analytics_enabled=False) as blocks:
        gr.Markdown(
            "## impasto\nPaint a photograph in the style of a painting (Gatys, Ecker & Bethge, CVPR 2016). "
            "Choose a photograph and one or two paintings, bundled or your own, and Start."
        )
        with gr.Row():
            with gr.Column(scale=5):
                with gr.Row():
                    columns = []
                    for label, examples, default in slots:
                        with gr.Column(min_width=200):
                            chosen = gr.Dropdown([UPLOAD, *examples], value=default, label=label.capitalize())
                            upload = gr.File(
                                label=f"or upload a {label}",
                                type="binary",
                                file_types=["image"],
                                height=100,
                                elem_id=f"upload-{label.replace(' ', '-')}",
                            )
                            shown = gr.Image(
                                example_image(default, examples),
                                show_label=False,
                                interactive=False,
                                height=150,
                            )
                            columns.append((label, examples, chosen, upload, shown))
                with gr.Row():
                    size = gr.Slider(
                        64,
                        max_size,
                        value=min(512, max_size),
                        step=16,
                        label="size (long side, px)",
                        elem_id="size",
                    )
                    recipe = gr.Radio(["fast", "paper"], value="fast", label="recipe", elem_id="recipe")
                with gr.Row():
                    strength = gr.Slider(1, 5, value=3, step=0.1, label="style strength: α/β = 10^−strength")
                    blend = gr.Slider(
                        0, 1, value=0.5, step=0.05, label="with two paintings: the first's share"
                    )
                with gr.Row():
                    preserve = gr.Radio(
                        ["off", "luminance", "histogram"], value="off", label="keep the photograph's colours"
                    )
                    seed = gr.Number(value=0, precision=0, label="seed")
                with gr.Row():
                    start = gr.Button("Start", variant="primary", elem_id="start")
                    stop = gr.Button("Stop", variant="stop", elem_id="stop")
            with gr.Column(scale=4):
                status = gr.Markdown("Ready.", elem_id="status")
                preview = gr.Image(
                    label="preview", interactive=False, format="jpeg", elem_id="preview", height=420
                )
                download = gr.DownloadButton("Download the PNG", elem_id="download")

        for label, examples, chosen, upload, shown in columns:
            upload.upload(lambda data, what=label: page.show(data, what), upload, [shown, status])
            chosen.change(lambda name, examples=examples: example_image(name, examples), chosen, shown)

        # Gradio hands the request to a parameter annotated gr.Request; the inputs follow in
        # the order of `values` below, which is Page.paint's.
        def run(request: gr.Request, *values: Any) -> Iterator[tuple[Any, str, Any]]:
            yield from page.paint(request.session_hash or "", *values)

        def halt(request: gr.Request) -> None:
            page.stop(request.session_hash or "")

        values = [item for _, _, chosen, upload, _ in columns for item in (upload, chosen)]
        values += [size, recipe, strength, preserve, blend, seed]
        start.click(run, values, [preview, status, download], concurrency_limit=1, concurrency_id="paint")
        stop.click(halt, None, None, queue=False)
    blocks.page = page  # for tests and measurements: the painter and its cache
    return blocks


def example_image(name: str | None, examples: dict[str, str]) -> Image.Image | None:
    """The bundled image with this label, or None for an upload."""
    return images.read_image(paths.example(examples[name])) if name in examples else None


def serve(host: str = "127.0.0.1", port: int = 7860, max_size: int = 1024, device: str = "auto") -> None:
    """Load the network, then serve the page until interrupted."""
    painter = Painter(device).load()
    blocks = build(painter, max_size)
    blocks.queue(default_concurrency_limit=1).launch(
        server_name=host,
        server_port=port,
        max_file_size=MAX_BYTES,
        ssr_mode=False,
        show_error=False,
        footer_links=[],
        quiet=False,
    )
