"""The loop counts evaluations exactly, reports every iterate and keeps the best image."""

import pytest
import torch
from conftest import TUBINGEN, photo

from impasto.losses import LossTerms, PerceptualLoss
from impasto.optimize import Interrupted, optimize


@pytest.fixture(scope="module")
def objective(network):
    """Content reconstruction of a small photograph from conv2_2 (fast, and easy to lower)."""
    with torch.no_grad():
        target = network(photo(TUBINGEN, 48), ["conv2_2"])
    loss = PerceptualLoss(target, {}, 1.0, 0.0, {})
    return lambda image: loss(network(image, ["conv2_2"]))


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_iterations_are_evaluations_and_the_loss_falls(objective, optimizer):
    start = torch.rand(1, 3, 36, 48, generator=torch.Generator().manual_seed(0))
    calls = []
    counting = lambda image: calls.append(1) or objective(image)  # noqa: E731
    seen = []
    result = optimize(start, counting, 12, optimizer, callback=seen.append)
    assert len(calls) == 12 and result.iterations == 12
    assert [iterate.iteration for iterate in seen] == list(range(1, 13))
    assert all(iterate.iterations == 12 for iterate in seen)
    assert seen[-1].loss < 0.5 * seen[0].loss
    assert result.loss == min(loss for loss, _, _ in result.history)
    assert seen[-1].image.size == (48, 36)


def test_ctrl_c_returns_the_best_image_so_far(objective):
    start = torch.rand(1, 3, 36, 48, generator=torch.Generator().manual_seed(0))

    def interrupt(iterate):
        if iterate.iteration == 5:
            raise KeyboardInterrupt

    with pytest.raises(Interrupted) as raised:
        optimize(start, objective, 50, "lbfgs", callback=interrupt)
    result = raised.value.result
    assert result.interrupted and result.iterations == 5
    best = objective(result.image).total.item()
    assert best == pytest.approx(result.loss, rel=1e-4)
    assert best < objective(start).total.item()


def test_unknown_optimizer_is_refused():
    with pytest.raises(ValueError, match="lbfgs"):
        optimize(
            torch.zeros(1, 3, 4, 4), lambda image: LossTerms(image.sum(), image.sum(), image.sum()), 1, "sgd"
        )
