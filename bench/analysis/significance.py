"""The statistical tests behind every verdict: one-sided, exact where the data are counts, and pure.

Outcomes over seeds are often solve-or-fail, so no test here assumes normal data where seeds are bimodal:

- solved counts of two cells: Boschloo's exact unconditional test (``scipy.stats.boschloo_exact``), more
  powerful than Fisher's at a handful of seeds (3 of 3 against 0 of 3: p = 1/64 against Fisher's 1/20);
- a solved count against a share: the exact binomial test;
- a metric of two cells: a permutation test of the difference of means over seeds, exact where the
  relabellings are few enough to list, else a fixed-seed Monte Carlo estimate ``(b + 1) / (R + 1)``; a
  required gap is tested by shifting one side by it first;
- a metric against a fixed value (the analytic baseline, a band around it): a one-sample Student t test.
  It is used only where the seeds of the null hypothesis are alike (all near the baseline), which is where
  its level holds; ``tests/analysis/test_calibration.py`` measures it;
- one model at two lengths: a paired sign-flip permutation test over seeds.

Lengths combine symmetrically with Fisher's method (each length's one-sided p, the same rule for a claim
and for its opposite, so neither wins by being read at more lengths). Exact discrete p-values are at least
uniform under their null, so the combination keeps its level. Several rivals or controls are corrected by
Holm's step-down method. ``seeds_to_decide`` gives the seeds per cell at which a test would reach 80% power
at the observed effect, by the usual normal approximations: a rough guide, said as "about".
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05  # every verdict's level, after correction
POWER = 0.8  # the power at which seeds_to_decide counts seeds
EXACT_LIMIT = 5000  # relabellings listed in full up to this count; a Monte Carlo estimate beyond
MONTE_CARLO = 4000
MAX_SEEDS = 100  # seeds_to_decide answers None above this: no practical number of seeds decides


@functools.cache
def count_test(solved_a: int, n_a: int, solved_b: int, n_b: int) -> float:
    """One-sided p that cell a solves more often than cell b (Boschloo's exact test); 1 when either is empty."""
    if n_a == 0 or n_b == 0:
        return 1.0
    if solved_a / n_a <= solved_b / n_b:
        return 1.0  # the statistic points the other way: no evidence, and no optimiser call
    table = [[solved_a, solved_b], [n_a - solved_a, n_b - solved_b]]
    return float(min(1.0, stats.boschloo_exact(table, alternative="greater").pvalue))


@functools.cache
def share_test(solved: int, n: int, share: float, greater: bool) -> float:
    """One-sided exact binomial p that the solve probability is above (``greater``) or below ``share``."""
    if n == 0:
        return 1.0
    return float(stats.binomtest(solved, n, share, alternative="greater" if greater else "less").pvalue)


def permutation_test(a: Sequence[float], b: Sequence[float], shift: float = 0.0) -> float:
    """One-sided p that mean(a) - mean(b) > shift, by relabelling seeds (a shifted by ``shift`` first)."""
    x, y = np.asarray(a, dtype=float) - shift, np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return 1.0
    pooled, n = np.concatenate([x, y]), len(x)
    observed = x.mean() - y.mean()
    total = pooled.sum()
    if math.comb(len(pooled), n) <= EXACT_LIMIT:
        sums = np.array([pooled[list(idx)].sum() for idx in itertools.combinations(range(len(pooled)), n)])
        diffs = sums / n - (total - sums) / len(y)
        return float(np.mean(diffs >= observed - 1e-12))
    rng = np.random.default_rng(0)  # fixed: a report is the same every time it is rebuilt
    picks = np.argsort(rng.random((MONTE_CARLO, len(pooled))), axis=1)[:, :n]
    sums = pooled[picks].sum(axis=1)
    diffs = sums / n - (total - sums) / len(y)
    return float((np.sum(diffs >= observed - 1e-12) + 1) / (MONTE_CARLO + 1))


def paired_test(differences: Sequence[float], shift: float = 0.0) -> float:
    """One-sided p that the mean paired difference exceeds ``shift`` (sign flips of each seed's difference)."""
    d = np.asarray(differences, dtype=float) - shift
    if len(d) == 0:
        return 1.0
    observed = d.mean()
    if 2 ** len(d) <= EXACT_LIMIT:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=len(d))))
    else:
        signs = np.where(np.random.default_rng(0).random((MONTE_CARLO, len(d))) < 0.5, -1.0, 1.0)
    means = (signs * np.abs(d)).mean(axis=1)
    return float(np.mean(means >= observed - 1e-12))


