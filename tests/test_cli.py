"""The `impasto` command: real runs at small sizes, and one line with status 2 for bad input."""

import dataclasses
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN
from conftest import run_cli as run
from PIL import Image

import impasto
from impasto import cli, tiles
from impasto.objective import WholeImage
from impasto.settings import Settings

COMMAND = Path(sys.executable).parent / "impasto"  # the installed console script


def test_transfer_writes_the_image_and_intermediates(tmp_path, capsys):
    output = tmp_path / "painted.jpg"
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "-o", output, "--size", 64,
                         "--iterations", 6, "--save-every", 3, "--seed", 1, capsys=capsys)  # fmt: skip
    assert status == 0
    with Image.open(output) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "painted.0003.jpg",
        "painted.0006.jpg",
        "painted.jpg",
    ]
    assert f"wrote {output}" in err and "seed 1" in err


def test_intermediates_are_numbered_across_scales(tmp_path, capsys):
    output = tmp_path / "painted.png"
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "-o", output, "--scales", "32,48",
                         "--iterations", 2, "--save-every", 1, "--seed", 1, capsys=capsys)  # fmt: skip
    assert status == 0, err
    assert sorted(p.name for p in tmp_path.iterdir())[:4] == [f"painted.000{i}.png" for i in (1, 2, 3, 4)]
    assert Image.open(output).size == (48, 36) and "4 iterations" in err


def test_content_and_texture_commands(tmp_path, capsys):
    status, _, _ = run("content", TUBINGEN, "-o", tmp_path / "c.png", "--content-layers", "conv3_2",
                       "--size", 48, "--iterations", 3, "--quiet", capsys=capsys)  # fmt: skip
    assert status == 0 and Image.open(tmp_path / "c.png").size == (48, 36)
    status, _, err = run("texture", STARRY_NIGHT, "-o", tmp_path / "t.webp", "--quiet", "--size", 48,
                         "--style-layers", "conv1_1,conv2_1", "--iterations", 3, capsys=capsys)  # fmt: skip
    assert status == 0 and Image.open(tmp_path / "t.webp").format == "WEBP"
    assert err == ""  # --quiet


def test_weights_info_names_the_source(capsys):
    status, out, _ = run("weights", "info", capsys=capsys)
    assert status == 0
    assert "8-bit" in out and "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin" in out
    assert "md5:" in out


BAD_INPUTS = [
    (["transfer", "absent.jpg", STARRY_NIGHT], "absent.jpg: no such file"),
    (["transfer", TUBINGEN, Path(__file__)], "not an image"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--style-layers", "conv1_1,conv9_1"],
     "--style-layers names an unknown layer 'conv9_1'"),
    (["content", TUBINGEN, "--content-layers", "fc7"], "--content-layers names an unknown layer 'fc7'"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--size", "0"], "--size must be a positive whole number, not 0"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--iterations", "-5"], "--iterations must be a positive whole"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--iterations", "many"], "'many' is not a whole number"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--ratio", "-1"], "--ratio must be a positive number, not -1.0"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--weights", "nowhere.h5"], "nowhere.h5: weights file not found"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--style-layer-weights", "1,1"], "2 weights for 5 style layers"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--ratio", "1e-3", "--style-weight", "2"],
     "--ratio and content_weight/style_weight cannot both be given"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--seed", str(2**64)], "--seed must be a whole number from 0"),
    (["texture", STARRY_NIGHT, "--style-layers", "pool5"], "pool5 needs at least 32 px"),
    (["transfer", TUBINGEN, STARRY_NIGHT, "--content-weight", "0", "--style-weight", "0"], "both be 0"),
    (["texture", STARRY_NIGHT, "--init", "content"], "--init 'content' needs a content image"),
]  # fmt: skip


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)


def test_a_device_that_is_not_there_is_refused(tmp_path, capsys, no_gpu):
    output = tmp_path / "out.png"
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "--device", "cuda", "-o", output, capsys=capsys)
    assert status == 2 and "--device 'cuda' is not available" in err and not output.exists()


