"""The fast default recipe, the paper's, and the network's precision."""

import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN, photo

import impasto
from impasto import hardware
from impasto.errors import ImpastoError
from impasto.schedule import schedule
from impasto.settings import Settings
from impasto.vgg import VGG19


def plan(size, **options):
    """(long side, iterations) of each scale."""
    scales = schedule(Settings(size=size, **options), (4, 3))
    return tuple((scale.long_side, scale.iterations) for scale in scales)


def test_the_fast_recipe_goes_coarse_to_fine_with_iterations_where_they_pay():
    assert plan(128) == ((128, 200),)
    assert plan(300) == ((150, 40), (300, 70))
    assert plan(512) == ((128, 200), (256, 100), (512, 50))
    assert plan(2048)[-3:] == ((512, 200), (1024, 100), (2048, 50))


def test_the_paper_recipe_is_one_size_and_given_iterations_apply_at_every_scale():
    assert plan(512, recipe="paper") == ((512, 500),)
    assert plan(512, iterations=30) == ((128, 30), (256, 30), (512, 30))
    assert plan(512, scales=(256, 512)) == ((256, 40), (512, 70))
    assert plan(512, scales=(64, 128, 256, 512)) == ((64, 200), (128, 200), (256, 100), (512, 50))
    assert plan(512, recipe="paper", scales=(256, 512)) == ((256, 500), (512, 500))
    assert plan(512, recipe="paper", iterations=10, octaves=3) == ((128, 10), (256, 10), (512, 10))
    with pytest.raises(ImpastoError, match="recipe must be one of fast, paper"):
        Settings(recipe="quick")


def test_scales_alone_set_the_output_size():
    assert Settings(scales=(96, 192)).size == 192
    with pytest.raises(ImpastoError, match="scales end at the output size, but the last is 192 and size is"):
        Settings(size=512, scales=(96, 192))


def test_the_fast_recipe_beats_the_paper_recipe_with_the_same_iterations_at_the_output_size():
    """Its coarse scales cost a fraction of an output-size iteration each and leave a far
    better start than white noise."""
    fast, paper = [], []
    image = impasto.transfer(TUBINGEN, STARRY_NIGHT, size=256, seed=0, callback=fast.append)
    impasto.transfer(TUBINGEN, STARRY_NIGHT, size=256, seed=0, recipe="paper", iterations=70,
                     callback=paper.append)  # fmt: skip
    assert image.size == (256, 192) and image.mode == "RGB"
    assert [(i.tensor.shape[-1], i.scale) for i in (fast[0], fast[-1])] == [(128, 1), (256, 2)]
    assert [i.done for i in fast] == list(range(1, 111)) and fast[-1].planned == 110
    assert len(paper) == 70
    at_output = [i.loss for i in fast if i.scale == 2]
    assert all(f < p for f, p in zip(at_output, (i.loss for i in paper), strict=True))
    assert at_output[34] < 0.95 * paper[34].loss  # half-way (0.93 measured); the plain method closes in later


def test_bfloat16_responses_are_close_to_float32(default_source, default_parameters, network):
    bfloat16 = VGG19(default_parameters, default_source.convention, factors=None, precision="bfloat16")
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


def test_automatic_precision_is_bfloat16_wherever_the_cpu_computes_it_natively(monkeypatch):
    cpu = torch.device("cpu")
    for amx, avx512_bf16, expected in [(False, False, "float32"), (True, False, "bfloat16"),
                                       (False, True, "bfloat16")]:  # fmt: skip
        monkeypatch.setattr("torch.cpu._is_amx_tile_supported", lambda amx=amx: amx)
        monkeypatch.setattr("torch.cpu._is_avx512_bf16_supported", lambda bf16=avx512_bf16: bf16)
        assert hardware.resolve_precision("auto", cpu) == expected
    assert hardware.resolve_precision("float32", cpu) == "float32"
    with pytest.raises(ImpastoError, match="precision must be one of auto, float32, bfloat16"):
        impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, precision="half")
