"""One row per task x model x length: what a sweep found there, over seeds, from the records alone.

This frame is both ``summary.csv`` and the source of the report's tables and figures. For each
(task, model, length, seed) the learning rate is chosen on validation loss (``select_best_lr``);
the test metric is then averaged over seeds, with a Student-t 95% confidence interval (few seeds:
a normal interval would be too narrow).
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.facts import TaskFacts, task_facts
from bench.analysis.selection import select_best_lr
from bench.analysis.statistics import max_of, mean_ci95, median_of

CELL = ["task", "model", "seq_len"]


def cell_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Every task x model x length in the records, in the order the runs were stored."""
    best = select_best_lr(runs)
    facts = {task: task_facts(runs, task) for task in runs["task"].unique()}
    rows = []
    for (task_name, model, seq_len), attempts in runs.groupby(CELL, sort=False):
        chosen = best[(best["task"] == task_name) & (best["model"] == model) & (best["seq_len"] == seq_len)]
        rows.append(_cell(facts[task_name], model, int(seq_len), attempts, chosen))
    return pd.DataFrame(rows)


def _cell(task: TaskFacts, model: str, seq_len: int, attempts: pd.DataFrame, chosen: pd.DataFrame) -> dict:
    metric = task.metric
    mean, ci95 = mean_ci95(chosen[f"test_{metric}"]) if len(chosen) else (float("nan"), float("nan"))
    solved = chosen[chosen["solved"].astype(bool)] if len(chosen) else chosen
    return {
        "task": task.name,
        "variant": task.variant,
        "model": model,
        "seq_len": seq_len,
        "metric": metric,
        "n_seeds": len(chosen),
        "metric_mean": mean,
        "metric_ci95": ci95,
        "baseline": task.baseline(seq_len),
        "solved_frac": len(solved) / len(chosen) if len(chosen) else float("nan"),
        "steps_to_solve": median_of(solved, "steps_to_solve"),
        "seconds_to_solve": median_of(solved, "seconds_to_solve"),
        "chosen_lrs": ",".join(f"{lr:g}" for lr in sorted(set(chosen["lr"]))) if len(chosen) else "",
        "width": median_of(chosen, "width"),
        "n_params": median_of(chosen, "n_params"),
        "train_step_ms": median_of(chosen, "train_step_ms"),
        "train_tokens_per_s": median_of(chosen, "train_tokens_per_s"),
        "infer_tokens_per_s": median_of(chosen, "infer_tokens_per_s"),
        "peak_mem_mb": max_of(chosen, "peak_mem_mb"),
        "statuses": status_counts(attempts),
        "model_traits": _traits(attempts),
    }


def _traits(attempts: pd.DataFrame) -> str:
    """The model's traits, as a comma-separated string (a CSV column)."""
    if "model_traits" not in attempts:
        return ""
    lists = [t for t in attempts["model_traits"] if isinstance(t, list)]
    return ",".join(lists[0]) if lists else ""


def status_counts(attempts: pd.DataFrame) -> str:
    counts = attempts["status"].value_counts()
    return ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))


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
    model_traits (the run's traits: absolute positions among them, where the options chose them).
    """
    if "eval_lengths_results" not in runs:
        return pd.DataFrame()
    rows = []
    for run in select_best_lr(runs).to_dict("records"):
        results = run.get("eval_lengths_results")
        if not isinstance(results, list):
            continue
        metric = run.get("metric", "loss")
        here = {"seq_len": run["seq_len"], "status": "ok", metric: run[f"test_{metric}"]}
        traits = run.get("model_traits") if isinstance(run.get("model_traits"), list) else []
        for result in [here, *results]:
            rows.append(
                {"task": run["task"], "model": run["model"], "seq_len": run["seq_len"], "seed": run["seed"],
                 "eval_len": result["seq_len"], "ratio": result["seq_len"] / run["seq_len"], "metric": metric,
                 "value": result.get(metric, float("nan")), "status": result["status"], "model_traits": traits}
            )  # fmt: skip
    return pd.DataFrame(rows)