@pytest.mark.parametrize("arguments, message", BAD_INPUTS)
def test_bad_input_gets_one_line_status_2_and_no_output(tmp_path, capsys, arguments, message):
    output = tmp_path / "out.png"
    # Small defaults first, so that an option under test given later overrides them.
    command, *rest = arguments
    status, out, err = run(command, "-o", output, "--size", 32, "--iterations", 2, *rest, capsys=capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not output.exists()


@pytest.mark.parametrize("output, message", [("missing/out.png", "does not exist"),
                                             ("out.doc", "cannot tell the output format")])  # fmt: skip
def test_unwritable_output_is_refused_before_any_work(tmp_path, capsys, monkeypatch, output, message):
    def no_work(*arguments, **options):
        raise AssertionError("the network was loaded before the output was checked")

    monkeypatch.setattr("impasto.painter.Painter.network", no_work)
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "-o", tmp_path / output, capsys=capsys)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_run_that_fails_half_way_keeps_an_existing_output(tmp_path, capsys, monkeypatch):
    """Out of memory at the fifth evaluation: one line, status 1, and the file as it was."""
    output = tmp_path / "out.png"
    Image.new("RGB", (5, 5), "red").save(output)
    before = output.read_bytes()
    evaluations = []
    evaluate = WholeImage.__call__

    def failing(self, pixels):
        evaluations.append(1)
        if len(evaluations) == 5:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return evaluate(self, pixels)

    monkeypatch.setattr(WholeImage, "__call__", failing)
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "-o", output, "--size", 64, "--iterations", 20,
                         "--quiet", capsys=capsys)  # fmt: skip
    assert len(evaluations) == 5
    assert status == 1 and "ran out of memory" in err and len(err.strip().splitlines()) == 1
    assert output.read_bytes() == before


def test_a_bad_mask_is_refused_before_the_network_is_loaded(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("impasto.painter.Painter.network", lambda *a, **k: pytest.fail("the network loaded"))
    noise = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "--content-mask", tmp_path / "noise.png",
                         "-o", tmp_path / "out.png", capsys=capsys)  # fmt: skip
    assert status == 2 and "the content mask has" in err and "a few flat colours" in err


@pytest.mark.parametrize("which", ["content", "style", "mask"])
def test_an_output_that_names_an_input_is_refused_before_any_work(tmp_path, capsys, monkeypatch, which):
    monkeypatch.setattr("impasto.painter.Painter.network", lambda *a, **k: pytest.fail("the run started"))
    photograph, painting, mask = tmp_path / "photo.jpg", tmp_path / "painting.jpg", tmp_path / "mask.png"
    shutil.copy(TUBINGEN, photograph)
    shutil.copy(STARRY_NIGHT, painting)
    Image.new("RGB", (40, 30), "white").save(mask)
    kept = {path: path.read_bytes() for path in (photograph, painting, mask)}
    output = {"content": photograph, "style": painting, "mask": mask}[which]
    status, _, err = run("transfer", photograph, painting, "--content-mask", mask, "-o", output,
                         capsys=capsys)  # fmt: skip
    assert status == 2 and "is one of the run's inputs" in err and len(err.strip().splitlines()) == 1
    assert all(path.read_bytes() == content for path, content in kept.items())


