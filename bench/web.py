"""The web page's figures: time to the first preview, the second visitor's reuse, idle memory.

    .venv/bin/python bench/web.py [--size 512] [--out bench/results/web.json]

Starts `impasto serve` (the installed command) on a free port and reads its resident memory
once it is idle, then drives Debian's Chromium with Playwright as two visitors in turn: each
chooses a photograph and The Starry Night at --size px, presses Start, and waits for the first
preview; the time between is measured in the page. The second visitor's photograph is
another, the painting the same, so its run finds the painting's targets in the painter's
cache: the server's log line for each run says how many targets it computed and how many it
found ready. Then each visitor presses Stop.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_web import CHROMIUM, CHROMIUM_FLAGS, COMMAND, free_port  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from quality_vs_time import machine  # noqa: E402


def resident_mib(pid: int) -> float:
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0]) / 1024


def first_preview_seconds(page, photograph: Path, size: int) -> float:
    page.locator("#upload-photograph input[type=file]").set_input_files(str(photograph))
    page.wait_for_function("document.querySelector('#status').innerText.includes(' px.')")
    field = page.locator("#size input[type=number]")
    field.fill(str(size))
    field.press("Enter")
    started = page.evaluate("performance.now()")
    page.locator("#start").click()
    page.wait_for_function(
        "document.querySelector('#status').innerText.includes('iteration')", timeout=600_000
    )
    seconds = (page.evaluate("performance.now()") - started) / 1000
    page.locator("#stop").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('stopped')", timeout=600_000)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "web.json")
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = subprocess.Popen([COMMAND, "serve", "--port", str(port), "--max-size", str(options.size)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                break
        except OSError:
            time.sleep(0.5)
    time.sleep(5)  # settled
    idle = resident_mib(server.pid)
    photographs = [ROOT / "examples" / "tubingen.jpg", ROOT / "tests" / "data" / "astronaut.png"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        seconds = []
        for photograph in photographs:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.goto(url, wait_until="networkidle")
            seconds.append(first_preview_seconds(page, photograph, options.size))
            context.close()
        browser.close()
    busy = resident_mib(server.pid)
    server.terminate()
    log = server.communicate(timeout=60)[0]
    targets = [dict(zip(("computed", "reused"), map(int, found), strict=True))
               for found in re.findall(r"targets: (\d+) computed, (\d+) reused", log)]  # fmt: skip
    report = {"machine": machine(), "size": options.size, "idle_rss_mib": round(idle),
              "rss_after_two_runs_mib": round(busy),
              "first_preview_seconds": dict(zip(("first visitor", "second visitor"), seconds, strict=True)),
              "targets": targets}  # fmt: skip
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
