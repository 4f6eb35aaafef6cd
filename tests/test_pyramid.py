"""The pyramid objective: a large image also scored at smaller copies of itself keeps its look."""

import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN, photo
from PIL import Image

import impasto
from impasto import images, pyramid, tiles
from impasto.losses import PerceptualLoss
from impasto.objective import WholeImage
from impasto.settings import DEFAULT_STYLE_LAYERS

STYLE_LAYERS = list(DEFAULT_STYLE_LAYERS)


def level_loss(network, height, width):
    """The paper's objective at one size: the photograph and the painting at that size."""
    photograph = images.to_tensor(images.read_image(TUBINGEN).resize((width, height)))
    with torch.no_grad():
        content_targets = network(photograph, ["conv4_2"])
        style_targets = PerceptualLoss.gram_targets(
            network(photo(STARRY_NIGHT, max(height, width)), STYLE_LAYERS)
        )
    weights = dict.fromkeys(STYLE_LAYERS, 1 / len(STYLE_LAYERS))
    return PerceptualLoss(content_targets, style_targets, 1e-3, 1.0, weights)


def test_levels_halve_down_to_the_look_size():
    assert pyramid.levels(512) == [] and pyramid.levels(300) == []
    assert pyramid.levels(768) == [512]
    assert pyramid.levels(1024) == [512]
    assert pyramid.levels(2048) == [1024, 512]
    assert pyramid.levels(3000) == [1500, 750, 512]
    assert pyramid.levels(256, base=64) == [128, 64]
    assert pyramid.levels(1025) == [512] and pyramid.levels(2050) == [1025, 512]  # 512.5 rounds to 512


@pytest.mark.parametrize("core", [None, 32], ids=["whole", "full size in tiles"])
def test_pyramid_loss_and_gradient_equal_autograd_of_the_sum(network, core):
    shapes = [(96, 128), (48, 64)]
    losses = [level_loss(network, *shape) for shape in shapes]
    image = torch.rand(1, 3, *shapes[0], generator=torch.Generator().manual_seed(0))

    pixels = image.clone().requires_grad_()
    expected = 0
    for loss, shape in zip(losses, shapes, strict=True):
        level = pixels if shape == shapes[0] else pyramid.shrink(pixels, shape)
        expected = expected + loss(network(level, loss.layers), level).total
    expected.backward()
    expected_gradient = pixels.grad.clone()

    def whole(loss):
        return WholeImage(network, loss, lambda x: x)

    first = whole(losses[0]) if core is None else tiles.TiledObjective(network, losses[0], lambda x: x, core)
    objective = pyramid.PyramidObjective([(first, shapes[0]), (whole(losses[1]), shapes[1])])
    evaluation = objective(image)
    assert evaluation.terms.total.item() == pytest.approx(expected.item(), rel=1e-5)
    error = (evaluation.gradient - expected_gradient).norm() / expected_gradient.norm()
    assert error.item() < 1e-5


def test_a_larger_output_keeps_the_look_of_the_look_size(network, monkeypatch):
    """With the look set at 64 px, a 128 px result shrunk to 64 px is nearly as near the
    painting's style as the 64 px result; scored at 128 px alone, it is far less so."""
    painting = photo(STARRY_NIGHT, 64)
    with torch.no_grad():
        targets = PerceptualLoss.gram_targets(network(painting, STYLE_LAYERS))
    loss = PerceptualLoss({}, targets, 0.0, 1.0, dict.fromkeys(STYLE_LAYERS, 1 / len(STYLE_LAYERS)))

    def style_distance(result):
        shrunk = result.resize(images.resize_long_side(result, 64).size, Image.Resampling.LANCZOS)
        with torch.no_grad():
            return loss(network(images.to_tensor(shrunk), loss.layers)).style.item()

    def run(size, look_size):
        monkeypatch.setattr(pyramid, "LOOK_SIZE", look_size)
        result = impasto.transfer(
            TUBINGEN, STARRY_NIGHT, size=size, iterations=100, seed=0, precision="float32"
        )
        return style_distance(result)

    small, kept, alone = run(64, 64), run(128, 64), run(128, 10**6)
    assert alone > 2 * small  # scored at 128 px alone, the look is lost (measured: 2.5x)
    assert kept - small < 0.25 * (alone - small)  # with the pyramid, most of it is kept (0.16)


def test_a_smaller_copy_too_small_for_the_network_is_refused_before_the_run(tmp_path, monkeypatch):
    """The check for images too small for conv5_1 covers the smaller copies, not only the first scale."""
    thin = tmp_path / "thin.png"
    images.read_image(TUBINGEN).resize((800, 120)).save(thin)  # at 128 px: 128x19; at 64 px: 64x10
    monkeypatch.setattr(pyramid, "LOOK_SIZE", 64)
    with pytest.raises(impasto.ImpastoError, match="would be 64x10 px at the smallest scale"):
        impasto.transfer(thin, STARRY_NIGHT, size=128, scales=[128], iterations=1)
