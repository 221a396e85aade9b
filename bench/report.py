"""``python -m bench report DIR``: a results folder as ``report.md``, ``report.html``, ``summary.csv`` and figures.

Everything comes from the folder alone (``runs.jsonl``, ``speed.jsonl``, ``manifest.json``), never
from the trainer, so a report can be rebuilt at any time, on any machine. A report is a list
of sections, each of text, tables and figures, rendered twice: as markdown beside its PNGs,
and as one HTML file with the PNGs embedded, to send or open anywhere.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import models
from bench import figures
from bench.cells import cell_summary, chosen_curves, length_generalisation, task_of
from bench.config import ConfigError
from bench.expectations import expectation_table
from bench.gradients import GRADIENTS_FILE, gradient_curves, gradient_table, gradient_verdicts, read_gradients
from bench.speed import SPEED_FILE
from bench.speed_tables import speed_tables, with_labels
from bench.store import MANIFEST_FILE, RUNS_FILE, latest_by_key, read_records
from bench.summary import select_best_lr

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
FIGURES_DIR = "figures"
ERROR_CHARS = 160  # a failure's message in the table; the store keeps it whole


@dataclass
class Section:
    title: str
    text: str = ""
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    figures: list[tuple[str, Path]] = field(default_factory=list)  # (caption, path inside the folder)


# ---- entry point -------------------------------------------------------------------------------------


def write_reports(out_dirs: list[Path], *, progress: bool = True) -> list[Path]:
    """Check every folder first, so a bad one among several writes nothing at all."""
    for out_dir in out_dirs:
        _check_has_results(out_dir)
    return [write_report(out_dir) for out_dir in out_dirs]


def write_report(out_dir: Path) -> Path:
    _check_has_results(out_dir)
    runs = pd.DataFrame(list(latest_by_key(read_records(out_dir)).values()))
    speed = pd.DataFrame(read_records(out_dir, SPEED_FILE))
    manifest = _read_manifest(out_dir)
    sections: list[Section] = []
    if not runs.empty:
        cells = cell_summary(runs)
        _export_summary(cells, out_dir)
        sections += [configuration_section(runs, manifest), budget_section(runs, cells, manifest)]
        sections += [result_section(runs, cells[cells["task"] == name], out_dir) for name in cells["task"].unique()]
        generalisation = length_generalisation(runs)
        if not generalisation.empty:
            sections.append(generalisation_section(runs, generalisation, out_dir))
        sections.append(expectations_section(cells, generalisation))
    gradients = read_gradients(out_dir)
    variants = list(dict.fromkeys(gradients["variant"])) if not gradients.empty else []
    for variant in variants:  # one section per task: curves of different tasks are not averaged together
        named = variant if len(variants) > 1 else None
        sections.append(gradients_section(gradients[gradients["variant"] == variant], out_dir, named))
    if not runs.empty:
        sections.append(training_cost_section(runs, cells, out_dir, figures_too=speed.empty))
    if not speed.empty:
        sections.append(speed_section(speed, out_dir))
    sections.append(failures_section(runs, speed))
    title = f"seqbench report: {out_dir.name}"
    (out_dir / REPORT_MD).write_text(render_markdown(title, sections))
    (out_dir / REPORT_HTML).write_text(render_html(title, sections, out_dir))
    print(f"Report: {out_dir / REPORT_MD} and {out_dir / REPORT_HTML}")
    return out_dir / REPORT_MD


def _check_has_results(out_dir: Path) -> None:
    if not any((out_dir / name).is_file() for name in (RUNS_FILE, SPEED_FILE, GRADIENTS_FILE)):
        raise ConfigError(
            f"dirs: {out_dir} holds no {RUNS_FILE}, {SPEED_FILE} or {GRADIENTS_FILE}; "
            "give a folder written by run, speed or gradients"
        )


def _read_manifest(out_dir: Path) -> dict:
    path = out_dir / MANIFEST_FILE
    return json.loads(path.read_text()) if path.is_file() else {}


def _export_summary(cells: pd.DataFrame, out_dir: Path) -> None:
    cells.to_csv(out_dir / SUMMARY_CSV, index=False, float_format="%.6g")
    if importlib.util.find_spec("pyarrow") is not None:  # the optional `parquet` extra
        cells.to_parquet(out_dir / SUMMARY_PARQUET, index=False)


# ---- sections ----------------------------------------------------------------------------------------


def configuration_section(runs: pd.DataFrame, manifest: dict) -> Section:
    first = runs.iloc[0]
    shas = sorted({f"{sha[:12]}{' (uncommitted changes)' if dirty else ''}" for sha, dirty in _pairs(runs)})
    facts = {
        "task": ", ".join(runs["variant"].unique()),
        "preset": manifest.get("config", {}).get("preset", "unknown (no manifest)"),
        "device": ", ".join(f"{d} ({n})" for d, n in _unique_pairs(runs, "device", "device_name")),
        "torch": ", ".join(map(str, runs["torch"].dropna().unique())) if "torch" in runs else "unknown",
        "threads": ", ".join(map(str, runs["threads"].dropna().unique())) if "threads" in runs else "default",
        "git commit": ", ".join(shas) or "unknown",
        "runs stored": f"{len(runs)} (of {manifest.get('n_runs', len(runs))} planned by the last sweep)",
        "python": str(first.get("python", "unknown")),
    }
    table = pd.DataFrame({"value": facts})
    return Section("Configuration and environment", tables=[("", table)])


def _pairs(runs: pd.DataFrame):
    if "git_sha" not in runs:
        return []
    return [(sha, dirty) for sha, dirty in zip(runs["git_sha"], runs["git_dirty"], strict=True) if isinstance(sha, str)]


def _unique_pairs(runs: pd.DataFrame, a: str, b: str) -> list[tuple]:
    if a not in runs:
        return []
    return list(dict.fromkeys(zip(runs[a], runs.get(b, runs[a]), strict=True)))


BUDGET_KEYS = ["steps", "batch_size", "target_params", "warmup_frac", "weight_decay", "clip_norm", "eval_every",
               "val_size", "test_size"]  # fmt: skip


def budget_section(runs: pd.DataFrame, cells: pd.DataFrame, manifest: dict) -> Section:
    budget = {key: _distinct(runs, key) for key in BUDGET_KEYS}
    budget["learning-rate grid"] = ", ".join(f"{lr:g}" for lr in sorted(runs["lr"].unique()))
    budget["seeds"] = ", ".join(str(s) for s in sorted(runs["seed"].unique()))
    per_model = cells.groupby("model", sort=False).agg(width=("width", "median"), params=("n_params", "median"))
    lrs = cells.pivot_table(index="model", columns="seq_len", values="chosen_lrs", aggfunc="first", sort=False)
    lrs.columns = [f"lr at T={n}" for n in lrs.columns]
    achieved = per_model.join(lrs).reindex(per_model.index)
    text = (
        "Every model gets the same budget: the parameter target (each model's width is solved to meet it "
        "within 5%), steps, batch and learning-rate grid. The learning rate of each model, length and seed "
        "is chosen on validation loss; metrics are on a separate test set."
    )
    return Section(
        "Budget",
        text,
        tables=[("The budget", pd.DataFrame({"value": budget})), ("Achieved size and chosen learning rate", achieved)],
    )


def _distinct(runs: pd.DataFrame, key: str) -> str:
    if key not in runs:
        return "unknown"
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in sorted(runs[key].dropna().unique()))


def result_section(runs: pd.DataFrame, cells: pd.DataFrame, out_dir: Path) -> Section:
    task = task_of(runs[runs["task"] == cells["task"].iloc[0]].iloc[0])
    task_runs = runs[runs["task"] == task.name]
    better = "higher" if task.higher_is_better else "lower"
    text = (
        f"Test {task.primary_metric} ({better} is better), mean ± 95% t-interval over seeds, with the fraction of "
        f"seeds that solved the task ({task.solved_rule}); the baseline is the analytic best trivial predictor. "
        "A cell without figures names the status of its runs (see Failures)."
    )
    name = task.name
    section = Section(f"Results: {task.variant_id}", text)
    section.tables = [
        (f"Test {task.primary_metric}", metric_table(cells, task)),
        ("Steps (and training seconds) to reach the solved threshold on validation; median over solved seeds",
         solve_time_table(cells)),
    ]  # fmt: skip
    figure_dir = out_dir / FIGURES_DIR
    ok_cells = cells[cells["n_seeds"] > 0]
    if not ok_cells.empty:
        path = figures.metric_vs_length(ok_cells, task, figure_dir / f"{name}_metric_vs_length.png")
        section.figures.append((f"Test {task.primary_metric} against length", path))
    curves = chosen_curves(task_runs)
    if not curves.empty:
        path = figures.learning_curves(curves, task, figure_dir / f"{name}_learning_curves.png")
        section.figures.append(("Learning curves", path))
        if curves["seconds"].notna().any():
            path = figures.learning_curves(curves, task, figure_dir / f"{name}_loss_vs_seconds.png", x="seconds")
            section.figures.append(("Validation loss against training seconds", path))
    return section


def expectations_section(cells: pd.DataFrame, generalisation: pd.DataFrame) -> Section:
    table = expectation_table(cells, generalisation)
    if table.empty:
        return Section("Published outcomes", "No published outcome is recorded for these tasks yet.")
    text = (
        "What the literature (REFERENCE.md) says these results should show, and whether this sweep did. "
        "A contradiction is a finding to explain (budget, seeds, a bug), not a number to tune away."
    )
    return Section("Published outcomes", text, tables=[("", table)])


def generalisation_section(runs: pd.DataFrame, results: pd.DataFrame, out_dir: Path) -> Section:
    section = Section(
        "Length generalisation",
        "Each model, trained at length T, tested at longer lengths (--eval-lengths) with no further training: the "
        "test metric, mean over seeds, at each tested length / trained length. A status names a length that failed.",
    )
    for name in results["task"].unique():
        task = task_of(runs[runs["task"] == name].iloc[0])
        rows = results[results["task"] == name]
        section.tables.append((f"{task.variant_id}: test {task.primary_metric}", generalisation_table(rows)))
        if rows["value"].notna().any():
            path = figures.metric_vs_length_ratio(
                rows, task, out_dir / FIGURES_DIR / f"{name}_length_generalisation.png"
            )
            section.figures.append(("Length generalisation", path))
    return section


def generalisation_table(rows: pd.DataFrame) -> pd.DataFrame:
    def cell(group: pd.DataFrame) -> str:
        ok = group[group["status"] == "ok"]
        return f"{ok['value'].mean():.4g}" if len(ok) else ", ".join(sorted(set(group["status"])))

    texts = rows.groupby(["model", "seq_len", "ratio"], sort=False).apply(cell, include_groups=False)
    table = texts.unstack(["seq_len", "ratio"])
    table.columns = [f"T={n} ×{r:g}" for n, r in table.columns]
    order = sorted(dict.fromkeys(rows["model"]), key=_registry_order)
    return table.reindex(columns=sorted(table.columns, key=_column_order)).reindex(order)


def _registry_order(model: str) -> int:
    """Models in the registry's order, as in every other table and legend."""
    names = list(models.MODELS)
    return names.index(model) if model in names else len(names)


