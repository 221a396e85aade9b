"""Statistics over seeds, on exact numbers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bench.analysis.statistics import mean_ci95


def test_mean_ci95_is_the_student_t_interval():
    mean, half = mean_ci95(pd.Series([1.0, 3.0]))
    assert mean == 2.0
    assert half == pytest.approx(12.7062, rel=1e-4)  # t(0.975, 1) * sd / sqrt(2) = 12.706 * 1.414 / 1.414
    assert math.isnan(mean_ci95(pd.Series([1.0]))[1])
