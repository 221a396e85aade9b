"""One row per task x model x length: what a sweep found there, over seeds, from the store alone.

This frame is both ``summary.csv`` and the source of the report's tables and figures. For each
(task, model, length, seed) the learning rate is chosen on validation loss (``select_best_lr``);
the test metric is then averaged over seeds, with a Student-t 95% confidence interval (few
seeds: a normal interval would be too narrow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

import tasks
from bench.summary import select_best_lr

CELL = ["task", "model", "seq_len"]


def mean_ci95(values: pd.Series) -> tuple[float, float]:
    """Mean and the half-width of its two-sided 95% t interval; the half-width is NaN for one value."""
    values = values.dropna().astype(float)
    if values.empty:
        return float("nan"), float("nan")
    if len(values) < 2:
        return float(values.mean()), float("nan")
    sem = values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean()), float(stats.t.ppf(0.975, len(values) - 1) * sem)


def task_of(record: dict | pd.Series) -> tasks.Task:
    params = record.get("task_params")
    return tasks.get_task(record["task"], **(params if isinstance(params, dict) else {}))


def cell_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Every task x model x length in the store, in the order the runs were stored."""
    best = select_best_lr(runs)
    rows = []
    for (task_name, model, seq_len), attempts in runs.groupby(CELL, sort=False):
        chosen = best[(best["task"] == task_name) & (best["model"] == model) & (best["seq_len"] == seq_len)]
        rows.append(_cell(task_of(attempts.iloc[0]), model, int(seq_len), attempts, chosen))
    return pd.DataFrame(rows)


def _cell(task: tasks.Task, model: str, seq_len: int, attempts: pd.DataFrame, chosen: pd.DataFrame) -> dict:
    metric = task.primary_metric
    mean, ci95 = mean_ci95(chosen[f"test_{metric}"]) if len(chosen) else (float("nan"), float("nan"))
    solved = chosen[chosen["solved"].astype(bool)] if len(chosen) else chosen
    return {
        "task": task.name,
        "variant": task.variant_id,
        "model": model,
        "seq_len": seq_len,
        "metric": metric,
        "n_seeds": len(chosen),
        "metric_mean": mean,
        "metric_ci95": ci95,
        "baseline": task.baseline(seq_len)[metric],
        "solved_frac": len(solved) / len(chosen) if len(chosen) else float("nan"),
        "steps_to_solve": _median(solved, "steps_to_solve"),
        "seconds_to_solve": _median(solved, "seconds_to_solve"),
        "chosen_lrs": ",".join(f"{lr:g}" for lr in sorted(set(chosen["lr"]))) if len(chosen) else "",
        "width": _median(chosen, "width"),
        "n_params": _median(chosen, "n_params"),
        "train_step_ms": _median(chosen, "train_step_ms"),
        "train_tokens_per_s": _median(chosen, "train_tokens_per_s"),
        "infer_tokens_per_s": _median(chosen, "infer_tokens_per_s"),
        "peak_mem_mb": _max(chosen, "peak_mem_mb"),
        "statuses": status_counts(attempts),
    }


def status_counts(attempts: pd.DataFrame) -> str:
    counts = attempts["status"].value_counts()
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))


def _median(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].median()) if column in frame and frame[column].notna().any() else float("nan")


def _max(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].max()) if column in frame and frame[column].notna().any() else float("nan")


def chosen_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Validation loss against step and training seconds, for the chosen run of every cell and seed.

    Seconds are the step's share of the run's training time (``step / steps_run * train_s``):
    evaluation is excluded, so the axis is compute spent on learning, comparable across models.
    """
    rows = []
    for run in select_best_lr(runs).to_dict("records"):
        curve = run.get("curve")
        if not isinstance(curve, list) or not curve:
            continue
        seconds_per_step = run["train_s"] / run["steps_run"] if run.get("train_s") and run.get("steps_run") else None
        for step, loss in curve:
            seconds = step * seconds_per_step if seconds_per_step else float("nan")
            rows.append(
                {"task": run["task"], "model": run["model"], "seq_len": run["seq_len"], "seed": run["seed"],
                 "step": step, "seconds": seconds, "val_loss": loss}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=["task", "model", "seq_len", "seed", "step", "seconds", "val_loss"])


def length_generalisation(runs: pd.DataFrame) -> pd.DataFrame:
    """Long form, one row per chosen run and tested length: the trained length itself (ratio 1) and longer ones.

    Columns: task, model, seq_len (trained), seed, eval_len, ratio (eval_len / seq_len), metric, value, status,
    positions (the Transformer's position encoding, else None).
    """
    if "eval_lengths_results" not in runs:
        return pd.DataFrame()
    rows = []
    for run in select_best_lr(runs).to_dict("records"):
        results = run.get("eval_lengths_results")
        if not isinstance(results, list):
            continue
        metric = task_of(run).primary_metric
        options = run.get("model_options") if isinstance(run.get("model_options"), dict) else {}
        here = {"seq_len": run["seq_len"], "status": "ok", metric: run[f"test_{metric}"]}
        for result in [here, *results]:
            rows.append(
                {"task": run["task"], "model": run["model"], "seq_len": run["seq_len"], "seed": run["seed"],
                 "eval_len": result["seq_len"], "ratio": result["seq_len"] / run["seq_len"], "metric": metric,
                 "value": result.get(metric, float("nan")), "status": result["status"],
                 "positions": options.get("positions")}
            )  # fmt: skip
    return pd.DataFrame(rows)