def _column_order(column: str) -> tuple[int, float]:
    length, ratio = column.removeprefix("T=").split(" ×")
    return int(length), float(ratio)


def metric_table(cells: pd.DataFrame, task) -> pd.DataFrame:
    table = _by_model_and_length(cells, _metric_cell)
    baseline = {f"T={n}": f"{task.baseline(n)[task.primary_metric]:.4g}" for n in sorted(cells["seq_len"].unique())}
    return pd.concat([table, pd.DataFrame({"baseline": baseline}).T])


def _metric_cell(cell: pd.Series) -> str:
    if cell["n_seeds"] == 0:
        return cell["statuses"]
    ci = f" ± {cell['metric_ci95']:.2g}" if pd.notna(cell["metric_ci95"]) else ""
    solved = round(cell["solved_frac"] * cell["n_seeds"])
    return f"{cell['metric_mean']:.4g}{ci} ({solved}/{cell['n_seeds']} solved)"


def solve_time_table(cells: pd.DataFrame) -> pd.DataFrame:
    def text(cell: pd.Series) -> str:
        if cell["n_seeds"] == 0:
            return cell["statuses"]
        if pd.isna(cell["steps_to_solve"]):
            return "not solved"
        seconds = f" ({cell['seconds_to_solve']:.1f} s)" if pd.notna(cell["seconds_to_solve"]) else ""
        return f"{cell['steps_to_solve']:.0f}{seconds}"

    return _by_model_and_length(cells, text)


