"""Perceptual control (Gatys et al. 2017): each option changes the result the way it should."""

import numpy as np
import pytest
import torch
from conftest import STARRY_NIGHT, TUBINGEN, run_cli
from PIL import Image

import impasto
from impasto import color, images
from impasto.losses import PerceptualLoss, guided_gram
from impasto.settings import DEFAULT_STYLE_LAYERS

KANDINSKY = TUBINGEN.parent / "composition_vii.jpg"
SMALL = dict(size=64, iterations=25, seed=0)


def chroma(image) -> np.ndarray:
    """Mean and spread of the I and Q (colour) channels of YIQ."""
    yiq = color.rgb_to_yiq(images.to_tensor(images.read_image(image)))[0, 1:]
    return np.array([yiq[0].mean(), yiq[1].mean(), yiq[0].std(), yiq[1].std()])


def photograph(size=64):
    return images.resize_long_side(images.read_image(TUBINGEN), size)


def style_distance(network, image, painting, layers=DEFAULT_STYLE_LAYERS) -> float:
    """The style loss of `image` against `painting` (both at 64 px), as the tests' yardstick."""
    with torch.no_grad():
        painting = images.resize_long_side(images.read_image(painting), 64)
        targets = PerceptualLoss.gram_targets(network(images.to_tensor(painting), layers))
        loss = PerceptualLoss({}, targets, 0.0, 1.0, {name: 1 / len(layers) for name in layers})
        return loss(network(images.to_tensor(image), layers)).style.item()


@pytest.fixture(scope="module")
def plain():
    return impasto.transfer(TUBINGEN, STARRY_NIGHT, **SMALL)


@pytest.fixture(scope="module")
def plain_from_content():
    return impasto.transfer(TUBINGEN, STARRY_NIGHT, init="content", **SMALL)


@pytest.mark.parametrize("options", [dict(preserve_color="luminance"),
                                     dict(preserve_color="histogram", color_match="cholesky"),
                                     dict(preserve_color="histogram", color_match="pca"),
                                     dict(preserve_color="histogram", color_match="symmetric")])  # fmt: skip
def test_preserving_colour_keeps_the_photographs_chroma(plain_from_content, options):
    # Started from the photograph, so that no coloured noise of a white-noise start is left to
    # blur the comparison: without the option the painting's blues and yellows take over.
    kept = impasto.transfer(TUBINGEN, STARRY_NIGHT, init="content", **SMALL, **options)
    target = chroma(photograph())
    assert np.abs(chroma(kept) - target).sum() < 0.5 * np.abs(chroma(plain_from_content) - target).sum()


def test_luminance_transfer_takes_its_colour_channels_from_the_photograph():
    result = images.to_tensor(impasto.transfer(TUBINGEN, STARRY_NIGHT, preserve_color="luminance", **SMALL))
    photo = images.to_tensor(photograph())
    inside = (result > 0.02).all(1) & (result < 0.98).all(1)  # pixels that no clamping touched
    difference = (color.rgb_to_yiq(result) - color.rgb_to_yiq(photo))[0, 1:, inside[0]]
    assert difference.abs().max() < 0.01  # 8-bit rounding only


@pytest.mark.parametrize("method", ["cholesky", "pca", "symmetric"])
def test_colour_matching_gives_the_style_the_contents_mean_and_covariance(method):
    generator = torch.Generator().manual_seed(0)
    style = torch.rand(1, 3, 20, 30, generator=generator) * torch.tensor([0.3, 0.6, 0.4]).view(1, 3, 1, 1)
    content = 0.2 + 0.5 * torch.rand(1, 3, 20, 30, generator=generator) ** 2
    matched = color.match_colors(style, content, method)
    pixels, reference = matched.reshape(3, -1).double(), content.reshape(3, -1).double()
    assert torch.allclose(pixels.mean(1), reference.mean(1), atol=1e-4)
    assert torch.allclose(torch.cov(pixels), torch.cov(reference), atol=1e-4)


def test_blend_weights_move_the_result_from_one_style_to_the_other(network):
    distances = []
    for weights in ([1, 0], [0.5, 0.5], [0, 1]):
        result = impasto.transfer(TUBINGEN, [STARRY_NIGHT, KANDINSKY], style_blend=weights, **SMALL)
        distances.append(
            style_distance(network, result, STARRY_NIGHT) / style_distance(network, result, KANDINSKY)
        )
    assert distances[0] < distances[1] < distances[2]


