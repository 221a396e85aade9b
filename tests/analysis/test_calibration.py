"""The verdicts' error rate, measured by simulation through the code path of ``bench report``: under the null
(identical models) no claim may give a false verdict in more than 5% of sweeps. The full table (1,000 sweeps per
claim, and the power under planted effects) is `python -m bench claims --calibrate 1000` (docs/verdicts.md)."""

from __future__ import annotations

import pytest

import models
from bench.analysis.calibration import FAMILIES, false_verdict_rates, is_calibrated, power_table


def test_the_simulated_families_carry_the_registry_traits() -> None:
    for name, traits in FAMILIES.items():
        assert tuple(sorted(models.model_traits(name, {}))) == traits, name


@pytest.mark.slow
def test_no_claim_gives_a_false_verdict_in_more_than_5_percent_of_null_sweeps() -> None:
    rates = false_verdict_rates(sweeps=170, seed=1)  # 6 claims x 170 = 1,020 sweeps
    assert rates["sweeps"].sum() >= 1000
    assert is_calibrated(rates), rates.to_string()


@pytest.mark.slow
def test_a_published_effect_is_confirmed_at_ten_seeds() -> None:
    power = power_table(sweeps=20, seeds=(10,))
    assert (power["confirmed at 10 seeds"] >= 0.9).all(), power.to_string()
