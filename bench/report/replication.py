"""The replication table: a recipe's published rows next to ours, and its verdict (``replication.md``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.analysis.replication import recipe_verdicts
from bench.report.document import Section
from bench.report.render import render_markdown
from bench.store.folder import ResultsFolder
from bench.store.replication import read_replication

REPLICATION_MD = "replication.md"


def replication_table(out_dir: Path) -> tuple[dict, dict]:
    """The recipe's description and its judgement (``bench.analysis.replication.recipe_verdicts``), from the folder
    alone."""
    description = read_replication(out_dir)
    if description is None:
        return {}, {}
    runs = {sweep["label"]: ResultsFolder(out_dir / sweep["folder"]).runs() for sweep in description["sweeps"]}
    # the rows of this scale's sweeps: a full-scale grid point the small scale does not run is no row of it
    published = [row for row in description["published"] if not row.get("sweep") or row["sweep"] in runs]
    judged = recipe_verdicts(description["name"], description["source"], published, runs)
    return description, judged


def replication_section(out_dir: Path) -> Section | None:
    description, judged = replication_table(out_dir)
    if not description:
        return None
    settings = description["scale_settings"]
    lengths = ", ".join(map(str, settings["lengths"]))
    budget = (f"{len(settings['seeds'])} seeds, T = {lengths}, {settings['params']:,} parameters, "
              f"{settings['steps']:,} steps, batch {settings['batch_size']}")  # fmt: skip
    text = (
        f"**{description['name']}**, {description['source']}: {description['claim']}. Published setting: "
        f"{description['setting']}. Here, at the {description['scale']} scale: {budget}."
        + (f" The small scale: {description['shrunk']}" if description["scale"] == "small" else "")
        + f"\n\nVerdict: **{judged['verdict']}**. Each published row is a claim judged by the verdict engine "
        "(docs/verdicts.md): *solved* by an exact binomial test that a seed solves more often than not, *not "
        "solved* by its mirror where a positive control solves in the same budget, *baseline* by an equivalence "
        "test within 10% of the way from the baseline to perfect beside a control that solves more often, *learns* "
        "by a one-sided test past that band. A row without a published number is a control. Where no control and "
        "no row the paper says solved solved on every seed (and no row that should learn did), the budget is too "
        "small to test the claim, and the recipe says so instead of judging the other rows."
    )
    tables = []
    if not judged["rows"].empty:
        tables.append(("Published rows", _shown(judged["rows"])))
    if judged["controls"]:
        controls = pd.DataFrame([{"control": c.model, "T": c.seq_len, "solved": f"{c.n_solved}/{c.n_planned}",
                                  "finished": c.n_finished} for c in judged["controls"]])  # fmt: skip
        tables.append(("Positive controls (no published number)", controls))
    if not judged["outcomes"].empty:
        tables.append(("Published outcomes on the same cells", _shown(judged["outcomes"])))
    return Section(f"Replication: {description['name']}", text, tables=tables)


def _shown(rows: pd.DataFrame) -> pd.DataFrame:
    shown = rows.assign(p=rows["p_value"].map(lambda p: "" if pd.isna(p) else f"{p:.2g}"))
    return shown[["claim", "verdict", "p", "reason"]]


def write_replication_report(out_dir: Path) -> Path | None:
    section = replication_section(out_dir)
    if section is None:
        return None
    path = out_dir / REPLICATION_MD
    path.write_text(render_markdown(f"seqbench replication: {out_dir.name}", [section]))
    return path
