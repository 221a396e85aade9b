"""The report's sections on training runs: configuration, budget, results, length generalisation, published
outcomes and training cost."""

from __future__ import annotations

import pandas as pd

from bench.analysis.cells import PARAM_PARTS, chosen_curves
from bench.analysis.facts import TaskFacts, task_facts
from bench.analysis.selection import ordered, select_best_lr
from bench.report import figures
from bench.report.document import ReportContext, Section
from bench.report.provenance import commits
from bench.report.tables import by_model_and_length, cost_figures, distinct
from bench.store.jsonl import latest_invocation


def configuration_section(runs: pd.DataFrame, manifest: dict) -> Section:
    first = runs.iloc[0]
    last = latest_invocation(manifest, command="run") or latest_invocation(manifest)
    facts = {
        "task": ", ".join(runs["variant"].unique()),
        "preset": last.get("config", {}).get("preset") or ("unknown (no manifest)" if not last else "none"),
        "device": ", ".join(f"{d} ({n})" for d, n in _unique_pairs(runs, "device", "device_name")),
        "torch": ", ".join(map(str, runs["torch"].dropna().unique())) if "torch" in runs else "unknown",
        "threads": ", ".join(map(str, runs["threads"].dropna().unique())) if "threads" in runs else "default",
        "numerics": distinct(runs, "numerics_in_effect") if "numerics_in_effect" in runs else "not recorded",
        "git commit": ", ".join(commits(runs)) or "unknown",
        "runs stored": f"{len(runs)} (of {last.get('n_runs', len(runs))} planned by the last sweep)",
        "python": str(first.get("python", "unknown")),
    }
    return Section("Configuration and environment", tables=[("", pd.DataFrame({"value": facts}))])


def _unique_pairs(runs: pd.DataFrame, a: str, b: str) -> list[tuple]:
    if a not in runs:
        return []
    return list(dict.fromkeys(zip(runs[a], runs.get(b, runs[a]), strict=True)))


BUDGET_KEYS = ["steps", "batch_size", "target_params", "warmup_frac", "weight_decay", "clip_norm", "eval_every",
               "val_size", "test_size"]  # fmt: skip


def budget_section(runs: pd.DataFrame, cells: pd.DataFrame) -> Section:
    budget = {key: distinct(runs, key) for key in BUDGET_KEYS}
    budget["learning-rate grid"] = ", ".join(f"{lr:g}" for lr in sorted(runs["lr"].unique()))
    budget["seeds"] = ", ".join(str(s) for s in sorted(runs["seed"].unique()))
    sizes = {"width": ("width", "median"), "params": ("n_params", "median")}
    recorded = [part for part in PARAM_PARTS if f"params_{part}" in cells and cells[f"params_{part}"].notna().any()]
    sizes.update({part: (f"params_{part}", "median") for part in recorded})
    per_model = cells.groupby("model", sort=False).agg(**sizes).round().astype("Int64")  # counts: whole numbers
    rates = cells.assign(chosen_lr=cells["chosen_lr"].map(lambda v: "" if pd.isna(v) else f"{v:g}"))  # none: blank
    lrs = rates.pivot_table(index="model", columns="seq_len", values="chosen_lr", aggfunc="first", sort=False)
    lrs.columns = [f"lr at T={n}" for n in lrs.columns]
    achieved = per_model.join(lrs).reindex(per_model.index)
    text = (
        "Every model gets the same budget: the parameter target (each model's width is solved to meet it "
        "within 5%), steps, batch and learning-rate grid. One learning rate serves every seed of a model and "
        "length: the rate with the fewest unfinished seeds, then the lowest mean validation loss over the seeds; "
        "metrics are on a separate test set. Parameters are split into the "
        "shared embedding (or input projection), the family's own core, and the shared head: a large "
        "vocabulary can leave a small core. Options that change how a model trains (the SSM's S4D recipe) "
        "are part of its options, listed in the records and by `python -m bench list`."
    )
    return Section(
        "Budget",
        text,
        tables=[("The budget", pd.DataFrame({"value": budget})), ("Achieved size and chosen learning rate", achieved)],
    )