def test_installed_command_reports_bad_input_without_a_traceback(tmp_path):
    arguments = ["transfer", "absent.jpg", str(STARRY_NIGHT), "-o", str(tmp_path / "o.png")]
    result = subprocess.run([COMMAND, *arguments], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "impasto: error: absent.jpg: no such file"


def test_ctrl_c_writes_the_best_image_so_far(tmp_path):
    output = tmp_path / "out.png"
    process = subprocess.Popen(
        [COMMAND, "transfer", str(TUBINGEN), str(STARRY_NIGHT), "-o", str(output), "--size", "64",
         "--iterations", "100000", "--save-every", "2", "--quiet"],
        stderr=subprocess.PIPE, text=True,
        # as a terminal starts it: a shell's background job (a test run started with &) ignores SIGINT
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / "out.0002.png").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err
    assert Image.open(output).size == (64, 48)


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run("transfer", TUBINGEN, STARRY_NIGHT, "--size", 4096, "--max-memory", "12G",
                         "--dry-run", "-o", "out.png", "--save-every", 1, capsys=capsys)  # fmt: skip
    assert status == 0 and not list(tmp_path.iterdir())
    assert "4096x3072 output: 6 scales, 950 iterations" in out
    assert "tiles of" in out and "estimated peak memory" in out and "estimated time" in out


@pytest.mark.parametrize("size", [60000, 1000000])
def test_an_impossible_size_is_refused_at_once_without_building_it(capsys, size):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "--size", size, "--dry-run", capsys=capsys)
    assert status == 2 and "--size is too large for this machine" in err and len(err.splitlines()) == 1
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # Linux: KiB
    assert grown < 500 * 2**20


@pytest.mark.parametrize("budget, message", [("100M", "--max-memory is too small"), ("lots", "a size")])
def test_a_budget_that_cannot_be_met_is_refused_in_one_line(tmp_path, capsys, budget, message):
    output = tmp_path / "out.png"
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "--size", 512, "--max-memory", budget,
                         "-o", output, capsys=capsys)  # fmt: skip
    assert status == 2 and message in err and len(err.splitlines()) == 1 and not output.exists()


def test_output_is_required_except_for_a_dry_run(capsys):
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, capsys=capsys)
    assert status == 2 and "give an output image" in err


def test_a_tiled_run_from_the_command_line(tmp_path, capsys, monkeypatch):
    """--tile reaches the engine: every evaluation at 64 px goes through tiles of 32 px."""
    cores = []
    evaluate = tiles.TiledObjective.__call__

    def spying(self, pixels):
        cores.append((self.core, tuple(pixels.shape[-2:])))
        return evaluate(self, pixels)

    monkeypatch.setattr(tiles.TiledObjective, "__call__", spying)
    output = tmp_path / "tiled.png"
    status, _, _ = run("transfer", TUBINGEN, STARRY_NIGHT, "--size", 64, "--iterations", 3, "--tile", 32,
                       "-o", output, capsys=capsys)  # fmt: skip
    assert status == 0
    assert cores == [(32, (48, 64))] * 3
    with Image.open(output) as image:
        assert image.size == (64, 48)


def test_help_lists_exactly_the_settings_and_the_engines_options(capsys):
    status, out, _ = run("transfer", "--help", capsys=capsys)
    assert status == 0
    flags = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", out))
    expected = {cli.flag(field.name) for field in dataclasses.fields(Settings)}
    expected |= {"--device", "--precision", "--weights"}  # the Painter's
    expected |= {"--help", "--style", "--output", "--dry-run", "--save-every", "--quiet"}  # the terminal's
    assert flags == expected


def test_the_command_the_api_and_a_painter_make_the_same_pixels(tmp_path, capsys):
    output = tmp_path / "out.png"
    options = dict(size=64, iterations=8, seed=3)
    status, _, err = run("transfer", TUBINGEN, STARRY_NIGHT, "-o", output, "--size", 64, "--iterations", 8,
                         "--seed", 3, capsys=capsys)  # fmt: skip
    assert status == 0 and "seed 3" in err
    from_command = np.asarray(Image.open(output))
    from_api = np.asarray(impasto.transfer(TUBINGEN, STARRY_NIGHT, **options))
    from_painter = np.asarray(impasto.Painter().paint(TUBINGEN, STARRY_NIGHT, Settings(**options)).image)
    assert np.array_equal(from_command, from_api) and np.array_equal(from_api, from_painter)