def _by_model_and_length(cells: pd.DataFrame, cell_text) -> pd.DataFrame:
    texts = cells.assign(text=cells.apply(cell_text, axis=1))
    table = texts.pivot_table(index="model", columns="seq_len", values="text", aggfunc="first", sort=False)
    table.columns = [f"T={n}" for n in table.columns]
    return table.reindex(list(dict.fromkeys(cells["model"])))


GRADIENTS_TEXT = (
    "`python -m bench gradients`: the norm of the final output's loss gradient with respect to the backbone's "
    "input at each step, against its distance from that output (the mean over {n} test sequences), for each "
    "model at initialisation and trained. A vanishing gradient decays exponentially with distance: a straight "
    "line on the log scale. Decades lost per 100 steps: the fitted slope; R² near 1: the decay is exponential; "
    "reach: log10 of the gradient over the farthest tenth of the sequence over that of the nearest tenth "
    "(distance 0, the direct path from a step's input to its own output, left out); clipped steps: the share of "
    "the trained run's steps whose gradient norm was clipped. Computed in float64, so a decay below float32's "
    "range is still measured. The literature expects exponential decay for the tanh RNN (Bengio et al. 1994; "
    "Pascanu et al. 2013), far slower decay for the gated LSTM and GRU once trained, and no decay for the SSM "
    "and attention, which reach every step in one hop."
)