def result_section(runs: pd.DataFrame, cells: pd.DataFrame, context: ReportContext) -> Section:
    """One task's results; ``cells`` are that task's."""
    task = task_facts(runs, cells["task"].iloc[0])
    task_runs = runs[runs["task"] == task.name]
    better = "higher" if task.higher_is_better else "lower"
    secondary = f", with the {task.secondary} beside it" if task.secondary else ""
    strict = f", and how many met the strict bar ({task.strict_rule})" if task.strict_rule else ""
    text = (
        f"Test {task.metric} ({better} is better){secondary}: the mean over seeds and its 95% t interval with 3 "
        "seeds or more (cut to the values the metric can take), else each seed's value; how many seeds solved the "
        f"task ({task.solved_rule}), with the exact 95% interval of that fraction{strict}. The baseline is the "
        "analytic best trivial predictor. A cell without figures names the status of its runs (see Failures)."
    )
    section = Section(f"Results: {task.variant}", text)
    section.tables = [
        (f"Test {task.metric}", metric_table(cells, task)),
        ("Steps (and training seconds) to reach the solved threshold on validation: the median over every seed, "
         "a seed that never solved counting as past the budget (> steps)", solve_time_table(cells)),
    ]  # fmt: skip
    order = context.model_order
    ok_cells = cells[cells["n_seeds"] > 0]
    if not ok_cells.empty:
        section.figures.append(context.figure(
            f"Test {task.metric} against length", f"{task.name}_metric_vs_length.png",
            lambda path: figures.metric_vs_length(ok_cells, task, path, order),
        ))  # fmt: skip
    curves = chosen_curves(task_runs)
    if not curves.empty:
        section.figures.append(context.figure(
            "Learning curves", f"{task.name}_learning_curves.png",
            lambda path: figures.learning_curves(curves, task, path, order=order),
        ))  # fmt: skip
        if curves["seconds"].notna().any():
            section.figures.append(context.figure(
                "Validation loss against training seconds", f"{task.name}_loss_vs_seconds.png",
                lambda path: figures.learning_curves(curves, task, path, x="seconds", order=order),
            ))  # fmt: skip
    return section


def metric_table(cells: pd.DataFrame, task: TaskFacts) -> pd.DataFrame:
    table = by_model_and_length(cells, _metric_cell)
    baseline = {f"T={n}": f"{task.baseline(n):.4g}" for n in sorted(cells["seq_len"].unique())}
    return pd.concat([table, pd.DataFrame({"baseline": baseline}).T])


def _metric_cell(cell: pd.Series) -> str:
    """The mean and its 95% interval with three seeds or more, else each seed's value; the secondary metric
    where the task has one; the solved count with its exact 95% interval, and the strict tier's count."""
    if cell["n_finished"] == 0:
        return cell["statuses"]
    if pd.notna(cell.get("metric_low")):
        value = interval_text(cell["metric_mean"], cell["metric_low"], cell["metric_high"])
    else:
        value = f"seeds: {cell['metric_values']}"
    secondary = [c for c in cell.index if c.endswith("_mean") and c != "metric_mean"]
    if secondary and pd.notna(cell.get(secondary[0])):
        value += f", {secondary[0].removesuffix('_mean')[:3]} {cell[secondary[0]]:.2f}"
    solved, seeds = int(cell["n_solved"]), int(cell["n_planned"])
    share = f"{solved}/{seeds} solved ({cell['solved_low']:.0%}–{cell['solved_high']:.0%})"
    strict = f", strict {int(cell['solved_strict'])}/{seeds}" if pd.notna(cell.get("solved_strict")) else ""
    finished = f"; {int(cell['n_finished'])} of {seeds} seeds finished" if cell["n_finished"] < seeds else ""
    return f"{value}; {share}{strict}{finished}"


def interval_text(mean: float, low: float, high: float) -> str:
    """``mean [low, high]`` with as many significant digits as it takes for the three to read apart (an
    interval that straddles 0.99 never prints as [0.99, 0.99])."""
    for digits in range(3, 8):
        texts = [f"{v:.{digits}g}" for v in (mean, low, high)]
        if low == high or len({texts[1], texts[2]}) == 2 and (mean in (low, high) or len(set(texts)) == 3):
            break
    return f"{texts[0]} [{texts[1]}, {texts[2]}]"


def solve_time_table(cells: pd.DataFrame) -> pd.DataFrame:
    def text(cell: pd.Series) -> str:
        if cell["n_finished"] == 0:
            return cell["statuses"]
        if cell["steps_censored"]:
            return f"> {cell['steps_to_solve']:.0f}"
        seconds = f" ({cell['seconds_to_solve']:.1f} s)" if pd.notna(cell["seconds_to_solve"]) else ""
        return f"{cell['steps_to_solve']:.0f}{seconds}"

    return by_model_and_length(cells, text)


def verdicts_section(verdicts: pd.DataFrame) -> Section:
    """The published claims against this folder's cells, one row per claim and comparison setting."""
    if verdicts.empty:
        return Section("Published outcomes", "No published outcome speaks about these tasks and variants.")
    text = (
        "What the literature says these results should show (docs/published-outcomes.md), and whether this "
        "folder does. Each claim is two one-sided tests at the 5% level, one for the claim and one for its opposite "
        "(docs/verdicts.md): solved counts by Boschloo's exact test or the exact binomial test, metrics by a "
        "permutation test over seeds, \"at the baseline\" by an equivalence test (TOST) within a stated band; "
        "lengths combined by Fisher's method, several rivals or controls by Holm's correction. Every planned seed "
        "counts: one without a finished run counts as not solved. Runs of different budgets are never compared: a "
        "folder of several budgets gets a verdict per budget. An unclear verdict says how many seeds would decide "
        "it at the effect seen. All of it, with p-values and effects, is in verdicts.csv."
    )
    shown = verdicts.assign(p=verdicts["p_value"].map(lambda p: "" if pd.isna(p) else f"{p:.2g}"))
    columns = {"task": "task", "claim": "published outcome", "source": "source", "verdict": "here", "p": "p",
               "reason": "evidence"}  # fmt: skip
    if shown["budget"].nunique() > 1:
        columns = {"budget": "budget", **columns}
        text += f" **This folder holds {shown['budget'].nunique()} budgets; each is judged on its own.**"
    return Section("Published outcomes", text, tables=[("", shown[list(columns)].rename(columns=columns))])


