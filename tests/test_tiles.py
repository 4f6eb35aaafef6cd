"""Tiled optimisation: the loss and gradient over tiles equal the whole image's, so no seams."""

import numpy as np
import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN, photo

import impasto
from impasto import color, images, tiles
from impasto.losses import PerceptualLoss
from impasto.settings import DEFAULT_STYLE_LAYERS
from impasto.vgg import VGG19

STYLE_LAYERS = list(DEFAULT_STYLE_LAYERS)


def perceptual_loss(network, regions=None, tv_weight=0.0, shape=(96, 128)):
    photograph = images.to_tensor(images.read_image(TUBINGEN).resize(shape[::-1]))
    with torch.no_grad():
        content_targets = network(photograph, ["conv4_2"])
        style_targets = PerceptualLoss.gram_targets(network(photo(STARRY_NIGHT, 128), STYLE_LAYERS))
    if regions is not None:
        style_targets = {name: gram.expand(len(regions), -1, -1) for name, gram in style_targets.items()}
    weights = dict.fromkeys(STYLE_LAYERS, 1 / len(STYLE_LAYERS))
    return PerceptualLoss(content_targets, style_targets, 1e-3, 1.0, weights, regions, tv_weight)


def whole_and_tiled(network, loss, image, core, transform=lambda x: x):
    """(loss, gradient) of the whole image, then the same from tiles."""
    pixels = image.clone().requires_grad_()
    whole = loss(network(transform(pixels), loss.layers), pixels)
    whole.total.backward()
    whole_gradient = pixels.grad.clone()
    pixels.grad = None
    tiled = tiles.TiledObjective(network, loss, transform, core)(image)
    return whole, whole_gradient, tiled.terms, tiled.gradient


def relative_error(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.mark.parametrize(
    "height, width, core",
    [(320, 416, 128), (75, 100, 32)],
    ids=["windows inside the image", "edge tiles narrower than conv5_1's stride"],
)
def test_tiled_loss_and_gradient_equal_the_whole_images(network, height, width, core):
    loss = perceptual_loss(network, tv_weight=0.1, shape=(height, width))
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    whole, whole_gradient, tiled, tiled_gradient = whole_and_tiled(network, loss, image, core)
    assert len(tiles.tiles(height, width, core, "conv5_1")) >= 9
    assert tiled.total.item() == pytest.approx(whole.total.item(), rel=1e-5)
    assert tiled.content.item() == pytest.approx(whole.content.item(), rel=1e-5)
    assert tiled.style.item() == pytest.approx(whole.style.item(), rel=1e-5)
    assert relative_error(tiled_gradient, whole_gradient) < 1e-5


def test_tiled_gradient_with_regions_max_pooling_and_luminance(default_source, default_parameters, network):
    """Spatial control's guided Gram matrices, max pooling and a one-channel variable tile too."""
    regions = torch.zeros(2, 96, 128)
    regions[0, :40], regions[1, 40:] = 1, 1
    image = torch.rand(1, 1, 96, 128, generator=torch.Generator().manual_seed(1))
    max_pooling = VGG19(default_parameters, default_source.convention, pooling="max")
    for net in (network, max_pooling):
        loss = perceptual_loss(net, regions)
        whole, whole_gradient, tiled, tiled_gradient = whole_and_tiled(
            net, loss, image, 64, color.grey_to_rgb
        )
        assert tiled.total.item() == pytest.approx(whole.total.item(), rel=1e-5)
        assert relative_error(tiled_gradient, whole_gradient) < 1e-5


def test_targets_from_tiles_equal_the_whole_images(network):
    painting = photo(STARRY_NIGHT, 128)
    with torch.no_grad():
        whole = PerceptualLoss.gram_targets(network(painting, STYLE_LAYERS))
        whole_content = network(painting, ["conv4_2", "conv3_1"])
    tiled = tiles.gram_targets(network, painting, STYLE_LAYERS, 32)
    tiled_content = tiles.responses(network, painting, ["conv4_2", "conv3_1"], 32)
    for name in STYLE_LAYERS:
        assert relative_error(tiled[name], whole[name]) < 1e-5
    for name in ("conv4_2", "conv3_1"):
        assert relative_error(tiled_content[name], whole_content[name]) < 1e-5


def test_tiles_cover_the_image_once_and_start_on_the_stride():
    height, width = 200, 150
    covered = torch.zeros(height, width)
    for tile in tiles.tiles(height, width, 64, "conv5_1"):
        top, bottom, left, right = tile.core
        covered[top:bottom, left:right] += 1
        assert tile.window[0] % 16 == 0 and tile.window[2] % 16 == 0
        assert tile.window[0] <= top and tile.window[1] >= bottom
    assert torch.equal(covered, torch.ones(height, width))
    assert tiles.margin("conv5_1") == 96 and tiles.margin("conv1_1") == 1 and tiles.margin("conv1_2") == 2
    with pytest.raises(ValueError, match="multiple of 16"):
        tiles.tiles(height, width, 40, "conv5_1")


def test_a_tiled_run_has_no_seams_and_matches_the_whole_run():
    """Tiles of 32 px: neighbouring pixels differ across their borders no more than elsewhere,
    and the result is as good as the untiled one. (Layers up to conv3_1, whose margin of 16 px
    leaves each tile's window a part of the image.)"""
    options = dict(size=128, iterations=30, seed=0, recipe="paper", precision="float32",
                   content_layers=["conv2_2"], style_layers=["conv1_1", "conv2_1", "conv3_1"])  # fmt: skip
    iterates = {}
    for tile in (None, 32):
        seen = []
        impasto.transfer(TUBINGEN, STARRY_NIGHT, tile=tile, callback=seen.append, **options)
        iterates[tile] = seen
    # the same at first; L-BFGS then amplifies rounding differences, as any change would
    assert (iterates[None][2].tensor - iterates[32][2].tensor).abs().max() < 1e-4
    assert iterates[32][-1].loss < 1.05 * iterates[None][-1].loss

    image = np.asarray(iterates[32][-1].image).astype(float)
    across = np.abs(np.diff(image, axis=1)).mean(axis=(0, 2))  # between columns c and c+1
    down = np.abs(np.diff(image, axis=0)).mean(axis=(1, 2))
    for steps, borders in ((across, [31, 63, 95]), (down, [31, 63])):
        inside = np.delete(steps, borders).mean()
        assert steps[borders].max() < 1.3 * inside
