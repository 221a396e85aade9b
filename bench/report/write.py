"""``python -m bench report DIR``: a results folder as ``report.md``, ``report.html``, ``summary.csv`` and figures;
and the console summaries, which are the same sections rendered for the terminal.

Everything comes from the folder alone (``runs.jsonl``, ``speed.jsonl``, ``gradients.jsonl``,
``manifest.json``), never from the trainer, so a report can be rebuilt at any time, on any machine.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from bench.analysis.cells import cell_summary, length_generalisation
from bench.analysis.gradients import gradient_verdicts
from bench.analysis.verdicts import VERDICT_COLUMNS, build_cells, judge_cells
from bench.errors import ConfigError
from bench.report.document import ReportContext, Section
from bench.report.failures import failures_section, unreadable_section
from bench.report.gradients import gradients_section
from bench.report.provenance import provenance_section
from bench.report.render import render_html, render_markdown
from bench.report.replication import write_replication_report
from bench.report.runs import (
    budget_section,
    configuration_section,
    generalisation_section,
    result_section,
    training_cost_section,
    verdicts_section,
)
from bench.report.speed import speed_section
from bench.store.files import GRADIENTS_FILE, RUNS_FILE, SPEED_FILE
from bench.store.folder import ResultsFolder
from bench.store.records import with_facts
from bench.store.replication import read_replication

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
VERDICTS_CSV = "verdicts.csv"


def write_reports(out_dirs: list[Path], model_order: list[str] | None = None, figures: bool = True) -> list[Path]:
    """Check every folder first, so a bad one among several writes nothing at all. A replication's folder
    (replicate's replication.json) gets its replication.md, judged again, and its own report where it holds runs."""
    for out_dir in out_dirs:
        if read_replication(out_dir) is None:
            _check_has_results(out_dir)
    written = []
    for out_dir in out_dirs:
        if read_replication(out_dir) is not None:
            written.append(write_replication_report(out_dir))
        if ResultsFolder(out_dir).holds_results():
            written.append(write_report(out_dir, model_order, figures))
    return [path for path in written if path is not None]


def write_report(out_dir: Path, model_order: list[str] | None = None, figures: bool = True) -> Path:
    """The folder's report, summary.csv, verdicts.csv and (unless ``figures`` is False: a re-judgement in seconds)
    its figures; returns the path of report.md."""
    _check_has_results(out_dir)
    folder = ResultsFolder(out_dir)
    context = ReportContext(out_dir, model_order)
    runs = pd.DataFrame(folder.runs())
    sections = report_sections(folder, runs, context)
    if not runs.empty:
        _export_summary(cell_summary(runs), out_dir)
    folder_verdicts(folder, runs).to_csv(out_dir / VERDICTS_CSV, index=False, float_format="%.6g")
    for section in sections:
        if not figures:
            section.figures = [f for f in section.figures if (context.figure_dir / f.filename).exists()]
            continue
        for figure in section.figures:
            context.figure_dir.mkdir(parents=True, exist_ok=True)
            figure.draw(context.figure_dir / figure.filename)
    title = f"seqbench report: {out_dir.name}"
    markdown = render_markdown(title, sections)
    (out_dir / REPORT_MD).write_text(markdown)
    (out_dir / REPORT_HTML).write_text(render_html(title, markdown, out_dir))
    return out_dir / REPORT_MD


def report_sections(folder: ResultsFolder, runs: pd.DataFrame, context: ReportContext) -> list[Section]:
    speed = pd.DataFrame(folder.speed_rows())
    gradients = pd.DataFrame(folder.gradient_curves())
    warning = provenance_section([runs, speed, gradients])
    sections: list[Section] = [warning] if warning else []
    unreadable = unreadable_section(folder.unreadable())  # what the tables below leave out, first
    sections += [unreadable] if unreadable else []
    if not runs.empty:
        cells = cell_summary(runs)
        sections += [configuration_section(runs, folder.manifest()), budget_section(runs, cells)]
        sections += [result_section(runs, cells[cells["task"] == name], context) for name in cells["task"].unique()]
        generalisation = length_generalisation(runs)
        if not generalisation.empty:
            sections.append(generalisation_section(runs, generalisation, context))
        sections.append(verdicts_section(run_verdicts(runs)))
    sections += _gradient_sections(gradients, context)
    if not runs.empty:
        sections.append(training_cost_section(runs, cells, context, figures_too=speed.empty))
    if not speed.empty:
        sections.append(speed_section(speed, context))
    sections.append(failures_section(runs, speed))
    return sections


def _gradient_sections(gradients: pd.DataFrame, context: ReportContext) -> list[Section]:
    """One section per task: curves of different tasks are not averaged together."""
    variants = list(dict.fromkeys(gradients["variant"])) if not gradients.empty else []
    named = len(variants) > 1
    return [gradients_section(gradients[gradients["variant"] == v], context, v if named else None) for v in variants]


def run_verdicts(runs: pd.DataFrame) -> pd.DataFrame:
    """Every published claim against the runs' cells (bench.analysis.verdicts), as verdicts.csv's rows."""
    rows = judge_cells(build_cells(runs.to_dict("records"))) if not runs.empty else []
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def folder_verdicts(folder: ResultsFolder, runs: pd.DataFrame) -> pd.DataFrame:
    """The training runs' verdicts and the gradient curves' (gradients.jsonl), one table."""
    gradients = pd.DataFrame(folder.gradient_curves())
    frames = [run_verdicts(runs), pd.DataFrame(gradient_verdicts(gradients), columns=VERDICT_COLUMNS)]
    return pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)


def _check_has_results(out_dir: Path) -> None:
    if not ResultsFolder(out_dir).holds_results():
        raise ConfigError(
            f"dirs: {out_dir} holds no {RUNS_FILE}, {SPEED_FILE} or {GRADIENTS_FILE}; "
            "give a folder written by run, speed or gradients"
        )


def _export_summary(cells: pd.DataFrame, out_dir: Path) -> None:
    cells.to_csv(out_dir / SUMMARY_CSV, index=False, float_format="%.6g")
    if importlib.util.find_spec("pyarrow") is not None:  # the optional `parquet` extra
        cells.to_parquet(out_dir / SUMMARY_PARQUET, index=False)


# ---- console summaries: the report's sections, for the terminal -------------------------------------------


def run_summary(records: list[dict], out_dir: Path, model_order: list[str] | None = None) -> list[Section]:
    """After a sweep: its results, training cost and published outcomes, from its own runs' records."""
    runs = pd.DataFrame([with_facts(record) for record in records])
    if runs.empty:
        return []
    context = ReportContext(out_dir, model_order)
    cells = cell_summary(runs)
    sections = [result_section(runs, cells[cells["task"] == name], context) for name in cells["task"].unique()]
    sections.append(training_cost_section(runs, cells, context, figures_too=False))
    sections.append(verdicts_section(run_verdicts(runs)))
    return sections


def speed_summary(rows: list[dict], out_dir: Path, model_order: list[str] | None = None) -> list[Section]:
    return [speed_section(pd.DataFrame(rows), ReportContext(out_dir, model_order))] if rows else []


def gradient_summary(records: list[dict], out_dir: Path, model_order: list[str] | None = None) -> list[Section]:
    return _gradient_sections(pd.DataFrame(records), ReportContext(out_dir, model_order))
