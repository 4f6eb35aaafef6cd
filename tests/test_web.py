"""`impasto serve` in a real browser: Debian's Chromium, driven by Playwright.

The server runs as a user starts it (the installed command, on a free port). The tests need
Chromium at /usr/bin/chromium (Debian's package `chromium`; `make test` installs it where it
can, as root); without it they are skipped, and say so.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, STARRY_NIGHT, TUBINGEN
from PIL import Image

CHROMIUM = Path(os.environ.get("IMPASTO_CHROMIUM", "/usr/bin/chromium"))
COMMAND = Path(sys.executable).parent / "impasto"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's package (as root: apt-get install chromium; "
    "`make test` does it) or point IMPASTO_CHROMIUM at one",
)
# Chromium as a test harness: headless, no sandbox (CI runs as root), and none of its own
# connections to the outside, which this machine's closed network refuses.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOT = ROOT / "docs" / "web.png"  # IMPASTO_UPDATE_DOCS=1 writes the mid-run screenshot here


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    process = subprocess.Popen([COMMAND, "serve", "--port", str(port), "--max-size", "128"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5):
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail(f"impasto serve did not start: {process.communicate()[0][-2000:]}")
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto(server, wait_until="networkidle")
    yield page
    context.close()


def upload(page, slot: str, path: Path) -> None:
    page.locator(f"#upload-{slot} input[type=file]").set_input_files(str(path))


def status(page) -> str:
    return page.locator("#status").inner_text()


def preview_source(page) -> str | None:
    image = page.locator("#preview img")
    return image.first.get_attribute("src") if image.count() else None


def test_a_run_streams_previews_stops_and_downloads_its_png(page, server, tmp_path):
    upload(page, "photograph", TUBINGEN)
    upload(page, "painting", STARRY_NIGHT)
    page.wait_for_function("document.querySelector('#status').innerText.includes('1024x640')")
    page.locator("#start").click()  # the fast recipe at 128 px: one scale of 200 iterations

    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('iteration')", timeout=120_000
    )
    first = preview_source(page)
    page.wait_for_function(
        f"document.querySelector('#preview img')?.src !== {json.dumps(first)}", timeout=60_000
    )
    assert "scale 1 of 1" in status(page) and "style" in status(page)
    # far enough for the picture to show the painting, not yet at the end
    reached = "Number(document.querySelector('#status').innerText.match(/iteration (\\d+)/)?.[1])"
    page.wait_for_function(f"{reached} >= 100", timeout=120_000)
    shot = tmp_path / "web.png"
    page.screenshot(path=shot)
    if os.environ.get("IMPASTO_UPDATE_DOCS"):
        shutil.copy(shot, SCREENSHOT)

    page.locator("#stop").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('stopped')", timeout=60_000)
    done = int(re.search(r"(\d+) iterations", status(page)).group(1))
    assert done < 200  # it stopped, and did not run to the end

    with page.expect_download() as download:
        page.locator("#download").click()
    saved = tmp_path / "result.png"
    download.value.save_as(saved)
    with Image.open(saved) as result:
        assert result.format == "PNG" and result.size == (128, 96)
        settings = json.loads(result.text["impasto"])
    assert settings["size"] == 128 and settings["recipe"] == "fast" and settings["stopped"] is True
    assert settings["iterations"] == done

    # the page asked nothing of any other server: no fonts, scripts or analytics from outside
    assert {url.split("/")[2] for url in page.requested if "://" in url} == {server.split("/")[2]}


def test_a_file_that_is_not_an_image_gets_a_message(page, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a picture")
    upload(page, "photograph", text)  # refused by its type, in the page
    page.get_by_text("Invalid file type: notes.txt").wait_for(timeout=30_000)
    disguised = tmp_path / "notes.png"
    disguised.write_text("not a picture either")
    upload(page, "painting", disguised)  # its name says image: refused when read, on the server
    page.wait_for_function("document.querySelector('#status').innerText.includes('not an image')")
    assert (
        status(page)
        == "Cannot start: the painting is not an image that can be read (use PNG, JPEG, WebP, BMP or TIFF)"
    )
    assert "Traceback" not in page.content()


def test_a_second_visitor_waits_in_the_queue_and_sees_their_place(browser, server):
    visitors = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    first, second = (context.new_page() for context in visitors)
    for page in (first, second):
        page.goto(server, wait_until="networkidle")
        size = page.locator("#size input[type=number]")
        size.fill("64")
        size.press("Enter")
        page.locator("#recipe").get_by_text("paper").click()
    first.locator("#start").click()
    first.wait_for_function(
        "document.querySelector('#status').innerText.includes('iteration')", timeout=120_000
    )
    second.locator("#start").click()
    second.get_by_text(re.compile(r"queue: 1/1")).first.wait_for(
        timeout=30_000
    )  # Gradio's place in the queue
    assert "iteration" not in status(second)  # one run at a time: it waits
    first.locator("#stop").click()
    second.wait_for_function(
        "document.querySelector('#status').innerText.includes('iteration')", timeout=120_000
    )
    second.locator("#stop").click()
    second.wait_for_function(
        "document.querySelector('#status').innerText.includes('stopped')", timeout=60_000
    )
    for context in visitors:
        context.close()