def gradients_section(gradients: pd.DataFrame, out_dir: Path, variant: str | None = None) -> Section:
    """One task's curves; ``variant`` names the task when the folder holds several."""
    n = " or ".join(str(size) for size in sorted(set(gradients["n_sequences"])))
    verdicts = [f"- {v['claim']}: **{v['verdict']}** ({v['evidence']})" for v in gradient_verdicts(gradients)]
    failed = gradients[gradients["status"] != "ok"]
    failures = [f"- {r.model} T={r.seq_len} {r.state}: {r.status}, {r.error}" for r in failed.itertuples()]
    text = "\n\n".join(part for part in [GRADIENTS_TEXT.format(n=n), "\n".join(verdicts), "\n".join(failures)] if part)
    title = "Gradient flow through time" + (f": {variant}" if variant else "")
    section = Section(title, text, tables=[("", gradient_table(gradients))])
    curves = gradient_curves(gradients)
    if not curves.empty:
        name = f"gradient_flow_{variant.split('/')[0]}.png" if variant else "gradient_flow.png"
        path = figures.gradient_flow(curves, out_dir / FIGURES_DIR / name)
        section.figures.append(("Gradient norm against distance from the scored output", path))
    return section


def training_cost_section(runs: pd.DataFrame, cells: pd.DataFrame, out_dir: Path, figures_too: bool) -> Section:
    def text(cell: pd.Series) -> str:
        if pd.isna(cell["train_step_ms"]):
            return cell["statuses"]
        memory = f", {cell['peak_mem_mb']:.0f} MB" if pd.notna(cell["peak_mem_mb"]) else ""
        throughput = f", {cell['train_tokens_per_s']:,.0f} tok/s" if pd.notna(cell["train_tokens_per_s"]) else ""
        return f"{cell['train_step_ms']:.1f} ms{throughput}{memory}"

    section = Section(
        "Training cost at the trained lengths",
        _concurrency_warning(runs) + "Median training step time, training throughput and peak memory of the chosen "
        "runs (peak memory: growth of the run process's resident set on CPU, allocated bytes on GPU). "
        "`python -m bench speed` measures the same at longer lengths, with inference and streaming.",
        tables=[(f"{', '.join(runs['variant'].unique())}: step time, throughput, peak memory", _cost(cells, text))],
    )
    if figures_too:
        costs = _training_costs(select_best_lr(runs))
        section.figures += _cost_figures(costs, out_dir, "training runs", "task length T")
    return section


