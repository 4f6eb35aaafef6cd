"""The paper's loss formulas against hand computation, and its gradients against autograd.

The closed-form gradients (equations 2 and 6) are used by no run: these tests show that the
gradient autograd gives a run is the paper's.
"""

import torch
from conftest import ASTRONAUT, STARRY_NIGHT, TUBINGEN, photo

from impasto.images import read_image, to_tensor
from impasto.losses import (
    PerceptualLoss,
    content_gradient,
    content_loss,
    gram_matrix,
    style_layer_gradient,
    style_layer_loss,
)


def small_features():
    # N = 2 filters, a 1 x 3 map: F = [[1, 2, 0], [3, 0, 1]]
    return torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0]]).reshape(1, 2, 1, 3)


def test_gram_matrix_by_hand():
    gram = gram_matrix(small_features())
    # [1,2,0]·[1,2,0] = 5, [1,2,0]·[3,0,1] = 3, [3,0,1]·[3,0,1] = 10
    assert torch.equal(gram, torch.tensor([[5.0, 3.0], [3.0, 10.0]]))


def test_content_loss_by_hand():
    target = torch.tensor([[0.0, 2.0, 1.0], [1.0, 0.0, 1.0]]).reshape(1, 2, 1, 3)
    # differences 1, 0, -1, 2, 0, 0: squares sum to 6, half of it is 3
    assert content_loss(small_features(), target).item() == 3.0


def test_style_layer_loss_by_hand():
    target = torch.tensor([[4.0, 3.0], [1.0, 10.0]])
    # G - A = [[1, 0], [2, 0]]: squares sum to 5; 4 N² M² = 4 * 4 * 9 = 144
    assert abs(style_layer_loss(small_features(), target).item() - 5 / 144) < 1e-7


def test_perceptual_loss_weights_terms_and_layers():
    features = {"a": small_features(), "b": small_features() * 2}
    content_target = {"a": torch.zeros(1, 2, 1, 3)}
    style_features = {"a": small_features() * 0.5, "b": small_features()}
    targets = PerceptualLoss.gram_targets(style_features)
    loss = PerceptualLoss(content_target, targets, 0.1, 3.0, {"a": 0.25, "b": 0.75})
    terms = loss(features)
    expected_content = 7.5 / 3  # ½ Σ F² = ½ (1 + 4 + 9 + 1), taken per position (M = 3)
    expected_style = 0.25 * style_layer_loss(features["a"], gram_matrix(style_features["a"])) + 0.75 * (
        style_layer_loss(features["b"], gram_matrix(style_features["b"]))
    )
    assert abs(terms.content.item() - expected_content) < 1e-6
    assert abs(terms.style.item() - expected_style.item()) < 1e-6
    assert abs(terms.total.item() - (0.1 * expected_content + 3.0 * expected_style.item())) < 1e-5
    assert loss.layers == {"a", "b"}


def test_style_target_of_equal_size_is_the_papers_gram():
    features = {"a": torch.rand(1, 4, 5, 6)}
    target = PerceptualLoss.gram_targets(features)["a"] * 30
    assert torch.allclose(target, gram_matrix(features["a"]), rtol=1e-6)


def pre_activations(seed: int, shape=(1, 8, 5, 7)) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def test_content_gradient_formula_matches_autograd():
    x = pre_activations(0).requires_grad_(True)
    target = torch.relu(pre_activations(1))
    features = torch.relu(x)
    content_loss(features, target).backward()
    formula = content_gradient(features.detach(), target)
    assert (x.grad == 0).any() and (x.grad != 0).any()  # the ReLU mask matters here
    assert torch.allclose(x.grad, formula, rtol=1e-10, atol=1e-12)


def test_style_gradient_formula_matches_autograd():
    x = pre_activations(2).requires_grad_(True)
    target = gram_matrix(torch.relu(pre_activations(3)))
    features = torch.relu(x)
    style_layer_loss(features, target).backward()
    formula = style_layer_gradient(features.detach(), target)
    assert (x.grad == 0).any() and (x.grad != 0).any()
    assert torch.allclose(x.grad, formula, rtol=1e-10, atol=1e-14)


def test_gradient_formulas_match_autograd_on_real_features(network):
    """On real VGG19 responses: backpropagating the formulas gives autograd's image gradient."""
    image = photo(TUBINGEN, 64).requires_grad_(True)
    with torch.no_grad():
        painting = gram_matrix(network(photo(STARRY_NIGHT, 64), ["conv2_1"])["conv2_1"])
        other = to_tensor(read_image(ASTRONAUT).resize((image.shape[-1], image.shape[-2])))
        target = network(other, ["conv2_1"])["conv2_1"]
    features = network(image, ["conv2_1"])["conv2_1"]
    (content_loss(features, target) + style_layer_loss(features, painting)).backward()
    formula = content_gradient(features.detach(), target) + style_layer_gradient(features.detach(), painting)
    (through_network,) = torch.autograd.grad(network(image, ["conv2_1"])["conv2_1"], image, formula)
    assert torch.allclose(image.grad, through_network, rtol=1e-4, atol=1e-4 * image.grad.abs().max().item())
