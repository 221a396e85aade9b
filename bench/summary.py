"""The end-of-sweep summary: model x length tables built from the store alone.

For every (model, length, seed) the learning rate is chosen on the validation loss, and
the test metrics of that run are reported (DESIGN.md §2): picking on the test set would
flatter every model.
"""

from __future__ import annotations

import pandas as pd

import tasks

GROUP = ["task", "model", "seq_len", "seed"]


def select_best_lr(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, model, length, seed): the finished run with the lowest validation loss."""
    if "val_loss" not in records:  # no run finished: every cell shows a status
        return records.iloc[0:0]
    ok = records[records["status"] == "ok"].dropna(subset=["val_loss"])
    if ok.empty:
        return ok
    return ok.loc[ok.groupby(GROUP)["val_loss"].idxmin()].reset_index(drop=True)


def _metric_cell(group: pd.DataFrame, metric: str) -> str:
    value = group[f"test_{metric}"].mean()
    solved = int(group["solved"].sum())
    mark = "✓" if solved == len(group) else ("✗" if solved == 0 else f"{solved}/{len(group)}")
    return f"{value:.4f} {mark}"


def _failure_cell(records: pd.DataFrame, model: str, seq_len: int) -> str:
    runs = records[(records["model"] == model) & (records["seq_len"] == seq_len)]
    return ",".join(sorted(set(runs["status"]))) if not runs.empty else ""


def metric_table(records: pd.DataFrame, task_name: str, task_params: dict) -> pd.DataFrame:
    """Rows: models in sweep order; columns: lengths; cells: mean test metric and solved mark."""
    task = tasks.get_task(task_name, **task_params)
    metric = task.primary_metric
    best = select_best_lr(records)
    lengths = sorted(records["seq_len"].unique())
    rows = {}
    for model in dict.fromkeys(records["model"]):
        cells = {}
        for seq_len in lengths:
            group = best[(best["model"] == model) & (best["seq_len"] == seq_len)] if not best.empty else best
            cells[seq_len] = _metric_cell(group, metric) if len(group) else _failure_cell(records, model, seq_len)
        rows[model] = cells
    rows["baseline"] = {n: f"{task.baseline(n)[metric]:.4f}" for n in lengths}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.columns = [f"T={n}" for n in lengths]
    return table


def cost_table(records: pd.DataFrame) -> pd.DataFrame:
    """Median training step time and peak memory of the chosen runs, model x length."""
    best = select_best_lr(records)
    if best.empty:
        return pd.DataFrame()
    cells = [_cost_cell(ms, mem) for ms, mem in zip(best["train_step_ms"], best["peak_mem_mb"], strict=True)]
    best = best.assign(cell=cells)
    table = best.groupby(["model", "seq_len"], sort=False)["cell"].first().unstack("seq_len")
    table.columns = [f"T={n}" for n in table.columns]
    return table.reindex(dict.fromkeys(records["model"]))


def _cost_cell(step_ms: float, peak_mb: float | None) -> str:
    memory = f", {peak_mb:.0f} MB" if peak_mb is not None and pd.notna(peak_mb) else ""
    return f"{step_ms:.1f} ms{memory}"


def render_summary(records: list[dict], task_name: str, task_params: dict) -> str:
    frame = pd.DataFrame(records)
    task = tasks.get_task(task_name, **task_params)
    direction = "higher" if task.higher_is_better else "lower"
    parts = [
        f"{task.variant_id}: test {task.primary_metric} ({direction} is better; ✓ solved: {task.solved_rule}; "
        "learning rate chosen on validation loss)",
        metric_table(frame, task_name, task_params).to_markdown(),
    ]
    costs = cost_table(frame)
    if not costs.empty:
        parts += ["", "Cost: median training step, peak memory", costs.to_markdown()]
    parts += _published_outcomes(frame)
    return "\n".join(parts)


def _published_outcomes(frame: pd.DataFrame) -> list[str]:
    from bench.cells import cell_summary, length_generalisation  # the cells module builds on this one
    from bench.expectations import expectation_table

    table = expectation_table(cell_summary(frame), length_generalisation(frame))
    lines = [
        f"- {row['published outcome']} ({row['source']}): {row['here']}; {row['evidence']}"
        for _, row in table.iterrows()
    ]
    return ["", "Published outcomes (REFERENCE.md) and this sweep:", *lines] if lines else []
