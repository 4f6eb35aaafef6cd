"""Memory and time estimates, the budget's choice of strategy, and --dry-run."""

import json
import subprocess
import sys

import pytest
from conftest import STARRY_NIGHT, TUBINGEN

import impasto
from impasto import api, memory
from impasto.errors import ImpastoError

# Runs a transfer in a fresh process and prints that process's peak resident memory: VmHWM,
# not ru_maxrss, which a child started by fork and exec inherits from its parent (pytest).
MEASURE = """
import json, sys
import impasto
impasto.transfer(sys.argv[1], sys.argv[2], **json.loads(sys.argv[3]))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(int(status["VmHWM"].split()[0]) * 1024)
"""
SHALLOW = dict(content_layers=["conv2_2"], style_layers=["conv1_1", "conv2_1", "conv3_1"])


@pytest.mark.parametrize(
    "options",
    [
        dict(size=256),
        dict(size=256, tile=64, **SHALLOW),
        dict(size=128, recipe="paper"),
        dict(size=256, recipe="paper", style_scale=4),
    ],
    ids=["256 in two scales", "256 in tiles", "128 paper", "256 with the painting at 1024"],
)
def test_estimated_peak_memory_is_within_a_factor_of_1_5_of_the_measured_peak(options):
    options = dict(options, iterations=25, seed=0)  # enough iterations to fill L-BFGS's memory
    estimated = api.estimate(impasto.transfer, TUBINGEN, STARRY_NIGHT, **options).peak_bytes
    command = [sys.executable, "-c", MEASURE, str(TUBINGEN), str(STARRY_NIGHT), json.dumps(options)]
    measured = int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    assert measured / 1.5 < estimated < 1.5 * measured


def test_the_budget_chooses_the_whole_image_tiles_or_a_refusal():
    def last_step(budget):
        plan = api.estimate(impasto.transfer, TUBINGEN, STARRY_NIGHT, size=1024, max_memory=budget).plan
        assert all(scale.peak_bytes <= plan.budget for scale in plan.scales)
        return plan.scales[-1]

    whole = last_step("64G")
    assert whole.tile is None and whole.tile_count == 1
    tiled = last_step(whole.peak_bytes - 1)
    assert tiled.tile is not None and tiled.tile_count > 1 and tiled.peak_bytes < whole.peak_bytes
    assert tiled.flops > whole.flops  # margins and a second pass cost time
    with pytest.raises(ImpastoError, match="max_memory is too small: at .* the run needs about"):
        last_step("600M")


def test_estimates_grow_with_size_and_time_with_iterations():
    small = api.estimate(impasto.transfer, TUBINGEN, STARRY_NIGHT, size=256, recipe="paper", iterations=10)
    large = api.estimate(impasto.transfer, TUBINGEN, STARRY_NIGHT, size=512, recipe="paper", iterations=10)
    longer = api.estimate(impasto.transfer, TUBINGEN, STARRY_NIGHT, size=256, recipe="paper", iterations=20)
    assert small.peak_bytes < large.peak_bytes
    assert large.plan.seconds(1e9) == pytest.approx(4 * small.plan.seconds(1e9), rel=0.05)
    assert longer.plan.seconds(1e9) == pytest.approx(2 * small.plan.seconds(1e9))
    assert "256x192 output: 1 scale, 10 iterations" in str(small)


def test_flops_per_pixel_match_vgg19():
    # VGG19's 16 convolutions take 19.6 GFLOP (multiply-adds) forward at 224 x 224 px
    assert memory.flops_per_pixel("conv5_4") / 2 * 224 * 224 / 2 == pytest.approx(19.6e9, rel=0.02)


@pytest.mark.parametrize(
    "text, expected", [("8G", 8 * 2**30), ("512M", 512 * 2**20), ("1.5GB", int(1.5 * 2**30)),
                       ("2t", 2 * 2**40), ("1000", 1000), (4096, 4096)],
)  # fmt: skip
def test_memory_sizes(text, expected):
    assert memory.parse_size(text) == expected


@pytest.mark.parametrize("text", ["8X", "", "-1G", "0", "lots"])
def test_bad_memory_sizes_are_refused(text):
    with pytest.raises(ImpastoError, match="not a size such as 8G"):
        memory.parse_size(text)
    with pytest.raises(ImpastoError, match="max_memory must be a size such as 8G"):
        impasto.Settings(max_memory=text)
