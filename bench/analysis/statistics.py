"""Statistics of outcomes over seeds, pure and tested on exact numbers.

Outcomes here are often solve-or-fail across seeds (a Transformer at 0.88, 0.13, 0.89 recall), so
each kind gets the interval that fits it: an exact Clopper-Pearson interval for a solved fraction,
a Student-t interval for a metric's mean only where there are enough seeds to estimate a spread
(``MIN_SEEDS``; below that the seeds' values are shown as they are), and a censored median for the
steps to solve, where a seed that never solved counts as "more than the budget".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

MIN_SEEDS = 3  # fewer seeds give no interval, and no verdict
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    def separated_from(self, other: Interval) -> bool:
        """Whether the two intervals share no point."""
        return self.high < other.low or other.high < self.low


def mean_interval(
    values: pd.Series | list[float], within: tuple[float, float] = (-math.inf, math.inf)
) -> Interval | None:
    """Mean and two-sided 95% Student-t interval of the values, cut to ``within``, the range the metric can take
    (a loss is never negative, an accuracy never above 1: the mean lies inside, so cutting the interval there
    loses no coverage); None with fewer than MIN_SEEDS finite values."""
    values = pd.Series(values, dtype=float).dropna()
    values = values[np.isfinite(values)]
    if len(values) < MIN_SEEDS:
        return None
    mean = float(values.mean())
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values)))
    return Interval(mean, max(mean - half, within[0]), min(mean + half, within[1]))


def solved_interval(solved: int, seeds: int) -> Interval:
    """The solved fraction and its exact Clopper-Pearson 95% interval (3 of 3 solved: 29% to 100%)."""
    if seeds == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    ci = stats.binomtest(solved, seeds).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    return Interval(solved / seeds, float(ci.low), float(ci.high))


def censored_median(steps: list[float | None], budget: float) -> tuple[float, bool]:
    """The median steps to solve over every seed, a seed that never solved counting as past the budget.

    Returns (median, censored): ``censored`` when the median falls among the unsolved seeds, so all one
    can say is "more than ``budget``" (the median is then ``budget``)."""
    if not steps:
        return float("nan"), False
    times = sorted(math.inf if s is None or (isinstance(s, float) and math.isnan(s)) else float(s) for s in steps)
    n = len(times)
    median = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
    return (float(budget), True) if math.isinf(median) else (median, False)


def median_of(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].median()) if column in frame and frame[column].notna().any() else float("nan")


def max_of(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].max()) if column in frame and frame[column].notna().any() else float("nan")
