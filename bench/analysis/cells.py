"""One row per cell: a model (with its options) at one length in one comparison setting, from the records alone.

This frame is both ``summary.csv`` and the source of the report's tables and figures. Cells and their learning
rate are those of the verdicts (``bench.analysis.verdicts.build_cells``): one rate per cell, chosen on mean
validation loss over its seeds, and every planned seed counted. Over the seeds (``bench.analysis.statistics``):
the solved count over every planned seed with its exact Clopper-Pearson interval; the metric's mean over the
finished seeds with a Student-t interval where there are at least three (else the seeds' values, as they are);
the steps to solve as a censored median over every planned seed.
"""

from __future__ import annotations

import math

import pandas as pd

from bench.analysis.facts import TaskFacts, task_facts
from bench.analysis.selection import select_best_lr
from bench.analysis.statistics import censored_median, max_of, mean_interval, median_of, solved_interval
from bench.analysis.verdicts import Cell, build_cells
from bench.store.folder import cell_key

CELL = ["task", "model", "seq_len"]


def cell_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Every cell in the records, in the order the runs were stored."""
    records = runs.to_dict("records")
    chosen: dict[tuple, list[dict]] = {}
    for run in select_best_lr(runs).to_dict("records"):
        chosen.setdefault(cell_key(run), []).append(run)
    attempts: dict[tuple, list[dict]] = {}
    for record in records:
        attempts.setdefault(cell_key(record), []).append(record)
    facts = {task: task_facts(runs, task) for task in runs["task"].unique()}
    cells = zip(attempts, build_cells(records), strict=True)
    rows = [_row(facts[cell.task], cell, pd.DataFrame(chosen.get(key, []), columns=runs.columns),
                 pd.DataFrame(attempts[key])) for key, cell in cells]  # fmt: skip
    return pd.DataFrame(rows)


def _row(task: TaskFacts, cell: Cell, chosen: pd.DataFrame, attempts: pd.DataFrame) -> dict:
    values = pd.Series([v for v, done in zip(cell.values, cell.finished, strict=True) if done], dtype=float)
    interval = mean_interval(values, task.metric_range)
    share = solved_interval(cell.n_solved, cell.n_planned)
    budget = float(chosen["steps"].max()) if len(chosen) and "steps" in chosen else _first(attempts, "steps")
    median_steps, censored = censored_median(_steps(cell, chosen), budget)
    solved_runs = chosen[chosen["solved"].astype(bool)] if len(chosen) else chosen
    return {
        "task": task.name,
        "variant": task.variant,
        "budget": cell.setting,
        "model": cell.model,
        "family": cell.family,
        "seq_len": cell.seq_len,
        "metric": task.metric,
        "n_planned": cell.n_planned,
        "n_finished": cell.n_finished,
        "n_seeds": cell.n_finished,
        "metric_mean": float(values.mean()) if len(values) else float("nan"),
        "metric_low": interval.low if interval else float("nan"),
        "metric_high": interval.high if interval else float("nan"),
        "metric_values": ", ".join(f"{v:.4g}" for v in values),
        "baseline": task.baseline(cell.seq_len),
        "n_solved": cell.n_solved,
        "solved_frac": share.estimate,
        "solved_low": share.low,
        "solved_high": share.high,
        **_secondary(task, chosen),
        "steps_to_solve": median_steps,
        "steps_censored": censored,
        "seconds_to_solve": median_of(solved_runs, "seconds_to_solve"),
        "chosen_lr": cell.lr if cell.lr is not None else float("nan"),
        "lr_grid": ",".join(f"{lr:g}" for lr in cell.lrs),
        "width": median_of(chosen, "width"),
        "n_params": median_of(chosen, "n_params"),
        **{f"params_{part}": median_of(chosen, f"params_{part}") for part in PARAM_PARTS},
        "train_step_ms": median_of(chosen, "train_step_ms"),
        "train_tokens_per_s": median_of(chosen, "train_tokens_per_s"),
        "infer_tokens_per_s": median_of(chosen, "infer_tokens_per_s"),
        "peak_mem_mb": max_of(chosen, "peak_mem_mb"),
        "statuses": status_counts(attempts),
        "model_traits": ",".join(sorted(cell.traits)),
    }


def _first(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].dropna().iloc[0]) if column in frame and frame[column].notna().any() else math.nan


def _steps(cell: Cell, chosen: pd.DataFrame) -> list[float | None]:
    """Each planned seed's steps to solve: None where it did not solve on the test set. A seed that solved on the
    test set without its validation curve crossing the bar counts as solved by its last step, so the table never
    says "> 300 steps" beside "3/3 solved"."""
    by_seed = {int(r["seed"]): r for r in chosen.to_dict("records")} if len(chosen) else {}
    steps: list[float | None] = []
    for seed, solved in zip(cell.seeds, cell.solved, strict=True):
        run = by_seed.get(seed, {})
        reached = run.get("steps_to_solve")
        if not solved:
            steps.append(None)
        elif reached is not None and not (isinstance(reached, float) and math.isnan(reached)):
            steps.append(float(reached))
        else:
            steps.append(float(run.get("steps_run") or run.get("steps") or math.nan))
    return steps


PARAM_PARTS = ("embedding", "core", "head")  # where a model's parameters sit: encoder, family, head


def _secondary(task: TaskFacts, chosen: pd.DataFrame) -> dict:
    """The secondary metric's mean over seeds and the strict tier's count, for a task that has them."""
    out: dict[str, object] = {}
    column = f"test_{task.secondary}"
    if task.secondary and column in chosen:
        out[f"{task.secondary}_mean"] = float(chosen[column].astype(float).mean()) if len(chosen) else float("nan")
    if task.strict_rule and "solved_strict" in chosen:
        out["solved_strict"] = int(chosen["solved_strict"].fillna(False).astype(bool).sum())
    return out


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
