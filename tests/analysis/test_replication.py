"""A published row against ours: what an interval says for sure, and when a row agrees, disagrees or is unclear."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bench.analysis.facts import TaskFacts
from bench.analysis.replication import comparison_rows, recipe_verdict, says
from bench.analysis.statistics import mean_interval

ADDING = TaskFacts("adding", "adding/tcn@1", "loss", False, "MSE < 0.01", 0.01, {})
COPYING = TaskFacts("copying", "copying/tcn@1", "loss", False, "recall accuracy >= 0.99", 0.99, {})
RECALL = TaskFacts("selective_copying", "selective_copying/mamba@2", "accuracy", True, "recall accuracy >= 0.99",
                   0.99, {})  # fmt: skip


@pytest.mark.parametrize(("task", "low", "high", "baseline", "expected"), [
    (ADDING, 1e-5, 2e-4, 1 / 6, {"solved", "learns"}),
    (ADDING, 0.160, 0.170, 1 / 6, {"not solved", "baseline"}),
    (ADDING, 0.02, 0.08, 1 / 6, {"not solved", "learns"}),
    (ADDING, 0.005, 0.16, 1 / 6, set()),  # straddles both lines: says nothing for sure
    (RECALL, 0.995, 1.0, 1 / 14, {"solved", "learns"}),
    (RECALL, 0.06, 0.08, 1 / 14, {"not solved", "baseline"}),
    (RECALL, 0.2, 0.3, 1 / 14, {"not solved", "learns"}),  # past 10% of the way from chance (0.071) to 1
])  # fmt: skip
def test_what_an_interval_says(task, low, high, baseline, expected):
    assert says(task, low, high, baseline) == expected


def cell(model: str, values: list[float], baseline: float = 1 / 6, seq_len: int = 200) -> dict:
    interval = mean_interval(values)
    return {"model": model, "seq_len": seq_len, "n_seeds": len(values), "metric_mean": sum(values) / len(values),
            "metric_low": interval.low if interval else math.nan,
            "metric_high": interval.high if interval else math.nan,
            "metric_values": ", ".join(map(str, values)), "baseline": baseline, "statuses": "ok 3",
            "solved": sum(v < 0.01 for v in values)}  # fmt: skip


PUBLISHED = [{"model": "rnn", "expect": "baseline", "value": "0.177"}, {"model": "gru", "expect": "solved",
             "value": "5.3e-5"}, {"model": "ssm", "expect": None, "note": "a control"}]  # fmt: skip


@pytest.mark.parametrize(("rnn", "gru", "agreements", "verdict"), [
    ([0.165, 0.167, 0.166], [1e-4, 2e-4, 1.5e-4], ["agrees", "agrees"], "confirmed"),
    ([0.165, 0.167, 0.166], [0.16, 0.17, 0.165], ["agrees", "disagrees"], "contradicted"),
    ([0.165, 0.167, 0.166], [1e-4, 0.17, 1.5e-4], ["agrees", "unclear"], "unclear"),  # one seed failed
    ([0.166], [1e-4], ["unclear", "unclear"], "unclear"),  # one seed: no interval
])  # fmt: skip
def test_rows_and_the_recipe_verdict(rnn, gru, agreements, verdict):
    cells = {"": pd.DataFrame([cell("rnn", rnn), cell("gru", gru), cell("ssm", [1e-3, 2e-3, 1e-3])])}
    rows = comparison_rows(PUBLISHED, cells, {"": ADDING})
    assert rows["agreement"].tolist() == [*agreements, "no published number"]
    assert recipe_verdict(rows) == verdict
    assert rows["published"].tolist()[:2] == ["0.177", "5.3e-5"]


def test_a_model_that_did_not_run_is_not_measured():
    rows = comparison_rows(PUBLISHED[:1], {"": pd.DataFrame([cell("gru", [1e-4] * 3)])}, {"": ADDING})
    assert rows["agreement"].tolist() == ["not measured"] and recipe_verdict(rows) == "not measured"
