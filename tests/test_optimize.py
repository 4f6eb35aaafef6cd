"""The optimisers: iterations are evaluations, the loss falls, and L-BFGS takes torch's steps."""

import pytest
import torch
from conftest import TUBINGEN, photo

from impasto.losses import Evaluation, LossTerms, PerceptualLoss
from impasto.objective import WholeImage
from impasto.optimize import descend, lbfgs


@pytest.fixture(scope="module")
def objective(network):
    """Content reconstruction of a small photograph from conv2_2 (fast, and easy to lower)."""
    with torch.no_grad():
        target = network(photo(TUBINGEN, 48), ["conv2_2"])
    return WholeImage(network, PerceptualLoss(target, {}, 1.0, 0.0, {}), lambda image: image)


def start():
    return torch.rand(1, 3, 36, 48, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_iterations_are_evaluations_and_the_loss_falls(objective, optimizer):
    calls = []
    counting = lambda image: calls.append(1) or objective(image)  # noqa: E731
    steps = descend(start(), counting, 12, optimizer, 20)
    losses = [evaluation.terms.total.item() for _, evaluation in steps]
    assert len(calls) == 12 and len(losses) == 12
    assert losses[-1] < 0.5 * losses[0]


def test_each_iterate_is_the_image_that_was_evaluated(objective):
    for pixels, evaluation in descend(start(), objective, 4, "lbfgs", 20):
        assert evaluation.terms.total.item() == pytest.approx(objective(pixels).terms.total.item(), rel=1e-6)


def test_lbfgs_takes_the_steps_of_torchs_lbfgs_without_a_line_search(objective):
    """The same iterates as torch.optim.LBFGS with one evaluation per step, whose loop cannot
    hand each evaluation back (optimize.py): the memory rolls over (3 pairs in 10 steps)."""
    ours = [pixels for pixels, _ in lbfgs(start(), objective, 10, pairs=3)]
    pixels = start().requires_grad_(True)
    theirs = []
    optimizer = torch.optim.LBFGS([pixels], lr=1, max_iter=10, max_eval=10, tolerance_grad=-1,
                                  tolerance_change=-1, history_size=3)  # fmt: skip

    def closure():
        optimizer.zero_grad()
        theirs.append(pixels.detach().clone())
        evaluation = objective(pixels.detach())
        pixels.grad = evaluation.gradient
        return evaluation.terms.total

    optimizer.step(closure)
    assert len(ours) == len(theirs) == 10
    for mine, torchs in zip(ours, theirs, strict=True):
        torch.testing.assert_close(mine, torchs, rtol=1e-5, atol=1e-6)


def test_unknown_optimizer_is_refused():
    def flat(image):
        return Evaluation(LossTerms(image.sum(), image.sum(), image.sum()), torch.ones_like(image))

    with pytest.raises(ValueError, match="lbfgs"):
        descend(torch.zeros(1, 3, 4, 4), flat, 1, "sgd", 20)
