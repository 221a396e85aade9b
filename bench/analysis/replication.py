"""A recipe's published rows judged by the verdict engine, as claims (``bench.analysis.verdicts``).

Each published row becomes a ``Claim`` about the family that stands for the paper's row, in its sweep: a row that
says *solved* is a ``solves`` claim, *not solved* ``does_not_solve``, *baseline* ``stays_at_baseline`` and *learns*
``learns``; a row at the baseline needs a control that learns in the same budget. The records of all the recipe's
sweeps are judged together, so a model of one sweep (chrono's LSTM) is a positive control for another's (the
standard LSTM) wherever their budgets are equal; runs of different budgets are still never compared. A row without a
published number is a positive control: it is shown, and used as a control, but not judged. Beside the rows, the
published outcomes (``bench.analysis.claims``) that speak about the recipe's task are judged on the same cells (a
"far below" needs its gap there).

The recipe's verdict: *budget too small to test this claim* where nothing shows the budget suffices (no control
row, and no row the paper says solved, solved on every planned seed, and no row that should learn did); else
*confirmed* where every row confirms, *contradicted* where a row contradicts after Holm's correction over the rows,
*unclear* otherwise, *not measured* where no row's model ran.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis import significance as sig
from bench.analysis.claims import CLAIMS, GRADIENT_CHECKS, Claim, Kind
from bench.analysis.verdicts import Cell, build_cells, judge, judge_cells, verdict_row

CHECK_OF = {"solved": "solves", "not solved": "does_not_solve", "baseline": "stays_at_baseline", "learns": "learns",
            "faster": "faster"}
TOO_SMALL = "budget too small to test this claim"


def tagged_records(runs_by_sweep: dict[str, list[dict]]) -> list[dict]:
    """Every sweep's records, each marked with its sweep's label (``recipe_sweep``)."""
    return [{**record, "recipe_sweep": label} for label, runs in runs_by_sweep.items() for record in runs]


def row_claim(recipe: str, row: dict, source: str, labels: tuple[str, ...], rivals: tuple[str, ...] = ()) -> Claim:
    """A published row as a claim about the cells ``labels`` (its family, in its sweep); a *faster* row against
    the cells ``rivals`` (the same family in the sweep it names)."""
    sweep = f" [{row['sweep']}]" if row.get("sweep") else ""
    where = f" ({row['where']})" if row.get("where") else ""
    # A row at the baseline needs a control that shows the budget lets a model leave it: one that learns (a paper's
    # plateau against a model that goes below it), not necessarily one that solves.
    rival = Kind(f"{row['model']} [{row.get('than')}]", labels=rivals) if row["expect"] == "faster" else None
    return Claim(f"{recipe}:{row['model']}{sweep}", f"{row['model']}{sweep}: {row['expect']}, {row['value']}{where}",
                 source, row.get("note", ""), CHECK_OF[row["expect"]], Kind(row["model"], labels=labels), rival,
                 gap=float(row.get("factor") or 0.0), control="learns")  # fmt: skip


def _labels(cells: list[Cell], model: str, sweep: str) -> tuple[str, ...]:
    return tuple(sorted({c.model for c in cells if c.family == model and (not sweep or c.sweep == sweep)}))


def recipe_verdicts(recipe: str, source: str, published: list[dict], runs_by_sweep: dict[str, list[dict]]) -> dict:
    """The rows' verdicts, the published outcomes' on the same cells, the controls, and the recipe's verdict."""
    cells = build_cells(tagged_records(runs_by_sweep))
    by_setting: dict[str, list[Cell]] = {}
    for cell in cells:
        by_setting.setdefault(cell.setting, []).append(cell)
    rows, controls, candidates = [], [], []
    for entry in published:
        labels = _labels(cells, entry["model"], entry.get("sweep", ""))
        if entry.get("expect") in (None, "solved"):  # a model that should solve: its cells show the budget suffices
            candidates += [c for c in cells if c.model in labels]
        if entry.get("expect") is None:
            controls += [c for c in cells if c.model in labels]
            continue
        rivals = _labels(cells, entry["model"], entry["than"]) if entry.get("than") else ()
        claim = row_claim(recipe, entry, source, labels, rivals)
        sweep = entry.get("sweep", "")
        for setting, group in by_setting.items():
            if any(c.model in labels and (not sweep or c.sweep == sweep) for c in group):
                rows.append(verdict_row(claim, judge(claim, group), group[0].variant, setting))
        if not labels:
            rows.append(verdict_row(claim, judge(claim, []), "", "not run"))
    outcomes = _outcomes(cells)
    return {"rows": pd.DataFrame(rows), "outcomes": pd.DataFrame(outcomes), "controls": controls,
            "verdict": _recipe_verdict(rows, candidates)}  # fmt: skip


def _outcomes(cells: list[Cell]) -> list[dict]:
    claims = [c for c in CLAIMS if c.check not in GRADIENT_CHECKS]
    return [r for r in judge_cells(cells, claims) if r["verdict"] != "not measured"]


def _recipe_verdict(rows: list[dict], candidates: list[Cell]) -> str:
    """Too small where nothing shows the budget suffices: no model that should solve (a control, or a row the paper
    says solved) solved on every seed, and no row that should learn was confirmed to."""
    learned = any(r["verdict"] == "confirmed" and "learns" in r["claim"] for r in rows)
    solved = any(c.n_planned and c.n_solved == c.n_planned for c in candidates)
    if candidates and not solved and not learned:
        numbers = "; ".join(c.describe() for c in candidates)
        return f"{TOO_SMALL} (no positive control solved on every seed: {numbers})"
    measured = [r for r in rows if r["verdict"] != "not measured"]
    if not measured:
        return "not measured"
    if sig.any_of([r["p_contradict"] for r in measured]) <= sig.ALPHA:
        return "contradicted"
    if all(r["verdict"] == "confirmed" for r in measured) and len(measured) == len(rows):
        return "confirmed"
    return "unclear"
