"""The fast default recipe, the paper's, and the network's precision."""

import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN, photo

import impasto
from impasto import api
from impasto.errors import ImpastoError
from impasto.vgg import VGG19


def test_the_fast_recipe_goes_coarse_to_fine_with_most_iterations_where_they_are_cheap():
    assert api._schedule(512, None, "fast", None, None) == ((128, 200), (256, 100), (512, 50))
    assert api._schedule(2048, None, "fast", None, None)[-3:] == ((512, 200), (1024, 100), (2048, 50))
    assert api._schedule(300, None, "fast", None, None) == ((150, 100), (300, 50))
    assert api._schedule(128, None, "fast", None, None) == ((128, 200),)


def test_the_paper_recipe_is_one_size_and_given_iterations_apply_at_every_scale():
    assert api._schedule(512, None, "paper", None, None) == ((512, 500),)
    assert api._schedule(512, 30, "fast", None, None) == ((128, 30), (256, 30), (512, 30))
    assert api._schedule(512, None, "fast", (256, 512), None) == ((256, 100), (512, 50))
    assert api._schedule(512, None, "paper", (256, 512), None) == ((256, 500), (512, 500))
    with pytest.raises(ImpastoError, match="recipe must be one of fast, paper"):
        api._schedule(512, None, "quick", None, None)


def test_the_fast_recipe_beats_the_paper_recipe_with_the_same_iterations_at_the_output_size():
    """Its coarse scales cost a fraction of an output-size iteration each and leave a far
    better start than white noise."""
    fast, paper = [], []
    image = impasto.transfer(TUBINGEN, STARRY_NIGHT, size=256, seed=0, callback=fast.append)
    impasto.transfer(TUBINGEN, STARRY_NIGHT, size=256, seed=0, recipe="paper", iterations=50,
                     callback=paper.append)  # fmt: skip
    assert image.size == (256, 192) and image.mode == "RGB"
    assert [(i.tensor.shape[-1], i.scale) for i in (fast[0], fast[-1])] == [(128, 1), (256, 2)]
    assert [i.step for i in fast] == list(range(1, 151)) and fast[-1].steps == 150
    assert len(paper) == 50
    assert fast[-1].loss < 0.95 * paper[-1].loss


def test_bfloat16_responses_are_close_to_float32(default_source, default_parameters, network):
    bfloat16 = VGG19(default_parameters, default_source.convention, scales=None, precision="bfloat16")
    float32 = VGG19(default_parameters, default_source.convention)
    image = photo(TUBINGEN, 96)
    with torch.no_grad():
        exact = float32(image, ["conv1_1", "conv3_1", "conv5_1"])
        rounded = bfloat16(image, ["conv1_1", "conv3_1", "conv5_1"])
    for name, response in exact.items():
        assert rounded[name].dtype == torch.float32
        assert ((rounded[name] - response).norm() / response.norm()).item() < 0.03


def test_both_precisions_optimise_alike():
    final = {}
    for precision in ("float32", "bfloat16"):
        seen = []
        impasto.transfer(TUBINGEN, STARRY_NIGHT, size=96, iterations=40, seed=0, precision=precision,
                         noise="white", callback=seen.append)  # fmt: skip
        assert seen[-1].loss < 0.1 * seen[0].loss
        final[precision] = seen[-1].loss
    assert final["bfloat16"] == pytest.approx(final["float32"], rel=0.15)


def test_automatic_precision_is_bfloat16_only_where_the_hardware_has_it(monkeypatch):
    monkeypatch.setattr("torch.cpu._is_amx_tile_supported", lambda: False)
    assert api.resolve_precision("auto", torch.device("cpu")) == "float32"
    monkeypatch.setattr("torch.cpu._is_amx_tile_supported", lambda: True)
    assert api.resolve_precision("auto", torch.device("cpu")) == "bfloat16"
    assert api.resolve_precision("float32", torch.device("cpu")) == "float32"
    with pytest.raises(ImpastoError, match="precision must be one of auto, float32, bfloat16"):
        impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, precision="half")
