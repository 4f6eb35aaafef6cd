"""End to end with the real network at small sizes: transfer, content and texture."""

import numpy as np
import pytest
from conftest import STARRY_NIGHT, TUBINGEN

import impasto
from impasto import images, quality, weights
from impasto.network import build
from impasto.optimize import ADAM_LEARNING_RATE
from impasto.settings import Settings

SIZE = 96


@pytest.fixture(scope="module")
def short_transfer():
    """The paper's kind of start (white noise), so that how far the losses fall says how well
    the optimisation works."""
    iterates = []
    result = impasto.transfer(
        TUBINGEN, STARRY_NIGHT, size=SIZE, iterations=60, seed=0, noise="white", callback=iterates.append
    )
    return result, iterates


def test_transfer_lowers_both_losses(short_transfer):
    result, iterates = short_transfer
    assert result.size == (96, 72) and result.mode == "RGB"
    assert len(iterates) == 60
    assert iterates[-1].content_loss < 0.25 * iterates[0].content_loss
    assert iterates[-1].style_loss < 0.1 * iterates[0].style_loss


def test_result_is_nearer_the_photograph_in_content_and_the_painting_in_style(short_transfer):
    result, _ = short_transfer
    yardstick = quality.Yardstick(TUBINGEN, STARRY_NIGHT)
    photograph = images.resize_long_side(images.read_image(TUBINGEN), SIZE)
    painting = images.resize_long_side(images.read_image(STARRY_NIGHT), SIZE)
    measured = yardstick(result)
    assert measured.content < 0.5 * yardstick(painting.resize(photograph.size)).content
    assert measured.style < 0.5 * yardstick(photograph).style


def test_same_seed_repeats_bit_for_bit_and_another_seed_differs():
    run = lambda seed: np.asarray(impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=8, seed=seed))  # noqa: E731
    first, again, other = run(7), run(7), run(8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_max_pooling_and_the_unnormalised_network_are_the_ones_the_loss_is_computed_on():
    """From the photograph, the first iterate's style loss is the photograph's own, on exactly
    the network asked for."""
    for pooling, normalize in [("avg", True), ("max", True), ("avg", False)]:
        first = []
        impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=1, init="content", pooling=pooling,
                         normalize=normalize, precision="float32", callback=first.append)  # fmt: skip
        source = weights.resolve()
        network = build(source, weights.load(source), pooling, normalize)
        yardstick = quality.Yardstick(TUBINGEN, STARRY_NIGHT, network)
        photograph = images.resize_long_side(images.read_image(TUBINGEN), 64)
        assert first[0].style_loss == pytest.approx(yardstick(photograph).style, rel=1e-4)


def test_adam_moves_every_pixel_by_its_step_at_first():
    """Adam's first step is the learning rate times the gradient's sign; L-BFGS's is far smaller."""
    seen = {}
    for optimizer in ("adam", "lbfgs"):
        iterates = []
        impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=2, init="content", optimizer=optimizer,
                         callback=iterates.append)  # fmt: skip
        seen[optimizer] = (iterates[1].tensor - iterates[0].tensor).abs().max().item()
    assert seen["adam"] == pytest.approx(ADAM_LEARNING_RATE, rel=0.01)
    assert seen["lbfgs"] < 0.1 * ADAM_LEARNING_RATE


def test_init_from_content_starts_at_the_photograph():
    first = []
    impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=1, init="content", callback=first.append)
    assert first[0].content_loss == 0.0


def test_reconstruction_from_a_low_layer_approaches_the_photograph():
    photograph = np.asarray(images.resize_long_side(images.read_image(TUBINGEN), 64), float)
    iterates = []
    result = impasto.reconstruct_content(TUBINGEN, layer="conv1_2", size=64, iterations=100, seed=0,
                                         callback=iterates.append)  # fmt: skip
    noise_error = np.abs(np.asarray(iterates[0].image, float) - photograph).mean()
    result_error = np.abs(np.asarray(result, float) - photograph).mean()
    assert result_error < 0.6 * noise_error
    assert all(iterate.style_loss == 0 for iterate in iterates)


def test_texture_matches_the_style_representation_alone():
    iterates = []
    result = impasto.synthesize_texture(STARRY_NIGHT, style_layers=["conv1_1", "conv2_1"], size=64,
                                        iterations=40, seed=0, callback=iterates.append)  # fmt: skip
    assert result.size == (64, 40)
    assert iterates[-1].style_loss < 0.05 * iterates[0].style_loss
    assert all(iterate.content_loss == 0 for iterate in iterates)


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(size=0), "size must be a positive whole number, not 0"),
        (dict(iterations=-3), "iterations must be a positive whole number, not -3"),
        (dict(ratio=0), "ratio must be a positive number, not 0"),
        (dict(ratio=-1), "ratio must be a positive number, not -1"),
        (dict(content_layers=["conv9_9"]), "content_layers names an unknown layer 'conv9_9'"),
        (dict(style_layer_weights=[1, 2]), "style_layer_weights has 2 weights for 5 style layers"),
        (dict(style_weight=-1.0), "style_weight must be a number of 0 or more"),
        (dict(ratio=1e-3, content_weight=1.0), "ratio and content_weight/style_weight cannot both be given"),
        (dict(device="tpu"), "device must be one of"),
        (dict(init="nowhere.png"), "nowhere.png: no such file"),
    ],
)
def test_bad_options_raise_one_line_naming_the_parameter(options, message):
    with pytest.raises(impasto.ImpastoError, match=message):
        impasto.transfer(TUBINGEN, STARRY_NIGHT, **{"size": 32, "iterations": 1, **options})


def test_loss_weights_follow_the_ratio_or_the_weights_each_with_its_default():
    assert Settings().loss_weights == (1e-3, 1.0)
    assert Settings(ratio=5e-4).loss_weights == (5e-4, 1.0)
    assert Settings(content_weight=2.0).loss_weights == (2.0, 1.0)  # β keeps its default
    assert Settings(style_weight=4.0).loss_weights == (1e-3, 4.0)  # α keeps its default
    assert Settings(content_weight=5.0, style_weight=6.0).loss_weights == (5.0, 6.0)
    assert Settings(content_weight=0.0).loss_weights == (0.0, 1.0)  # style alone
    with pytest.raises(impasto.ImpastoError, match="content_weight and style_weight cannot both be 0"):
        Settings(content_weight=0.0, style_weight=0.0)
