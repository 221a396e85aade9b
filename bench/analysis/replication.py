"""A published comparison against ours: for each published row, what it says (solved or not, at the baseline or
below it) against what our interval over seeds says, at each length we ran.

A row *agrees* when our whole 95% interval (3 seeds or more) says what the published number says,
*disagrees* when it says the opposite, and is *unclear* otherwise (the interval straddles the line, or too
few seeds). The recipe's verdict: *contradicted* if a row disagrees, *confirmed* if every row with a
published number agrees, *unclear* otherwise, *not measured* without a comparable row.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.claims import BASELINE_BAND
from bench.analysis.facts import TaskFacts
from bench.analysis.statistics import MIN_SEEDS

OPPOSITE = {"solved": "not solved", "not solved": "solved", "baseline": "learns", "learns": "baseline"}


def says(task: TaskFacts, low: float, high: float, baseline: float) -> set[str]:
    """What an interval of the metric says for sure: a subset of solved, not solved, baseline, learns."""
    bar = task.solved_threshold
    found = set()
    if task.higher_is_better:
        found |= {"solved"} if low >= bar else {"not solved"} if high < bar else set()
        band = baseline + BASELINE_BAND * (1 - baseline)
        found |= {"baseline"} if high <= band else {"learns"} if low > band else set()
    else:
        found |= {"solved"} if high < bar else {"not solved"} if low >= bar else set()
        band = (1 - BASELINE_BAND) * baseline
        found |= {"baseline"} if low >= band else {"learns"} if high < band else set()
    return found


def comparison_rows(published: list[dict], cells: dict[str, pd.DataFrame], facts: dict[str, TaskFacts]) -> pd.DataFrame:
    """One row per published entry and length run: published value and what it says, ours, and the agreement.
    ``cells`` and ``facts`` are per sweep label (``""`` for a recipe of one sweep)."""
    rows = []
    for entry in published:
        label, task = entry.get("sweep", ""), facts.get(entry.get("sweep", ""))
        sweep_cells = cells.get(label, pd.DataFrame())
        ran = sweep_cells[sweep_cells["model"] == entry["model"]] if not sweep_cells.empty else sweep_cells
        if ran.empty:
            rows.append(_row(entry, None, None, "not measured"))
            continue
        for _, cell in ran.iterrows():
            rows.append(_row(entry, cell, task, _agreement(entry.get("expect"), cell, task)))
    return pd.DataFrame(rows)


def _agreement(expect: str | None, cell: pd.Series, task: TaskFacts) -> str:
    if expect is None:
        return "no published number"
    if cell.get("n_finished", cell.get("n_seeds", 0)) == 0 or pd.isna(cell["metric_mean"]):
        return "not measured"
    if cell["n_seeds"] < MIN_SEEDS or pd.isna(cell.get("metric_low")):
        return "unclear"
    found = says(task, cell["metric_low"], cell["metric_high"], cell["baseline"])
    return "agrees" if expect in found else "disagrees" if OPPOSITE[expect] in found else "unclear"


def _row(entry: dict, cell: pd.Series | None, task: TaskFacts | None, agreement: str) -> dict:
    ours = "-"
    if cell is not None and cell.get("n_finished", cell.get("n_seeds", 0)) > 0:
        spread = (f" [{cell['metric_low']:.3g}, {cell['metric_high']:.3g}]" if pd.notna(cell.get("metric_low"))
                  else f" (seeds {cell['metric_values']})")  # fmt: skip
        solved, planned = int(cell.get("n_solved", cell.get("solved", 0))), int(cell.get("n_planned", cell["n_seeds"]))
        ours = f"{cell['metric_mean']:.3g}{spread}, {solved}/{planned} solved"
    elif cell is not None:
        ours = cell["statuses"]
    return {
        "sweep": entry.get("sweep", ""),
        "model": entry["model"],
        "published": entry.get("value", "-"),
        "says": entry.get("expect") or "-",
        "T": int(cell["seq_len"]) if cell is not None else None,
        "ours": f"{task.metric} {ours}" if task is not None and cell is not None else ours,
        "agreement": agreement,
        "note": entry.get("note", ""),
    }


def recipe_verdict(rows: pd.DataFrame) -> str:
    compared = [a for a in rows.get("agreement", []) if a not in ("no published number",)]
    if not compared or set(compared) == {"not measured"}:
        return "not measured"
    if "disagrees" in compared:
        return "contradicted"
    measured = [a for a in compared if a != "not measured"]
    return "confirmed" if measured and all(a == "agrees" for a in measured) else "unclear"
