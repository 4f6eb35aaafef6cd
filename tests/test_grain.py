"""Clean pictures (issue 10): no colour grain that the painting does not have, its brushwork kept."""

import numpy as np
import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN
from PIL import Image, ImageFilter

import impasto
from impasto import color, images, quality, start
from impasto.losses import PerceptualLoss, total_variation


@pytest.fixture(scope="module")
def painting():
    return images.read_image(STARRY_NIGHT)


def test_a_default_run_has_no_more_colour_grain_than_the_painting_and_keeps_its_brushwork(painting):
    clean = impasto.transfer(TUBINGEN, STARRY_NIGHT, size=128, seed=0)
    assert quality.grain(clean, painting) <= 1.5
    assert quality.detail(clean, painting) >= 0.9
    # The same run with the paper's white-noise start and no colour smoothing: rainbow grain.
    grainy = impasto.transfer(TUBINGEN, STARRY_NIGHT, size=128, seed=0, noise="white", color_tv_weight=0)
    assert quality.grain(grainy, painting) > 3


def test_grain_sees_colour_noise_and_detail_sees_light_and_dark(painting):
    image = images.resize_long_side(painting, 128)
    assert quality.grain(image, painting) == pytest.approx(1.0)
    assert quality.detail(image, painting) == pytest.approx(1.0)
    pixels = np.asarray(image, dtype=float)
    noise = np.random.default_rng(0).normal(0, 12, pixels.shape[:2])
    colour_noise = pixels + np.stack([noise, -noise, noise / 2], axis=-1)  # opposite in R and G
    speckled = Image.fromarray(np.clip(colour_noise, 0, 255).astype(np.uint8))
    assert quality.grain(speckled, painting) > 1.5
    blurred = image.filter(ImageFilter.GaussianBlur(1.5))
    assert quality.detail(blurred, painting) < 0.6


def test_luminance_noise_changes_light_and_dark_only_and_is_as_rough_as_asked():
    generator = torch.Generator().manual_seed(0)
    noise = start.luminance_noise((3, 96, 128), 0.1, generator)
    assert color.chrominance(noise).abs().max() < 1e-6
    grey = images.to_pil((0.5 + noise).clamp(0, 1))
    assert quality.Roughness.of(grey).luminance / 255 == pytest.approx(0.1, rel=0.05)


def test_the_luminance_start_has_no_fine_colour_noise():
    white = start.white_noise((3, 96, 128), torch.Generator().manual_seed(0))
    seeded = start.luminance_start((3, 96, 128), 0.1, torch.Generator().manual_seed(0))
    assert total_variation(color.chrominance(seeded)) < 0.01 * total_variation(color.chrominance(white))
    assert quality.Roughness.of(images.to_pil(seeded)).luminance / 255 == pytest.approx(0.1, rel=0.1)


def test_the_colour_smoothness_term_ignores_luminance_and_penalises_colour():
    loss = PerceptualLoss({}, {}, 1.0, 1.0, {}, color_tv_weight=1.0)
    zero = torch.zeros(())
    flat = torch.full((1, 3, 32, 32), 0.5)
    stripes = torch.zeros(1, 1, 32, 32)
    stripes[..., ::2] = 0.2
    light_and_dark = flat + stripes.expand(1, 3, 32, 32)
    coloured = flat + torch.cat([stripes, -stripes, stripes], dim=1)
    assert loss.combine(zero, zero, light_and_dark).total.item() == pytest.approx(0.0, abs=1e-9)
    assert loss.combine(zero, zero, coloured).total.item() > 0.01


def test_the_paper_recipe_keeps_the_papers_white_noise():
    first = []
    impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=1, recipe="paper", seed=3,
                     callback=first.append)  # fmt: skip
    expected = start.white_noise((3, 48, 64), torch.Generator().manual_seed(3))
    assert torch.equal(first[0].tensor, expected)
