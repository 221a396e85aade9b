"""The report's results table: each model's cells, a failure in place of a model without a finished run, and
the task's baseline."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.analysis.cells import cell_summary
from bench.analysis.facts import task_facts
from bench.report.runs import metric_table
from tests.helpers import summary_record


def test_metric_table_shows_the_failure_of_a_model_without_a_finished_run():
    frame = pd.DataFrame(
        [
            summary_record("lstm", 0, 1e-3, val_loss=0.2, test_loss=0.1234),
            summary_record("transformer", 0, 1e-3, status="oom"),
            summary_record("ssm", 0, 1e-3, val_loss=0.1, test_loss=0.005, solved=True),
        ]
    )
    table = metric_table(cell_summary(frame), task_facts(frame, "adding"))
    assert list(table.index) == ["lstm", "transformer", "ssm", "baseline"]
    assert table.loc["lstm", "T=8"] == "seeds: 0.1234; 0/1 solved (0%–98%)"  # one seed: its value, no mean interval
    assert table.loc["transformer", "T=8"] == "oom 1"
    assert table.loc["ssm", "T=8"] == "seeds: 0.005; 1/1 solved (3%–100%)"
    assert table.loc["baseline", "T=8"] == "0.1667"


def test_three_seeds_give_a_mean_interval_and_the_solved_fraction_its_exact_interval():
    frame = pd.DataFrame([summary_record("gru", seed, 1e-3, val_loss=0.1, test_loss=loss, solved=loss < 0.01)
                          for seed, loss in enumerate([0.002, 0.004, 0.006])])  # fmt: skip
    cells = cell_summary(frame)
    (cell,) = cells.to_dict("records")
    assert cell["metric_mean"] == pytest.approx(0.004)
    assert cell["metric_high"] == pytest.approx(0.004 + 0.004968, abs=1e-6)  # t(0.975, 2) * 0.002 / sqrt(3)
    assert cell["metric_low"] == 0.0  # 0.004 - 0.004968, cut at 0: a loss is never negative
    assert (cell["n_solved"], cell["solved_low"]) == (3, pytest.approx(0.2924, abs=1e-4))
    text = metric_table(cells, task_facts(frame, "adding")).loc["gru", "T=8"]
    assert text.startswith("0.004 [0, 0.00897]") and text.endswith("3/3 solved (29%–100%)")
