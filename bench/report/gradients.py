"""The report's section on gradient flow through time (``python -m bench gradients``)."""

from __future__ import annotations

import pandas as pd

from bench.analysis.gradients import gradient_curves, gradient_table, gradient_verdicts
from bench.report import figures
from bench.report.document import ReportContext, Section

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


def gradients_section(gradients: pd.DataFrame, context: ReportContext, variant: str | None = None) -> Section:
    """One task's curves; ``variant`` names the task when the folder holds several."""
    n = " or ".join(str(size) for size in sorted(set(gradients["n_sequences"])))
    verdicts = [f"- {v['claim']} ({v['budget']}): **{v['verdict']}** (p {v['p_value']:.2g}; {v['reason']})"
                for v in gradient_verdicts(gradients)]  # fmt: skip
    failed = gradients[gradients["status"] != "ok"]
    failures = [f"- {r.model} T={r.seq_len} {r.state}: {r.status}, {r.error}" for r in failed.itertuples()]
    text = "\n\n".join(part for part in [GRADIENTS_TEXT.format(n=n), "\n".join(verdicts), "\n".join(failures)] if part)
    title = "Gradient flow through time" + (f": {variant}" if variant else "")
    section = Section(title, text, tables=[("", gradient_table(gradients, context.model_order))])
    curves = gradient_curves(gradients)
    if not curves.empty:
        name = f"gradient_flow_{variant.split('/')[0]}.png" if variant else "gradient_flow.png"
        section.figures.append(context.figure(
            "Gradient norm against distance from the scored output", name,
            lambda path: figures.gradient_flow(curves, path, context.model_order),
        ))  # fmt: skip
    return section
