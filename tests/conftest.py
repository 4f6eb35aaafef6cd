"""Shared fixtures: the real default weights, the bundled photographs, a clean cache per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from impasto import cli, normalization, weights
from impasto.images import read_image, resize_long_side, to_tensor
from impasto.vgg import VGG19

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TUBINGEN = EXAMPLES / "tubingen.jpg"
STARRY_NIGHT = EXAMPLES / "starry_night.jpg"
ASTRONAUT = ROOT / "tests" / "data" / "astronaut.png"
# The full-precision file is fetched once (with `weights.fetch`, as a user would) and kept
# here between runs; a fresh clone downloads it on its first test run.
FETCHED_WEIGHTS = ROOT / ".cache" / "test-weights"


@pytest.fixture(autouse=True)
def empty_cache(tmp_path_factory, monkeypatch):
    """Every test starts from the packaged default: no user cache, no IMPASTO_WEIGHTS."""
    monkeypatch.setenv("IMPASTO_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("IMPASTO_WEIGHTS", raising=False)


@pytest.fixture(scope="session")
def full_precision_h5() -> Path:
    previous = os.environ.get("IMPASTO_CACHE_DIR")
    os.environ["IMPASTO_CACHE_DIR"] = str(FETCHED_WEIGHTS)
    try:
        return weights.fetch(log=lambda line: None)
    finally:
        if previous is None:
            del os.environ["IMPASTO_CACHE_DIR"]
        else:
            os.environ["IMPASTO_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def default_source() -> weights.WeightsSource:
    return weights.WeightsSource("8-bit", weights.packaged_path(), "package")


@pytest.fixture(scope="session")
def default_parameters(default_source) -> weights.Parameters:
    return weights.load(default_source)


@pytest.fixture(scope="session")
def network(default_source, default_parameters) -> VGG19:
    """The normalised network, as a default run uses it."""
    factors = normalization.factors_for(default_source, default_parameters)
    return VGG19(default_parameters, default_source.convention, factors=factors)


@pytest.fixture(scope="session")
def raw_network(default_source, default_parameters) -> VGG19:
    return VGG19(default_parameters, default_source.convention)


def photo(path: Path, size: int):
    return to_tensor(resize_long_side(read_image(path), size))


def run_cli(*arguments, capsys) -> tuple[int, str, str]:
    """`impasto ARGUMENTS` in this process: its exit status, stdout and stderr."""
    try:
        status = cli.main([str(a) for a in arguments])
    except SystemExit as exit:  # argparse's own refusals
        status = exit.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err
