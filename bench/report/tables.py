"""Table and figure helpers shared by the report's sections."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bench.report import figures
from bench.report.document import Figure, ReportContext


def by_model_and_length(cells: pd.DataFrame, cell_text: Callable[[pd.Series], str]) -> pd.DataFrame:
    """Rows: models as first stored; columns: T=length; cells: ``cell_text`` of each cell."""
    texts = cells.assign(text=cells.apply(cell_text, axis=1))
    table = texts.pivot_table(index="model", columns="seq_len", values="text", aggfunc="first", sort=False)
    table.columns = [f"T={n}" for n in table.columns]
    return table.reindex(list(dict.fromkeys(cells["model"])))


def distinct(frame: pd.DataFrame, key: str) -> str:
    """The distinct values of a column, sorted, as text."""
    if key not in frame:
        return "unknown"
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in sorted(frame[key].dropna().unique()))


def cost_figures(costs: pd.DataFrame, context: ReportContext, source: str, x_label: str) -> list[Figure]:
    """Throughput and peak memory against length, log-log, from rows of label, mode, seq_len and the costs."""
    found = []
    costs = costs.reindex(columns=[*costs.columns.drop(["tokens_per_s", "peak_mem_mb"], errors="ignore"),
                                   "tokens_per_s", "peak_mem_mb"])  # fmt: skip
    throughput = costs.dropna(subset=["tokens_per_s"])
    if not throughput.empty:
        title = f"Throughput against length ({source}); higher is better"
        found.append(context.figure("Throughput against length", "throughput.png", lambda path: figures.cost_vs_length(
            throughput, "tokens_per_s", "tokens / s", path, title, x_label, context.model_order
        )))  # fmt: skip
    memory = costs.dropna(subset=["peak_mem_mb"])
    memory = memory[memory["peak_mem_mb"] > 0]
    if not memory.empty:
        title_memory = f"Peak memory against length ({source}); lower is better"
        found.append(context.figure("Peak memory against length", "memory.png", lambda path: figures.cost_vs_length(
            memory, "peak_mem_mb", "peak memory, MB", path, title_memory, x_label, context.model_order
        )))  # fmt: skip
    return found
