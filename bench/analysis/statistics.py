"""Statistics of outcomes over seeds, pure and tested on exact numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci95(values: pd.Series) -> tuple[float, float]:
    """Mean and the half-width of its two-sided 95% t interval; the half-width is NaN for one value."""
    values = values.dropna().astype(float)
    if values.empty:
        return float("nan"), float("nan")
    if len(values) < 2:
        return float(values.mean()), float("nan")
    sem = values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(stats.t.ppf(0.975, len(values) - 1) * sem)


def median_of(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].median()) if column in frame and frame[column].notna().any() else float("nan")


def max_of(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].max()) if column in frame and frame[column].notna().any() else float("nan")
