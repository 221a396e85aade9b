"""One row per task x model x length: what a sweep found there, over seeds, from the records alone.

This frame is both ``summary.csv`` and the source of the report's tables, figures and verdicts. For
each (task, model, length, seed) the learning rate is chosen on validation loss (``select_best_lr``).
Then, over the seeds (``bench.analysis.statistics``): the solved fraction with its exact
Clopper-Pearson interval; the metric's mean with a Student-t interval where there are at least three
seeds (else the seeds' values, as they are); the steps to solve as a censored median over every seed.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.facts import TaskFacts, task_facts
from bench.analysis.selection import select_best_lr
from bench.analysis.statistics import censored_median, max_of, mean_interval, median_of, solved_interval

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
    values = chosen[f"test_{metric}"].astype(float) if len(chosen) else pd.Series(dtype=float)
    interval = mean_interval(values, task.metric_range)
    solved = int(chosen["solved"].astype(bool).sum()) if len(chosen) else 0
    share = solved_interval(solved, len(chosen))
    solved_runs = chosen[chosen["solved"].astype(bool)] if len(chosen) else chosen
    reached = chosen["steps_to_solve"] if "steps_to_solve" in chosen else pd.Series([None] * len(chosen))
    solved_flags = chosen["solved"].astype(bool) if len(chosen) else []
    steps = [s if ok else None for ok, s in zip(solved_flags, reached, strict=True)]
    budget = float(chosen["steps"].max()) if "steps" in chosen and len(chosen) else float("nan")
    median_steps, censored = censored_median(steps, budget)
    return {
        "task": task.name,
        "variant": task.variant,
        "model": model,
        "seq_len": seq_len,
        "metric": metric,
        "n_seeds": len(chosen),
        "metric_mean": float(values.mean()) if len(values) else float("nan"),
        "metric_low": interval.low if interval else float("nan"),
        "metric_high": interval.high if interval else float("nan"),
        "metric_values": ", ".join(f"{v:.4g}" for v in values),
        "baseline": task.baseline(seq_len),
        "solved": solved,
        "solved_frac": share.estimate,
        "solved_low": share.low,
        "solved_high": share.high,
        **_secondary(task, chosen),
        "steps_to_solve": median_steps,
        "steps_censored": censored,
        "seconds_to_solve": median_of(solved_runs, "seconds_to_solve"),
        "chosen_lrs": ",".join(f"{lr:g}" for lr in sorted(set(chosen["lr"]))) if len(chosen) else "",
        "width": median_of(chosen, "width"),
        "n_params": median_of(chosen, "n_params"),
        **{f"params_{part}": median_of(chosen, f"params_{part}") for part in PARAM_PARTS},
        "train_step_ms": median_of(chosen, "train_step_ms"),
        "train_tokens_per_s": median_of(chosen, "train_tokens_per_s"),
        "infer_tokens_per_s": median_of(chosen, "infer_tokens_per_s"),
        "peak_mem_mb": max_of(chosen, "peak_mem_mb"),
        "statuses": status_counts(attempts),
        "model_traits": _traits(attempts),
    }


PARAM_PARTS = ("embedding", "core", "head")  # where a model's parameters sit: encoder, family, head


def _secondary(task: TaskFacts, chosen: pd.DataFrame) -> dict:
    """The secondary metric's mean over seeds and the strict tier's count, for a task that has them."""
    out: dict[str, object] = {}
    column = f"test_{task.secondary}"
    if task.secondary and column in chosen:
        out["secondary_mean"] = float(chosen[column].astype(float).mean()) if len(chosen) else float("nan")
    if task.strict_rule and "solved_strict" in chosen:
        out["solved_strict"] = int(chosen["solved_strict"].fillna(False).astype(bool).sum())
    return out


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
