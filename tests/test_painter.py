"""The engine: one painter for many runs, its target cache, iterates, cancelling and estimates."""

import threading

import numpy as np
import pytest
from conftest import ASTRONAUT, STARRY_NIGHT, TUBINGEN

import impasto
from impasto import painter as painter_module
from impasto.settings import Settings

SMALL = Settings(size=64, iterations=10, seed=0)


@pytest.fixture(scope="module")
def painter():
    return impasto.Painter().load()


def test_a_second_photograph_in_the_same_style_reuses_the_paintings_targets(painter):
    painter.cache.clear()
    first = painter.paint(TUBINGEN, STARRY_NIGHT, SMALL)
    computed = painter.cache.misses
    assert computed == 1 and painter.cache.hits == 0
    second = painter.paint(ASTRONAUT, STARRY_NIGHT, SMALL)
    assert painter.cache.misses == computed and painter.cache.hits == 1
    # and reusing them changes nothing: a fresh painter paints the same pixels
    fresh = impasto.Painter().paint(ASTRONAUT, STARRY_NIGHT, SMALL)
    assert np.array_equal(np.asarray(second.image), np.asarray(fresh.image))
    assert first.seed == second.seed == 0 and first.iterations == 10


def test_another_size_or_painting_computes_new_targets(painter):
    painter.cache.clear()
    painter.paint(TUBINGEN, STARRY_NIGHT, SMALL)
    painter.paint(TUBINGEN, STARRY_NIGHT, SMALL.replace(size=96))
    painter.paint(TUBINGEN, TUBINGEN.parent / "the_scream.jpg", SMALL)
    assert painter.cache.misses == 3 and painter.cache.hits == 0


def test_iterating_a_run_yields_every_iterate_and_keeps_the_best(painter):
    run = painter.iterate(TUBINGEN, STARRY_NIGHT, Settings(scales=(32, 64), iterations=4, seed=1))
    seen = list(run)
    assert [(i.scale, i.iteration, i.done, i.planned) for i in seen] == [
        (scale, iteration, 4 * (scale - 1) + iteration, 8) for scale in (1, 2) for iteration in range(1, 5)
    ]
    result = run.result
    assert not result.stopped and result.iterations == 8 and result.image.size == (64, 48)
    assert result.loss == min(i.loss for i in seen if i.scale == 2)


def test_a_cancelled_run_stops_within_an_iteration_and_returns_the_best_so_far(painter):
    cancel = threading.Event()
    seen = []

    def watch(iterate):
        seen.append(iterate)
        if iterate.done == 5:
            cancel.set()

    result = painter.paint(TUBINGEN, STARRY_NIGHT, Settings(size=64, iterations=50, seed=0), callback=watch,
                           cancel=cancel)  # fmt: skip
    assert len(seen) == 5 and result.stopped and result.iterations == 5
    assert result.loss == min(i.loss for i in seen) and result.image.size == (64, 48)


def test_ctrl_c_raises_interrupted_with_the_best_image_so_far_at_the_output_size(painter):
    def interrupt(iterate):
        if iterate.scale == 2 and iterate.iteration == 1:
            raise KeyboardInterrupt

    with pytest.raises(impasto.Interrupted) as raised:
        painter.paint(TUBINGEN, STARRY_NIGHT, Settings(scales=(32, 64), iterations=5), callback=interrupt)
    result = raised.value.result
    assert result.stopped and result.iterations == 6 and result.image.size == (64, 48)


def test_an_estimate_plans_without_running(painter, monkeypatch):
    monkeypatch.setattr(painter_module.Run, "__iter__", lambda self: pytest.fail("the run started"))
    estimate = painter.estimate(TUBINGEN, STARRY_NIGHT, Settings(size=1024))
    assert [scale.width for scale in estimate.plan.scales] == [128, 256, 512, 1024]
    assert estimate.seconds > 0 and estimate.peak_bytes > 0
    assert "1024x768 output: 4 scales, 550 iterations" in str(estimate)


def test_a_bad_setting_names_its_parameter():
    with pytest.raises(impasto.SettingError) as raised:
        Settings(ratio=-1)
    assert raised.value.parameter == "ratio"
    assert str(raised.value) == "ratio must be a positive number, not -1"
