"""The report's figures: seaborn's classic API on the Agg backend, one PNG each.

Every figure colours a model the same way (its place in the model order the caller gives: the
registry's), puts sequence length on a log2 axis with a tick at each measured length, and draws
the references a reader needs to judge a curve: the analytic baseline and the solved threshold.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, same output everywhere

import matplotlib.pyplot as plt  # noqa: E402 - after the backend is chosen
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullLocator  # noqa: E402

from bench.analysis.facts import TaskFacts  # noqa: E402

DPI = 130
COLOURS = 10


def palette(labels: list[str], order: list[str] | None = None) -> dict[str, tuple]:
    """A colour per label, fixed by ``order`` (the model registry's) so a model looks the same in every figure.

    Ordered as ``order`` (then other labels, such as bare modules, as they come, in the colours after
    it): pass ``hue_order=list(palette)`` so legends list the models in the same order everywhere.
    """
    colours = sns.color_palette("colorblind", COLOURS)
    order = order or list(dict.fromkeys(labels))
    present = set(labels)
    extras = [label for label in dict.fromkeys(labels) if label not in order]
    mapping = {name: colours[i % COLOURS] for i, name in enumerate(order) if name in present}
    mapping.update({label: colours[(len(order) + i) % COLOURS] for i, label in enumerate(extras)})
    return mapping


def log2_lengths(ax: plt.Axes, lengths: list, label: str, texts: list[str] | None = None) -> None:
    """A log2 x axis with a tick at each measured value (written as ``texts``, default the values), no minor ticks."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(lengths, texts if texts is not None else [str(n) for n in lengths])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(label)


def log_y(ax: plt.Axes) -> None:
    """Log scale with ticks written as plain numbers (40, not 4 x 10^1). Call it after plotting: the minor ticks
    labelled depend on the span drawn: every one within a decade (or a flat line may have no label near it),
    2 and 5 within two, none beyond."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    low, high = ax.get_ylim()
    digits = "123456789" if high / low < 10 else "25" if high / low < 100 else ""  # past 2 decades: majors only

    def minor(value: float, _) -> str:
        written = f"{value:g}"
        return written if f"{value:e}"[0] in digits else ""  # the leading digit, for 0.2 as for 20

    ax.yaxis.set_minor_formatter(FuncFormatter(minor))


def _save(fig: plt.Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def metric_vs_length(cells: pd.DataFrame, task: TaskFacts, path: Path, order: list[str] | None = None) -> Path:
    """Test metric (mean over seeds, 95% t interval where there are 3 seeds or more) per model against length, with
    the baseline and the solved threshold."""
    lengths = sorted(cells["seq_len"].unique())
    colours = palette(list(cells["model"]), order)
    with sns.axes_style("whitegrid"):
        fig, ax = plt.subplots(figsize=(7, 4.2))
        sns.lineplot(
            cells,
            x="seq_len",
            y="metric_mean",
            hue="model",
            palette=colours,
            hue_order=list(colours),
            marker="o",
            ax=ax,
        )
        for model, group in cells.groupby("model", sort=False):
            low, high = group["metric_mean"] - group["metric_low"], group["metric_high"] - group["metric_mean"]
            ax.errorbar(group["seq_len"], group["metric_mean"], yerr=[low, high], fmt="none",
                        ecolor=colours[model], capsize=3)  # fmt: skip
        metric = task.metric
        ax.plot(lengths, [task.baseline(n) for n in lengths], "--", color="0.35", label="baseline (analytic)")
        ax.axhline(task.solved_threshold, ls=":", color="0.2", label=f"solved: {task.solved_rule}")
        if not task.higher_is_better:
            log_y(ax)  # a loss: orders of magnitude separate solved from not
        log2_lengths(ax, lengths, "sequence length T")
        ax.set_ylabel(f"test {metric}")
        ax.set_title(f"{task.variant}: test {metric} against length ({task.better})")
        ax.legend(bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
        return _save(fig, path)


def learning_curves(
    curves: pd.DataFrame, task: TaskFacts, path: Path, x: str = "step", order: list[str] | None = None
) -> Path:
    """Validation loss against ``x`` (``step`` or ``seconds``), one panel per length, mean over seeds."""
    lengths = sorted(curves["seq_len"].unique())
    colours = palette(list(curves["model"]), order)
    with sns.axes_style("whitegrid"):
        grid = sns.relplot(
            curves, x=x, y="val_loss", hue="model", col="seq_len", col_wrap=min(len(lengths), 4), kind="line",
            palette=colours, hue_order=list(colours), errorbar=None, height=3.0, aspect=1.25,
            facet_kws={"sharey": False, "sharex": x == "step"},
        )  # fmt: skip
        for seq_len, ax in grid.axes_dict.items():
            ax.axhline(task.baseline(seq_len, "loss"), ls="--", color="0.35", lw=1)
            log_y(ax)
            ax.set_title(f"T = {seq_len}")
        grid.set_axis_labels("training step" if x == "step" else "training seconds", "validation loss")
        view = "step" if x == "step" else "training seconds (the equal-compute view)"
        grid.figure.suptitle(f"{task.variant}: validation loss against {view}; dashed: baseline", y=1.03)
        return _save(grid.figure, path)


def cost_vs_length(
    costs: pd.DataFrame, column: str, label: str, path: Path, title: str, x_label: str, order: list[str] | None = None
) -> Path:
    """A cost against length on log-log axes, one panel per mode (train, infer), one line per label."""
    lengths = sorted(costs["seq_len"].unique())
    colours = palette(list(costs["label"]), order)
    with sns.axes_style("whitegrid"):
        grid = sns.relplot(
            costs.assign(model=costs["label"]), x="seq_len", y=column, hue="model", col="mode", kind="line",
            marker="o", palette=colours, hue_order=list(colours), height=3.6, aspect=1.2, errorbar=None,
        )  # fmt: skip
        for mode, ax in grid.axes_dict.items():
            log_y(ax)
            log2_lengths(ax, lengths, x_label)
            ax.set_title(mode)
        grid.set_axis_labels(x_label, label)
        grid.figure.suptitle(title, y=1.08)
        return _save(grid.figure, path)


def sampling_cost(rows: pd.DataFrame, path: Path, order: list[str] | None = None) -> Path:
    """Sampling: ms per token and tokens/s against generated length (log2 x, log y), one line per model."""
    lengths = sorted(rows["seq_len"].unique())
    colours = palette(list(rows["label"]), order)
    panels = [("token_ms", "ms per token (median)", "latency of a token near n; lower is better"),
              ("tokens_per_s", "tokens / s (all sequences)", "throughput up to n; higher is better")]  # fmt: skip
    with sns.axes_style("whitegrid"):
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.9), layout="constrained")
        for ax, (column, label, title) in zip(axes, panels, strict=True):
            sns.lineplot(
                rows.assign(model=rows["label"]), x="seq_len", y=column, hue="model", palette=colours,
                hue_order=list(colours), marker="o", errorbar=None, legend=ax is axes[-1], ax=ax,
            )  # fmt: skip
            log_y(ax)
            log2_lengths(ax, lengths, "generated length n (tokens)")
            ax.set_ylabel(label)
            ax.set_title(title)
        axes[-1].legend(bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)
        fig.suptitle("Sampling cost against generated length (each token sampled, then fed back)")
        return _save(fig, path)


def gradient_flow(curves: pd.DataFrame, path: Path, order: list[str] | None = None) -> Path:
    """Loss-gradient norm against distance from the scored output (log y): a column per state (at initialisation,
    trained), a row per task length, one line per model (mean over seeds). Exponential decay is a straight line."""
    colours = palette(list(curves["model"]), order)
    states = [state for state in ("init", "trained") if state in set(curves["state"])]
    with sns.axes_style("whitegrid"):
        grid = sns.relplot(
            curves, x="distance", y="grad_norm", hue="model", hue_order=list(colours), palette=colours,
            col="state", col_order=states, row="T", kind="line", errorbar=None, height=2.8, aspect=1.5,
            facet_kws={"sharex": "row", "sharey": "row", "margin_titles": False},
        )  # fmt: skip
        for ax in grid.axes.flat:
            log_y(ax)
        grid.set_titles("{col_name}, T = {row_name}")
        grid.set_axis_labels("distance from the scored output (steps)", "gradient norm")
        grid.figure.suptitle("How far back the final output's loss gradient reaches", y=1.02)
        return _save(grid.figure, path)


def metric_vs_length_ratio(results: pd.DataFrame, task: TaskFacts, path: Path, order: list[str] | None = None) -> Path:
    """Test metric against tested / trained length (log2), one panel per trained length, mean over seeds."""
    ratios = sorted(results["ratio"].unique())
    colours = palette(list(results["model"]), order)
    metric = task.metric
    with sns.axes_style("whitegrid"):
        grid = sns.relplot(
            results, x="ratio", y="value", hue="model", col="seq_len", kind="line", marker="o", palette=colours,
            hue_order=list(colours), errorbar=None, height=3.2, aspect=1.2,
        )  # fmt: skip
        for seq_len, ax in grid.axes_dict.items():
            ax.axhline(task.baseline(seq_len), ls="--", color="0.35", lw=1)
            log2_lengths(ax, ratios, "", texts=[f"{r:g}x" for r in ratios])
            if not task.higher_is_better:
                log_y(ax)
            ax.set_title(f"trained at T = {seq_len}")
        grid.set_axis_labels("tested length / trained length", f"test {metric}")
        grid.figure.suptitle(f"{task.variant}: length generalisation ({task.better}); dashed: baseline", y=1.06)
        return _save(grid.figure, path)
