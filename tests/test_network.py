"""The encoder: named layers, cutting, pooling, frozen weights and the paper's normalisation."""

import pytest
import torch
from conftest import ASTRONAUT, TUBINGEN, photo

from impasto import normalization
from impasto.vgg import CONV_LAYERS, LAYERS, VGG19, deepest, smallest_side


def test_layers_are_named_as_in_the_paper():
    assert len(CONV_LAYERS) == 16 and len(LAYERS) == 21
    assert LAYERS[:3] == ("conv1_1", "conv1_2", "pool1") and LAYERS[-1] == "pool5"
    assert deepest(["conv1_1", "conv5_1", "conv4_2"]) == "conv5_1"
    assert (smallest_side("conv1_1"), smallest_side("pool1"), smallest_side("conv5_1")) == (1, 2, 16)
    assert smallest_side("pool5") == 32


def test_network_is_cut_after_the_deepest_layer_and_frozen(default_parameters):
    network = VGG19(default_parameters, last_layer="conv5_1")
    assert list(network.convs)[-1] == "conv5_1"
    assert not any(p.requires_grad for p in network.parameters())
    with pytest.raises(ValueError, match="cut after conv5_1"):
        network(photo(TUBINGEN, 64), ["conv5_2"])
    with pytest.raises(ValueError, match="unknown layer 'conv6_1'"):
        network(photo(TUBINGEN, 64), ["conv6_1"])


def test_feature_shapes_follow_pooling(network):
    image = photo(TUBINGEN, 128)  # 128 x 96
    features = network(image, ["conv1_1", "conv2_1", "pool2", "conv5_1"])
    assert features["conv1_1"].shape == (1, 64, 96, 128)
    assert features["conv2_1"].shape == (1, 128, 48, 64)
    assert features["pool2"].shape == (1, 128, 24, 32)
    assert features["conv5_1"].shape == (1, 512, 6, 8)


def test_max_pooling_differs_from_average(default_parameters):
    image = photo(TUBINGEN, 64)
    average = VGG19(default_parameters, pooling="avg", last_layer="conv2_1")(image, ["conv2_1"])
    maximum = VGG19(default_parameters, pooling="max", last_layer="conv2_1")(image, ["conv2_1"])
    assert maximum["conv2_1"].shape == average["conv2_1"].shape
    assert not torch.allclose(maximum["conv2_1"], average["conv2_1"])


def test_normalisation_only_rescales_each_filter(network, raw_network, default_source, default_parameters):
    """F_normalised * scale = F_original at every layer: the network computes the same function."""
    factors = normalization.factors_for(default_source, default_parameters)
    image = photo(TUBINGEN, 96)
    normalised = network(image, CONV_LAYERS)
    original = raw_network(image, CONV_LAYERS)
    for name in CONV_LAYERS:
        rescaled = normalised[name] * factors[name].view(1, -1, 1, 1)
        assert torch.allclose(rescaled, original[name], rtol=1e-3, atol=1e-3 * original[name].max().item())
    assert not torch.allclose(normalised["conv3_1"], original["conv3_1"])


def test_normalised_mean_activations_are_near_one_on_unseen_photographs(network, raw_network):
    """Tübingen and the astronaut are not among the calibration photographs."""
    unseen = [ASTRONAUT.name, TUBINGEN.name]
    assert not {p.stem for p in normalization.calibration_images()} & {n.split(".")[0] for n in unseen}
    images = [photo(TUBINGEN, 384), photo(ASTRONAUT, 384)]
    normalised = normalization.mean_activations(network, images)
    original = normalization.mean_activations(raw_network, images)
    for name in CONV_LAYERS:
        assert 0.5 < normalised[name].mean() < 2.5, name
    # Without normalisation the layers' mean responses are far from 1 and far apart.
    assert max(original[name].mean() for name in CONV_LAYERS) > 50
