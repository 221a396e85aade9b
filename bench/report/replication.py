"""The replication table: a recipe's published rows next to ours, and its verdict (``replication.md``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.analysis.cells import cell_summary
from bench.analysis.facts import task_facts
from bench.analysis.replication import comparison_rows, recipe_verdict
from bench.report.document import Section
from bench.report.render import render_markdown
from bench.store.folder import ResultsFolder
from bench.store.replication import read_replication

REPLICATION_MD = "replication.md"


def replication_table(out_dir: Path) -> tuple[dict, pd.DataFrame]:
    """The recipe's description and one row per published entry and length, from the folder alone."""
    description = read_replication(out_dir)
    if description is None:
        return {}, pd.DataFrame()
    cells, facts = {}, {}
    for sweep in description["sweeps"]:
        folder = out_dir / sweep["folder"]
        runs = pd.DataFrame(ResultsFolder(folder).runs())
        if not runs.empty:
            cells[sweep["label"]] = cell_summary(runs)
            facts[sweep["label"]] = task_facts(runs, description["task"])
    return description, comparison_rows(description["published"], cells, facts)


def replication_section(out_dir: Path) -> Section | None:
    description, rows = replication_table(out_dir)
    if not description:
        return None
    settings = description["scale_settings"]
    lengths = ", ".join(map(str, settings["lengths"]))
    budget = (f"{len(settings['seeds'])} seeds, T = {lengths}, {settings['params']:,} parameters, "
              f"{settings['steps']:,} steps, batch {settings['batch_size']}")  # fmt: skip
    text = (
        f"**{description['name']}**, {description['source']}: {description['claim']}. Published setting: "
        f"{description['setting']}. Here, at the {description['scale']} scale: {budget}."
        + (f" What the small scale shrinks, and why the claim should survive: {description['shrunk']}"
           if description["scale"] == "small" else "")  # fmt: skip
        + f"\n\nVerdict: **{recipe_verdict(rows)}**. A row agrees when our whole 95% interval over seeds says what "
        "the published number says (solved or not; at the memoryless baseline, within 10% of the way to perfect, "
        "or below it), disagrees when it says the opposite, and is unclear otherwise."
    )
    shown = rows.loc[:, [c for c in rows.columns if (rows[c].astype(str) != "").any()]]  # no empty sweep or note
    return Section(f"Replication: {description['name']}", text, tables=[("", shown)])


def write_replication_report(out_dir: Path) -> Path | None:
    section = replication_section(out_dir)
    if section is None:
        return None
    path = out_dir / REPLICATION_MD
    path.write_text(render_markdown(f"seqbench replication: {out_dir.name}", [section]))
    return path
