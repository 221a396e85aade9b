"""Published outcomes: whether the cells (and the length-generalisation results) confirm, contradict or leave
unclear each expectation, and which were not measured."""

from __future__ import annotations

import pandas as pd
import pytest

import models
from bench.analysis.outcomes import expectation_table


def cells(task: str, metrics: dict[str, float], solved: float = 0.0) -> pd.DataFrame:
    return pd.DataFrame([{"task": task, "model": m, "seq_len": 64, "n_seeds": 1, "metric_mean": v,
                          "solved_frac": solved, "baseline": 0.17, "model_traits": ",".join(models.model_traits(m, {}))}
                         for m, v in metrics.items()])  # fmt: skip


@pytest.mark.parametrize("ssm, transformer, verdict", [(0.2, 0.95, "confirmed"), (0.9, 0.5, "contradicted"),
                                                       (0.5, 0.6, "unclear")])  # fmt: skip
def test_selective_copying_expects_the_ssm_far_below_attention(ssm, transformer, verdict):
    table = expectation_table(cells("selective_copying", {"ssm": ssm, "transformer": transformer}), pd.DataFrame())
    assert table["here"].tolist() == [verdict]


def test_absolute_positions_are_expected_to_degrade_past_the_trained_length():
    results = pd.DataFrame([
        {"task": "copying", "model": "transformer", "ratio": r, "value": v,
         "model_traits": models.model_traits("transformer", {"positions": "learned"})}
        for r, v in ((1.0, 0.95), (2.0, 0.3))
    ])  # fmt: skip
    table = expectation_table(cells("copying", {"ssm": 1.0}, solved=1.0), results)
    assert dict(zip(table["published outcome"], table["here"], strict=True)) == {
        "a time-invariant diagonal SSM solves vanilla copying": "confirmed",
        "attention with absolute positions degrades beyond its training length": "confirmed",
    }


def test_an_expectation_without_its_models_is_not_measured():
    table = expectation_table(cells("associative_recall", {"ssm": 0.5}), pd.DataFrame())
    assert table["here"].tolist() == ["not measured"]