def _concurrency_warning(runs: pd.DataFrame) -> str:
    most = runs["concurrent_runs"].max() if "concurrent_runs" in runs else 1
    if pd.isna(most) or most <= 1:
        return ""
    return (
        f"**Timings were taken with up to {most:.0f} runs at once (--workers)**: they share the machine and are "
        "not those of a run alone; rerun with --workers 1 for timings to quote. "
    )


def _cost(cells: pd.DataFrame, text) -> pd.DataFrame:
    tables = [_by_model_and_length(cells[cells["task"] == t], text) for t in cells["task"].unique()]
    return pd.concat(tables) if len(tables) > 1 else tables[0]


def _training_costs(best: pd.DataFrame) -> pd.DataFrame:
    """The runs' own measurements, shaped like speed rows: label, mode, seq_len, tokens_per_s, peak_mem_mb."""
    best = best.reindex(columns=["model", "seq_len", "train_tokens_per_s", "infer_tokens_per_s", "peak_mem_mb"])
    train = best.assign(mode="train", label=best["model"], tokens_per_s=best["train_tokens_per_s"])
    infer = best.assign(mode="infer", label=best["model"], tokens_per_s=best["infer_tokens_per_s"], peak_mem_mb=None)
    return pd.concat([train, infer])[["label", "mode", "seq_len", "tokens_per_s", "peak_mem_mb"]]


def speed_section(speed: pd.DataFrame, out_dir: Path) -> Section:
    speed = with_labels(speed)
    first = speed.iloc[0]
    text = (
        f"`python -m bench speed` on {first.get('device', '?')} ({first.get('device_name', '?')}), batch "
        f"{first.get('batch_size', '?')}, about {first.get('params', '?')} parameters, precision "
        f"{first.get('precision', 'fp32')}, threads {first.get('threads') or 'default'}: each configuration in "
        "its own process, one warm-up call, median and interquartile range of the timed repeats."
    )
    sampled = speed["mode"] == "generate"
    if sampled.any():
        text += SAMPLING_TEXT
    section = Section("Speed and memory against length", text, tables=speed_tables(speed))
    ok = speed[(speed["status"] == "ok") & ~sampled]
    if not ok.empty:
        section.figures += _cost_figures(ok, out_dir, "bench speed", "sequence length L")
    generated = speed[(speed["status"] == "ok") & sampled]
    if not generated.empty:
        path = figures.sampling_cost(generated, out_dir / FIGURES_DIR / "sampling.png")
        section.figures.append(("Sampling cost against generated length", path))
    return section


SAMPLING_TEXT = (
    " Sampling (--generate): after a short random prompt, each model samples tokens one at a time through its "
    "streaming step, each token fed back in. A recurrent model or the SSM carries a state of fixed size, so its "
    "cost per token should stay flat; the Transformer attends over a key/value cache that grows by one step per "
    "token, so its cost per token grows with the generated length. Weights are freshly initialised unless "
    "the table says trained (--from): the cost of a step does not depend on the weights' values."
)


