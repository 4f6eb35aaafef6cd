"""The web page's checks and runs without a browser: what a visitor sends, and what comes back."""

import io
import json

import numpy as np
import pytest
from conftest import STARRY_NIGHT, TUBINGEN
from PIL import Image

import impasto
from impasto import web


@pytest.fixture(scope="module")
def page():
    return web.Page(impasto.Painter().load(), max_size=128)


def png_bytes(size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "orange").save(buffer, format="PNG")
    return buffer.getvalue()


def controls(size=64, recipe="fast", strength=3.0, preserve="off", blend=0.5, seed=0):
    return [size, recipe, strength, preserve, blend, seed]


def test_uploads_are_decoded_in_memory_and_bounded(monkeypatch):
    assert web.decode(png_bytes(), "photograph").size == (40, 30)
    assert web.decode(None, "photograph") is None
    with pytest.raises(web.VisitorError, match="the photograph is not an image"):
        web.decode(b"just some text", "photograph")
    noise = np.random.default_rng(0).integers(0, 255, (800, 800, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    monkeypatch.setattr(web, "MAX_BYTES", 2**20)
    with pytest.raises(web.VisitorError, match="the painting is 2 MB; the limit is 1 MB"):
        web.decode(buffer.getvalue(), "painting")
    monkeypatch.setattr(web, "MAX_PIXELS", 1_000_000)
    with pytest.raises(web.VisitorError, match="4000x3000 px; the limit is 1 megapixels"):
        web.decode(png_bytes((4000, 3000)), "photograph")


def test_examples_are_chosen_by_name_from_the_bundled_ones_only():
    assert web.choose(None, "Tübingen", web.PHOTOGRAPHS, "photograph").size == (1024, 768)
    with pytest.raises(web.VisitorError, match="no bundled photograph called '../../etc/passwd'"):
        web.choose(None, "../../etc/passwd", web.PHOTOGRAPHS, "photograph")
    assert web.choose(None, web.UPLOAD, web.PHOTOGRAPHS, "photograph") is None


def test_a_size_above_the_servers_limit_is_a_message_not_a_run(page):
    updates = list(page.paint("a", None, "Tübingen", None, "The Starry Night (van Gogh)", None, web.UPLOAD,
                              *controls(size=4096)))  # fmt: skip
    expected = "**Cannot start:** size must be from 16 to 128 px on this server, not 4096"
    assert updates == [(None, expected, None)]


def test_a_run_streams_previews_and_ends_with_a_png_of_its_settings(page):
    updates = list(page.paint("b", TUBINGEN.read_bytes(), web.UPLOAD, STARRY_NIGHT.read_bytes(), web.UPLOAD,
                              None, web.UPLOAD, *controls(seed=4)))  # fmt: skip
    previews, final = updates[:-1], updates[-1]
    assert previews and all("iteration" in text for _, text, _ in previews)
    image, text, download = final
    assert image.size == (384, 288) and "**done**: 200 iterations" in text and "seed 4" in text  # shown x6
    with Image.open(download) as saved:
        settings = json.loads(saved.text["impasto"])
        assert saved.size == (64, 48)
    assert settings["seed"] == 4 and settings["size"] == 64 and settings["ratio"] == pytest.approx(1e-3)


def test_stop_ends_the_visitors_run_with_the_best_image_so_far(page):
    updates = page.paint("c", None, "Tübingen", None, "The Starry Night (van Gogh)", None, web.UPLOAD,
                         *controls(recipe="paper"))  # fmt: skip
    next(updates)  # the first preview: the run is going
    page.stop("c")
    last = list(updates)[-1]
    assert "**stopped**" in last[1] and last[0].size == (384, 288)