def budget_text(runs: pd.DataFrame) -> str:
    """The budget behind a verdict, in a few words."""
    seeds = runs["seed"].nunique() if "seed" in runs else 0
    lrs = ", ".join(f"{lr:g}" for lr in sorted(runs["lr"].dropna().unique())) if "lr" in runs else "?"
    plural = "s" if seeds != 1 else ""
    size = distinct(runs, "target_params")
    return f"{seeds} seed{plural}, {distinct(runs, 'steps')} steps, {size} parameters, lr {lrs}"


def generalisation_section(runs: pd.DataFrame, results: pd.DataFrame, context: ReportContext) -> Section:
    section = Section(
        "Length generalisation",
        "Each model, trained at length T, tested at longer lengths (--eval-lengths) with no further training: the "
        "test metric, mean over seeds, at each tested length / trained length. A status names a length that failed.",
    )
    for name in results["task"].unique():
        task = task_facts(runs, name)
        rows = results[results["task"] == name]
        section.tables.append((f"{task.variant}: test {task.metric}", generalisation_table(rows, context.model_order)))
        if rows["value"].notna().any():
            section.figures.append(context.figure(
                "Length generalisation", f"{name}_length_generalisation.png",
                lambda path, rows=rows, task=task: figures.metric_vs_length_ratio(
                    rows, task, path, context.model_order
                ),
            ))  # fmt: skip
    return section


def generalisation_table(rows: pd.DataFrame, model_order: list[str] | None = None) -> pd.DataFrame:
    def cell(group: pd.DataFrame) -> str:
        ok = group[group["status"] == "ok"]
        return f"{ok['value'].mean():.4g}" if len(ok) else ", ".join(sorted(set(group["status"])))

    texts = rows.groupby(["model", "seq_len", "ratio"], sort=False).apply(cell, include_groups=False)
    table = texts.unstack(["seq_len", "ratio"])
    table.columns = [f"T={n} ×{r:g}" for n, r in table.columns]
    return table.reindex(columns=sorted(table.columns, key=_column_order)).reindex(ordered(rows["model"], model_order))


def _column_order(column: str) -> tuple[int, float]:
    length, ratio = column.removeprefix("T=").split(" ×")
    return int(length), float(ratio)


def training_cost_section(
    runs: pd.DataFrame, cells: pd.DataFrame, context: ReportContext, figures_too: bool
) -> Section:
    def text(cell: pd.Series) -> str:
        if pd.isna(cell["train_step_ms"]):
            return cell["statuses"]
        memory = f", {cell['peak_mem_mb']:.0f} MB" if pd.notna(cell["peak_mem_mb"]) else ""
        throughput = f", {cell['train_tokens_per_s']:,.0f} tok/s" if pd.notna(cell["train_tokens_per_s"]) else ""
        return f"{cell['train_step_ms']:.1f} ms{throughput}{memory}"

    tables = [by_model_and_length(cells[cells["task"] == t], text) for t in cells["task"].unique()]
    section = Section(
        "Training cost at the trained lengths",
        _concurrency_warning(runs) + "Median training step time, training throughput and peak memory of the chosen "
        "runs (peak memory: growth of the run process's resident set on CPU, allocated bytes on GPU). "
        "`python -m bench speed` measures the same at longer lengths, with inference and streaming.",
        tables=[(f"{', '.join(runs['variant'].unique())}: step time, throughput, peak memory", pd.concat(tables))],
    )
    if figures_too:
        costs = _training_costs(select_best_lr(runs))
        section.figures += cost_figures(costs, context, "training runs", "task length T")
    return section


def _concurrency_warning(runs: pd.DataFrame) -> str:
    most = runs["concurrent_runs"].max() if "concurrent_runs" in runs else 1
    if pd.isna(most) or most <= 1:
        return ""
    return (
        f"**Timings were taken with up to {most:.0f} runs at once (--workers)**: they share the machine and are "
        "not those of a run alone; rerun with --workers 1 for timings to quote. "
    )


def _training_costs(best: pd.DataFrame) -> pd.DataFrame:
    """The runs' own measurements, shaped like speed rows: label, mode, seq_len, tokens_per_s, peak_mem_mb."""
    best = best.reindex(columns=["model", "seq_len", "train_tokens_per_s", "infer_tokens_per_s", "peak_mem_mb"])
    train = best.assign(mode="train", label=best["model"], tokens_per_s=best["train_tokens_per_s"])
    infer = best.assign(mode="infer", label=best["model"], tokens_per_s=best["infer_tokens_per_s"], peak_mem_mb=None)
    return pd.concat([train, infer])[["label", "mode", "seq_len", "tokens_per_s", "peak_mem_mb"]]