def _cost_figures(costs: pd.DataFrame, out_dir: Path, source: str, x_label: str) -> list[tuple[str, Path]]:
    found = []
    figure_dir = out_dir / FIGURES_DIR
    throughput = costs.dropna(subset=["tokens_per_s"])
    if not throughput.empty:
        title = f"Throughput against length ({source}); higher is better"
        path = figures.cost_vs_length(
            throughput, "tokens_per_s", "tokens / s", figure_dir / "throughput.png", title, x_label
        )
        found.append(("Throughput against length", path))
    memory = costs.dropna(subset=["peak_mem_mb"])
    memory = memory[memory["peak_mem_mb"] > 0]
    if not memory.empty:
        title = f"Peak memory against length ({source}); lower is better"
        path = figures.cost_vs_length(
            memory, "peak_mem_mb", "peak memory, MB", figure_dir / "memory.png", title, x_label
        )
        found.append(("Peak memory against length", path))
    return found


FAILURE_COLUMNS = ["source", "model", "seq_len", "seed", "lr", "mode", "status", "error"]


def failures_section(runs: pd.DataFrame, speed: pd.DataFrame) -> Section:
    frames = []
    for source, frame in (("run", runs), ("speed", speed)):
        if not frame.empty and "status" in frame:
            failed = frame[frame["status"] != "ok"].assign(source=source)
            if "label" in failed:
                failed = failed.assign(model=failed["label"].fillna(failed["model"]))
            frames.append(failed.reindex(columns=FAILURE_COLUMNS))
    failures = pd.concat(frames) if frames else pd.DataFrame(columns=FAILURE_COLUMNS)
    if failures.empty:
        return Section("Failures", "None: every run and configuration finished.")
    failures = failures.assign(error=failures["error"].fillna("").map(lambda e: e[:ERROR_CHARS]))
    failures = failures.dropna(axis=1, how="all").sort_values(["source", "model", "seq_len"])
    text = (
        f"{len(failures)} failed or skipped (oom: out of memory; diverged: non-finite loss; timeout; error: an "
        "exception; skipped: not attempted because a shorter length of the same model failed; unavailable: the model "
        "cannot do this, e.g. sample without streaming). Kept, never dropped."
    )
    return Section("Failures", text, tables=[("", failures.reset_index(drop=True))])


# ---- rendering -------------------------------------------------------------------------------------------


def render_markdown(title: str, sections: list[Section]) -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.text:
            lines += [section.text, ""]
        for caption, table in section.tables:
            if caption:
                lines += [f"**{caption}**", ""]
            lines += [table.to_markdown(floatfmt=".4g", index=_has_labels(table)), ""]
        for caption, path in section.figures:
            lines += [f"![{caption}]({FIGURES_DIR}/{path.name})", ""]
    return "\n".join(lines)


def _has_labels(table: pd.DataFrame) -> bool:
    """Row labels worth a column (models, fields), not 0, 1, 2, ..."""
    return not isinstance(table.index, pd.RangeIndex)


HTML_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}th{background:#f3f3f3}"
    "img{max-width:100%;margin:.5em 0 1.5em}"
)


def render_html(title: str, sections: list[Section], out_dir: Path) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
             f"<style>{HTML_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]  # fmt: skip
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.text:
            parts.append(f"<p>{html.escape(section.text)}</p>")
        for caption, table in section.tables:
            if caption:
                parts.append(f"<p><b>{html.escape(caption)}</b></p>")
            parts.append(table.to_html(na_rep="", float_format=lambda v: f"{v:.4g}", index=_has_labels(table)))
        for caption, path in section.figures:
            encoded = base64.b64encode((out_dir / FIGURES_DIR / path.name).read_bytes()).decode()
            parts.append(f"<img alt='{html.escape(caption)}' src='data:image/png;base64,{encoded}'>")
    parts.append("</body></html>")
    return "\n".join(parts)
