"""Statistics over seeds, on exact numbers: the t interval, Clopper-Pearson, the censored median."""

from __future__ import annotations

import math

import pytest

from bench.analysis.statistics import censored_median, mean_interval, solved_interval


def test_the_mean_interval_is_student_t_and_needs_three_seeds():
    interval = mean_interval([1.0, 2.0, 3.0])
    assert interval.estimate == 2.0
    assert interval.high - 2.0 == pytest.approx(2.48414, rel=1e-4)  # t(0.975, 2) * 1 / sqrt(3) = 4.3027 / 1.732
    assert interval.low == pytest.approx(2.0 - 2.48414, rel=1e-4)
    assert mean_interval([1.0, 2.0]) is None and mean_interval([1.0, 2.0, float("nan")]) is None


def test_the_mean_interval_is_cut_to_the_range_the_metric_can_take():
    wide = mean_interval([0.0, 0.5, 1.0], within=(0.0, 1.0))  # t(0.975, 2) * 0.5 / sqrt(3) = 1.24
    assert (wide.estimate, wide.low, wide.high) == (0.5, 0.0, 1.0)
    loss = mean_interval([0.001, 0.002, 0.1], within=(0.0, math.inf))
    assert loss.low == 0.0 and loss.high == pytest.approx(mean_interval([0.001, 0.002, 0.1]).high)


@pytest.mark.parametrize(("solved", "seeds", "low", "high"), [
    (3, 3, 0.2924, 1.0), (5, 5, 0.4782, 1.0), (10, 10, 0.6915, 1.0), (0, 3, 0.0, 0.7076), (1, 2, 0.0126, 0.9874),
])  # fmt: skip
def test_a_solved_fraction_has_the_exact_clopper_pearson_interval(solved, seeds, low, high):
    interval = solved_interval(solved, seeds)
    assert interval.estimate == solved / seeds
    assert (interval.low, interval.high) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_steps_to_solve_count_unsolved_seeds_as_past_the_budget():
    assert censored_median([100, 200, 300], 500) == (200, False)
    assert censored_median([100, None, None], 500) == (500, True)  # the median seed never solved: "> 500"
    assert censored_median([100, 150, None], 500) == (150, False)  # not the median of the solved ones alone
    assert censored_median([100, None], 500) == (500, True)  # the mean of 100 and "past 500" is past 500 too
    steps, censored = censored_median([], 500)
    assert math.isnan(steps) and not censored