def mean_test(values: Sequence[float], bound: float, greater: bool) -> float:
    """One-sided one-sample t test p that the mean is above (``greater``) or below ``bound``. With no spread
    (identical values) the answer is 0 or 1 by which side of the bound they lie."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) < 2:
        return 1.0
    if np.ptp(v) == 0:
        beyond = v[0] > bound if greater else v[0] < bound
        return 0.0 if beyond else 1.0
    t = (v.mean() - bound) / (v.std(ddof=1) / math.sqrt(len(v)))
    return float(stats.t.sf(t, len(v) - 1) if greater else stats.t.cdf(t, len(v) - 1))


def within_test(values: Sequence[float], low: float, high: float) -> float:
    """Two one-sided tests (TOST): p that the mean lies inside (low, high)."""
    return max(mean_test(values, low, greater=True), mean_test(values, high, greater=False))


def combine(pvalues: Sequence[float]) -> float:
    """Fisher's combination of independent one-sided p-values (one p is returned as it is)."""
    ps = [min(max(p, 1e-300), 1.0) for p in pvalues]
    if not ps:
        return 1.0
    if len(ps) == 1:
        return ps[0]
    statistic = -2 * sum(math.log(p) for p in ps)
    return float(stats.chi2.sf(statistic, 2 * len(ps)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted, running = [1.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def any_of(pvalues: Sequence[float]) -> float:
    """p of "at least one of these holds": the smallest Holm-adjusted p (1 when there are none)."""
    return min(holm(pvalues)) if pvalues else 1.0


def all_of(pvalues: Sequence[float]) -> float:
    """p of "every one of these holds": the largest (an intersection-union test needs no correction)."""
    return max(pvalues) if pvalues else 1.0


# ---- effect sizes --------------------------------------------------------------------------------------


def share_difference(solved_a: int, n_a: int, solved_b: int, n_b: int) -> tuple[float, float, float]:
    """Difference of solved shares a - b with Newcombe's 95% interval (from Wilson intervals of each)."""
    if n_a == 0 or n_b == 0:
        return math.nan, math.nan, math.nan
    p1, p2 = solved_a / n_a, solved_b / n_b
    l1, u1 = _wilson(solved_a, n_a)
    l2, u2 = _wilson(solved_b, n_b)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _wilson(k: int, n: int) -> tuple[float, float]:
    z = stats.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def mean_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """mean(a) - mean(b) with a Welch 95% interval (a description of the effect; the tests are above)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0 or len(y) == 0:
        return math.nan, math.nan, math.nan
    d = float(x.mean() - y.mean())
    if len(x) < 2 or len(y) < 2:
        return d, math.nan, math.nan
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    se = math.sqrt(va + vb)
    if se == 0:
        return d, d, d
    df = (va + vb) ** 2 / ((va**2 / (len(x) - 1) if len(x) > 1 else 0) + (vb**2 / (len(y) - 1) if len(y) > 1 else 0))
    half = float(stats.t.ppf(0.975, df)) * se
    return d, d - half, d + half


def mean_with_interval(values: Sequence[float]) -> tuple[float, float, float]:
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    if len(v) < 2 or np.ptp(v) == 0:
        return float(v.mean()), float(v.mean()), float(v.mean())
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return float(v.mean()), float(v.mean()) - half, float(v.mean()) + half


# ---- how many seeds would decide --------------------------------------------------------------------------


def _z(level: float) -> float:
    return float(stats.norm.ppf(1 - level))


def seeds_for_shares(p_a: float, p_b: float, level: float = ALPHA) -> int | None:
    """Seeds per cell for a two-sample comparison of solve shares (normal approximation, 80% power)."""
    if p_a <= p_b:
        return None
    mean = (p_a + p_b) / 2
    numerator = _z(level) * math.sqrt(2 * mean * (1 - mean)) + _z(1 - POWER) * math.sqrt(
        p_a * (1 - p_a) + p_b * (1 - p_b)
    )
    return _cap(math.ceil((numerator / (p_a - p_b)) ** 2))


def seeds_for_share(p: float, share: float, level: float = ALPHA) -> int | None:
    """Seeds for a one-sample binomial test of a solve share against ``share`` (normal approximation)."""
    if p == share:
        return None
    numerator = _z(level) * math.sqrt(share * (1 - share)) + _z(1 - POWER) * math.sqrt(p * (1 - p))
    return _cap(math.ceil((numerator / (p - share)) ** 2))


def seeds_for_means(gap: float, spread: float, two_samples: bool, level: float = ALPHA) -> int | None:
    """Seeds per cell for a one-sided test of a mean ``gap`` past its bound with seed-to-seed ``spread``."""
    if gap <= 0 or not math.isfinite(spread):
        return None
    if spread == 0:
        return 2
    factor = 2 if two_samples else 1
    return _cap(math.ceil(factor * ((_z(level) + _z(1 - POWER)) * spread / gap) ** 2))


def _cap(n: int) -> int | None:
    return max(n, 2) if n <= MAX_SEEDS else None
