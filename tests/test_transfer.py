"""End to end with the real network at small sizes: transfer, content and texture."""

import numpy as np
import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN

import impasto
from impasto import api, images
from impasto.losses import PerceptualLoss

SIZE = 96


def measure(network, image, photograph, painting):
    """(content distance to the photograph, style distance to the painting), the paper's losses."""
    layers = api.DEFAULT_STYLE_LAYERS
    with torch.no_grad():
        loss = PerceptualLoss(
            network(images.to_tensor(photograph), ["conv4_2"]),
            PerceptualLoss.gram_targets(network(images.to_tensor(painting), layers)),
            1.0, 1.0, {name: 1 / len(layers) for name in layers},
        )  # fmt: skip
        terms = loss(network(images.to_tensor(image), loss.layers))
    return terms.content.item(), terms.style.item()


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


def test_result_is_nearer_the_photograph_in_content_and_the_painting_in_style(short_transfer, network):
    result, _ = short_transfer
    photograph = images.resize_long_side(images.read_image(TUBINGEN), SIZE)
    painting = images.resize_long_side(images.read_image(STARRY_NIGHT), SIZE)
    result_content, result_style = measure(network, result, photograph, painting)
    painting_content, _ = measure(network, painting.resize(photograph.size), photograph, painting)
    _, photograph_style = measure(network, photograph, photograph, painting)
    assert result_content < 0.5 * painting_content
    assert result_style < 0.5 * photograph_style


def test_same_seed_repeats_bit_for_bit_and_another_seed_differs():
    run = lambda seed: np.asarray(impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=8, seed=seed))  # noqa: E731
    first, again, other = run(7), run(7), run(8)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)


def test_adam_and_max_pooling_and_content_init_run():
    iterates = []
    result = impasto.transfer(
        TUBINGEN, STARRY_NIGHT, size=64, iterations=10, optimizer="adam", pooling="max",
        init="content", normalize=False, callback=iterates.append,
    )  # fmt: skip
    assert result.size == (64, 48)
    assert iterates[-1].loss < iterates[0].loss


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
        (dict(size=0), "size must be a positive whole number"),
        (dict(iterations=-3), "iterations must be a positive whole number"),
        (dict(ratio=0), "ratio must be a positive number"),
        (dict(content_layers=["conv9_9"]), "unknown layer 'conv9_9'"),
        (dict(style_layer_weights=[1, 2]), "2 style layer weights for 5 style layers"),
        (dict(style_weight=-1.0), "style_weight must be a number of 0 or more"),
        (dict(device="tpu"), "device must be one of"),
        (dict(init="nowhere.png"), "nowhere.png: no such file"),
    ],
)
def test_bad_options_raise_one_line(options, message):
    with pytest.raises(impasto.ImpastoError, match=message):
        impasto.transfer(TUBINGEN, STARRY_NIGHT, **{"size": 32, "iterations": 1, **options})


def test_loss_weights_follow_ratio_or_direct_weights():
    assert api._loss_weights(1e-3, None, None) == (1e-3, 1.0)
    assert api._loss_weights(1e-3, 2.0, None) == (2.0, 2000.0)
    assert api._loss_weights(1e-3, None, 4.0) == (4e-3, 4.0)
    assert api._loss_weights(1e-3, 5.0, 6.0) == (5.0, 6.0)
    assert api._loss_weights(1e-3, 0.0, None) == (0.0, 1.0)  # style alone
    assert api._loss_weights(1e-3, None, 0.0) == (1.0, 0.0)  # content alone
