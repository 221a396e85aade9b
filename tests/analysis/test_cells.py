"""The cells (``summary.csv``): one row per task, model and length, failures included, each at the learning rate
chosen on validation."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.report.write import SUMMARY_CSV


@pytest.mark.slow
def test_the_chosen_learning_rate_is_the_best_on_validation(report):
    cells = pd.read_csv(report / SUMMARY_CSV)
    lstm_8 = cells[(cells["model"] == "lstm") & (cells["seq_len"] == 8)].iloc[0]
    assert str(lstm_8["chosen_lr"]) == "0.01"
    assert lstm_8["metric_mean"] == pytest.approx(0.005)
    assert lstm_8["n_seeds"] == 2 and lstm_8["solved_frac"] == 1.0


@pytest.mark.slow
def test_summary_csv_has_one_row_per_task_model_and_length(report):
    cells = pd.read_csv(report / SUMMARY_CSV)
    assert sorted(zip(cells["model"], cells["seq_len"], strict=True)) == [
        ("lstm", 8),
        ("lstm", 16),
        ("ssm", 8),
        ("ssm", 16),
    ]
    ssm_16 = cells[(cells["model"] == "ssm") & (cells["seq_len"] == 16)].iloc[0]
    assert ssm_16["n_seeds"] == 0 and ssm_16["statuses"] == "oom 1, skipped 1"
