"""The report's results table: each model's cells, a failure in place of a model without a finished run, and
the task's baseline."""

from __future__ import annotations

import pandas as pd

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
    assert table.loc["lstm", "T=8"] == "0.1234 (0/1 solved)"
    assert table.loc["transformer", "T=8"] == "oom 1"
    assert table.loc["ssm", "T=8"] == "0.005 (1/1 solved)"
    assert table.loc["baseline", "T=8"] == "0.1667"
