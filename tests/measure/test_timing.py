"""Timing statistics: the median and the inclusive interquartile range of the repeats."""

from __future__ import annotations

import pytest

from bench.measure.timing import timing_stats


@pytest.mark.parametrize(
    "samples, median, iqr",
    [
        ([1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 2.0),  # inclusive quartiles: q1 = 2, q3 = 4
        ([5.0, 1.0, 4.0, 2.0, 3.0], 3.0, 2.0),  # order does not matter
        ([1.0, 2.0, 3.0, 4.0], 2.5, 1.5),  # q1 = 1.75, q3 = 3.25, as numpy.percentile
        ([5.0], 5.0, 0.0),
    ],
)
def test_timing_stats(samples, median, iqr):
    stats = timing_stats(samples)
    assert stats.median == pytest.approx(median)
    assert stats.iqr == pytest.approx(iqr)
    assert stats.n == len(samples)


def test_timing_stats_needs_a_sample():
    with pytest.raises(ValueError):
        timing_stats([])