def halves_mask(path, size=(40, 30)):
    mask = Image.new("RGB", size, (255, 0, 0))
    mask.paste((0, 0, 255), (size[0] // 2, 0, size[0], size[1]))
    mask.save(path)
    return path


def test_each_region_takes_its_style_from_its_own_painting(tmp_path, network):
    mask = halves_mask(tmp_path / "halves.png")  # smaller than the output: it is resized
    result = impasto.transfer(TUBINGEN, [STARRY_NIGHT, KANDINSKY], content_mask=mask,
                              style_mask=["red", "#0000ff"], **{**SMALL, "iterations": 40})  # fmt: skip
    left, right = result.crop((0, 0, 32, 48)), result.crop((32, 0, 64, 48))
    layers = ("conv1_1", "conv2_1")  # fine enough to judge half an image of 64 px
    assert style_distance(network, left, STARRY_NIGHT, layers) < style_distance(
        network, left, KANDINSKY, layers
    )
    assert style_distance(network, right, KANDINSKY, layers) < style_distance(
        network, right, STARRY_NIGHT, layers
    )


def test_guided_gram_of_one_full_region_is_the_plain_gram_per_position():
    features = torch.rand(1, 4, 5, 6)
    plain = guided_gram(features, torch.ones(1, 5, 6))
    assert torch.allclose(plain[0], features.reshape(4, -1) @ features.reshape(4, -1).T / 30, rtol=1e-5)
    halves = torch.zeros(2, 5, 6)
    halves[0, :, :3], halves[1, :, 3:] = 1, 1
    left = features[..., :3].reshape(4, -1)
    assert torch.allclose(guided_gram(features, halves)[0], left @ left.T / 15, rtol=1e-5)


def test_a_mask_colour_without_a_painting_is_refused(tmp_path):
    mask = halves_mask(tmp_path / "halves.png")
    with pytest.raises(impasto.ImpastoError, match="colour #0000ff is in no style mask"):
        impasto.transfer(TUBINGEN, STARRY_NIGHT, content_mask=mask, style_mask=["red"], **SMALL)


def test_a_mask_of_many_colours_is_refused(tmp_path):
    noise = np.random.default_rng(0).integers(0, 255, (30, 40, 3), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    with pytest.raises(impasto.ImpastoError, match="a mask needs a few flat colours"):
        impasto.transfer(TUBINGEN, STARRY_NIGHT, content_mask=tmp_path / "noise.png", **SMALL)


def test_coarse_to_fine_runs_each_scale_from_the_previous(network):
    iterates = []
    result = impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, scales=[32, 64], iterations=10, seed=0,
                              noise="white", callback=iterates.append)  # fmt: skip
    assert result.size == (64, 48)
    assert [(i.scale, i.scales) for i in iterates] == [(1, 2)] * 10 + [(2, 2)] * 10
    assert iterates[10].tensor.shape[-2:] == (48, 64)
    # the second scale starts from the first's result: its 10 iterations at 64 px get further
    # than 10 from white noise
    from_noise = []
    impasto.transfer(TUBINGEN, STARRY_NIGHT, size=64, iterations=10, seed=0, noise="white",
                     callback=from_noise.append)  # fmt: skip
    assert iterates[-1].loss < from_noise[-1].loss


def test_fine_style_replaces_the_fine_texture_and_keeps_the_coarse(network, plain):
    mixed = impasto.transfer(TUBINGEN, STARRY_NIGHT, fine_style=KANDINSKY, **SMALL)
    fine, coarse = ("conv1_1", "conv2_1"), ("conv4_1", "conv5_1")
    assert style_distance(network, mixed, KANDINSKY, fine) < style_distance(network, plain, KANDINSKY, fine)
    assert style_distance(network, mixed, STARRY_NIGHT, coarse) < 2 * style_distance(
        network, plain, STARRY_NIGHT, coarse
    )


def test_total_variation_smooths_the_result(plain):
    smooth = impasto.transfer(TUBINGEN, STARRY_NIGHT, tv_weight=50.0, **SMALL)

    def roughness(image):
        array = np.asarray(image, float)
        return np.abs(np.diff(array, axis=0)).mean() + np.abs(np.diff(array, axis=1)).mean()

    assert roughness(smooth) < 0.8 * roughness(plain)


def test_command_line_takes_several_styles_masks_and_scales(tmp_path, capsys):
    """The command's picture is the API's with the same options, which differs from the
    picture without them: none of the options was dropped on the way."""
    mask = halves_mask(tmp_path / "m.png")
    output = tmp_path / "out.png"
    status, _, err = run_cli("transfer", TUBINGEN, "--style", STARRY_NIGHT, KANDINSKY, "--style-blend",
                             "0.7,0.3", "--content-mask", mask, "--style-mask", "red", "blue", "--scales",
                             "32,64", "--preserve-color", "luminance", "--tv-weight", "1", "--iterations", 3,
                             "--seed", 5, "-o", output, "--quiet", capsys=capsys)  # fmt: skip
    assert status == 0, err
    options = dict(style_blend=(0.7, 0.3), content_mask=mask, style_mask=("red", "blue"), scales=(32, 64),
                   preserve_color="luminance", tv_weight=1.0, iterations=3, seed=5)  # fmt: skip
    same = impasto.transfer(TUBINGEN, [STARRY_NIGHT, KANDINSKY], **options)
    saved = np.asarray(Image.open(output))
    assert saved.shape == (48, 64, 3) and np.array_equal(saved, np.asarray(same))
    for left_out in options:
        if left_out in ("iterations", "seed", "style_mask"):
            continue
        fewer = {name: value for name, value in options.items() if name != left_out}
        if left_out == "content_mask":
            fewer.pop("style_mask")
        other = impasto.transfer(TUBINGEN, [STARRY_NIGHT, KANDINSKY], **fewer)
        assert not np.array_equal(saved, np.asarray(other)), left_out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--content-mask", __file__], "not an image"),
        (["--style-blend", "1,2"], "--style-blend has 2 weights for 1 paintings"),
        (["--style-blend", "-1"], "--style-blend must be a number of 0 or more, not -1.0"),
        (["--tv-weight", "-0.5"], "--tv-weight must be a number of 0 or more, not -0.5"),
        (["--style-mask", "red"], "--style-mask needs a content mask"),
        (["--scales", "64,32"], "--scales must be increasing sizes"),
        (["--preserve-color", "sepia"], "invalid choice: 'sepia'"),
        (["--size", "8"], "--size is too small: the output would be 8x6 px"),
    ],
)
def test_bad_control_input_gets_one_line_and_status_2(tmp_path, capsys, arguments, message):
    output = tmp_path / "out.png"
    status, _, err = run_cli("transfer", TUBINGEN, STARRY_NIGHT, "-o", output, "--iterations", 2,
                             "--size", 32, *arguments, capsys=capsys)  # fmt: skip
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not output.exists()
