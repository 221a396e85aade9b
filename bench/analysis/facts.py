"""What a task's results mean, read from its records (``tasks.Task.facts`` and the baselines stored in each)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class TaskFacts:
    name: str
    variant: str
    metric: str  # the metric shown first
    higher_is_better: bool
    solved_rule: str  # the threshold in words, e.g. "MSE < 0.01"
    solved_threshold: float
    baselines: dict[int, dict[str, float]]  # length -> the trivial predictor's loss and metrics there
    secondary: str | None = None  # a metric shown beside the first (adding: the share of sequences within 0.04)
    strict_rule: str | None = None  # a stricter bar shown beside the solved one

    def baseline(self, seq_len: int, name: str | None = None) -> float:
        """The trivial predictor's ``name`` (default: the metric) at ``seq_len``; NaN where no record says."""
        return self.baselines.get(int(seq_len), {}).get(name or self.metric, float("nan"))

    @property
    def metric_range(self) -> tuple[float, float]:
        """The values the metric can take: every metric here is an accuracy (in [0, 1], higher is better) or a
        loss (>= 0, lower is better)."""
        return (0.0, 1.0) if self.higher_is_better else (0.0, math.inf)

    @property
    def better(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"


def task_facts(runs: pd.DataFrame, task: str) -> TaskFacts:
    """The facts of ``task`` from its runs' records (the first one that has them), baselines from every length."""
    rows = runs[runs["task"] == task]
    described = rows.dropna(subset=["metric"]) if "metric" in rows else rows.iloc[0:0]
    first = described.iloc[0] if not described.empty else rows.iloc[0]
    baselines: dict[int, dict[str, float]] = {}
    columns = [c for c in rows.columns if c.startswith("baseline_")]
    for record in rows.to_dict("records"):
        values = {c.removeprefix("baseline_"): record[c] for c in columns if pd.notna(record.get(c))}
        if values:
            baselines.setdefault(int(record["seq_len"]), {}).update(values)
    return TaskFacts(
        name=task,
        variant=str(first.get("variant", task)),
        metric=str(first.get("metric", "loss")),
        higher_is_better=bool(first.get("higher_is_better", False)),
        solved_rule=str(first.get("solved_rule", "")),
        solved_threshold=float(first.get("solved_threshold", float("nan"))),
        baselines=baselines,
        secondary=_text(first.get("secondary_metric")),
        strict_rule=_text(first.get("strict_rule")),
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
