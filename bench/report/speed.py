"""The report's section on ``python -m bench speed``: cost against length, and sampling cost."""

from __future__ import annotations

import pandas as pd

from bench.analysis.speed import FLOPS_NOTE, speed_tables, with_labels
from bench.report import figures
from bench.report.document import ReportContext, Section
from bench.report.tables import cost_figures

SAMPLING_TEXT = (
    " Sampling (--generate): after a short random prompt, each model samples tokens one at a time through its "
    "streaming step, each token fed back in. A recurrent model or the SSM carries a state of fixed size, so its "
    "cost per token should stay flat; the Transformer attends over a key/value cache that grows by one step per "
    "token, so its cost per token grows with the generated length. Weights are freshly initialised unless "
    "the table says trained (--from): the cost of a step does not depend on the weights' values."
)


def speed_section(speed: pd.DataFrame, context: ReportContext) -> Section:
    speed = with_labels(speed)
    first = speed.iloc[0]
    text = (
        f"`python -m bench speed` on {first.get('device', '?')} ({first.get('device_name', '?')}), batch "
        f"{first.get('batch_size', '?')}, about {first.get('params', '?')} parameters, precision "
        f"{first.get('precision', 'fp32')}, threads {first.get('threads') or 'default'}: each configuration in "
        "its own process, one warm-up call, median and interquartile range of the timed repeats."
    )
    if "flops_per_s" in speed:
        text += " " + FLOPS_NOTE
    sampled = speed["mode"] == "generate"
    if sampled.any():
        text += SAMPLING_TEXT
    section = Section("Speed and memory against length", text, tables=speed_tables(speed))
    ok = speed[(speed["status"] == "ok") & ~sampled]
    if not ok.empty:
        section.figures += cost_figures(ok, context, "bench speed", "sequence length L")
    generated = speed[(speed["status"] == "ok") & sampled]
    if not generated.empty:
        section.figures.append(context.figure(
            "Sampling cost against generated length", "sampling.png",
            lambda path: figures.sampling_cost(generated, path, context.model_order),
        ))  # fmt: skip
    return section
