"""Published outcomes each result should reproduce, and whether this sweep did (docs/published-outcomes.md).

Each outcome names the models it speaks about by trait (``models.base.TRAITS``, stored in every
record), never by name, so a family added later is judged by what it is. Each check reads the
sweep's cells (``cells.cell_summary``) and, for length generalisation, the long-form results
(``cells.length_generalisation``), and answers ``confirmed``, ``contradicted`` or ``not
measured``/``unclear`` with the figures it used. A contradiction is a finding to explain (budget,
seeds, a bug), never something to tune away.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

MARGIN = 0.2  # accuracy points that make "far below" / "degrades" more than noise at one seed


@dataclass(frozen=True)
class Verdict:
    verdict: str  # confirmed, contradicted, unclear, not measured
    evidence: str


@dataclass(frozen=True)
class Expectation:
    task: str
    claim: str
    source: str
    check: Callable[[pd.DataFrame, pd.DataFrame], Verdict]  # (cells of the task, generalisation rows) -> verdict


def with_traits(cells: pd.DataFrame, *wanted: str, without: tuple[str, ...] = ()) -> list[str]:
    """The models of ``cells`` that have every trait of ``wanted`` and none of ``without``, in order."""
    found = []
    for model, traits in zip(cells["model"], cells.get("model_traits", pd.Series([""] * len(cells))), strict=True):
        have = set(str(traits).split(",")) if isinstance(traits, str) else set()
        if all(t in have for t in wanted) and not any(t in have for t in without) and model not in found:
            found.append(model)
    return found


def _metric(cells: pd.DataFrame, model: str) -> pd.Series:
    """The model's mean test metric by length, where it ran."""
    rows = cells[(cells["model"] == model) & (cells["n_seeds"] > 0)]
    return rows.set_index("seq_len")["metric_mean"]


def _best_of(cells: pd.DataFrame, names: list[str]) -> pd.Series:
    """At each length, the best mean metric of the named models (higher is better on the recall tasks)."""
    series = [_metric(cells, m) for m in names]
    return pd.concat(series, axis=1).max(axis=1) if any(len(s) for s in series) else pd.Series(dtype=float)


def _lti_ssm_below_attention(cells: pd.DataFrame, _: pd.DataFrame) -> Verdict:
    lti, attention = with_traits(cells, "ssm", "time_invariant"), with_traits(cells, "attention")
    leader, follower = _named(attention, "attention"), _named(lti, "LTI SSM")
    return _ahead(_best_of(cells, attention), _best_of(cells, lti), leader, follower)


def _named(models: list[str], kind: str) -> str:
    return "/".join(models) if models else kind


def _ahead(leader: pd.Series, follower: pd.Series, leader_name: str, follower_name: str) -> Verdict:
    """Confirmed where the leader is ahead by MARGIN at every common length, contradicted where never ahead."""
    common = sorted(set(leader.index) & set(follower.index))
    if not common:
        return Verdict("not measured", f"needs {leader_name} and {follower_name} runs at a common length")
    gaps = [leader[n] - follower[n] for n in common]
    evidence = "; ".join(f"T={n}: {leader_name} {leader[n]:.2f}, {follower_name} {follower[n]:.2f}" for n in common)
    if all(gap >= MARGIN for gap in gaps):
        return Verdict("confirmed", evidence)
    if all(gap <= 0 for gap in gaps):
        return Verdict("contradicted", evidence)
    return Verdict("unclear", evidence)


def _lti_ssm_solves_copying(cells: pd.DataFrame, _: pd.DataFrame) -> Verdict:
    lti = with_traits(cells, "ssm", "time_invariant")
    rows = cells[cells["model"].isin(lti) & (cells["n_seeds"] > 0)]
    if rows.empty:
        return Verdict("not measured", "needs a time-invariant SSM's runs")
    evidence = "; ".join(f"T={n}: {v:.2f}" for n, v in zip(rows["seq_len"], rows["metric_mean"], strict=True))
    verdict = "confirmed" if (rows["solved_frac"] == 1).all() else "contradicted"
    return Verdict(verdict, f"{_named(lti, 'LTI SSM')} recall {evidence}")


def _ungated_rnn_at_baseline(cells: pd.DataFrame, _: pd.DataFrame) -> Verdict:
    ungated = with_traits(cells, "recurrent", without=("gated",))
    rows = cells[cells["model"].isin(ungated) & (cells["n_seeds"] > 0) & (cells["seq_len"] >= 50)]
    if rows.empty:
        return Verdict("not measured", "needs an ungated RNN's runs at T >= 50")
    near = rows["metric_mean"] >= 0.9 * rows["baseline"]  # loss within 10% of the trivial predictor's
    evidence = "; ".join(f"T={n}: MSE {v:.3f}" for n, v in zip(rows["seq_len"], rows["metric_mean"], strict=True))
    evidence = f"{_named(ungated, 'rnn')} {evidence} (baseline 0.167)"
    return Verdict("confirmed" if near.all() else "contradicted", evidence)


def _attention_beats_recurrent_recall(cells: pd.DataFrame, _: pd.DataFrame) -> Verdict:
    attention, recurrent = with_traits(cells, "attention"), with_traits(cells, "recurrent", "fixed_state")
    return _ahead(_best_of(cells, attention), _best_of(cells, recurrent), _named(attention, "attention"), "best RNN")


NO_ABSOLUTE = "needs --eval-lengths and a model with absolute positions (transformer positions=learned or sinusoidal)"


def _absolute_positions_degrade(_: pd.DataFrame, results: pd.DataFrame) -> Verdict:
    if results.empty or "model_traits" not in results:
        return Verdict("not measured", NO_ABSOLUTE)
    absolute = results[results["model_traits"].map(lambda traits: "absolute_positions" in (traits or []))]
    if absolute.empty or absolute["ratio"].max() <= 1:
        return Verdict("not measured", NO_ABSOLUTE)
    by_ratio = absolute.groupby("ratio")["value"].mean()
    trained, longest = by_ratio.loc[1.0], by_ratio.iloc[-1]
    names = ", ".join(dict.fromkeys(absolute["model"]))
    evidence = f"{names} (absolute positions): {trained:.2f} at 1x, {longest:.2f} at {by_ratio.index[-1]:g}x"
    return Verdict("confirmed" if trained - longest >= MARGIN else "contradicted", evidence)


EXPECTATIONS = [
    Expectation("adding", "a tanh RNN stays at the baseline beyond short T", "Bai, Kolter & Koltun 2018",
                _ungated_rnn_at_baseline),
    Expectation("copying", "a time-invariant diagonal SSM solves vanilla copying", "Gu & Dao 2023; docs/tasks.md",
                _lti_ssm_solves_copying),
    Expectation("selective_copying", "a time-invariant diagonal SSM scores far below attention",
                "Gu & Dao 2023, Table 1", _lti_ssm_below_attention),
    Expectation("associative_recall", "attention recalls associations better than fixed-state RNNs",
                "Arora et al. 2023 (Zoology)", _attention_beats_recurrent_recall),
    Expectation("*", "attention with absolute positions degrades beyond its training length",
                "Gu & Dao 2023, Table 11", _absolute_positions_degrade),
]  # fmt: skip


def expectation_table(cells: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """One row per expectation that applies to a task in ``cells``."""
    rows = []
    for task in cells["task"].unique():
        task_cells = cells[cells["task"] == task]
        task_results = results[results["task"] == task] if not results.empty else results
        for expectation in EXPECTATIONS:
            if expectation.task not in (task, "*"):
                continue
            verdict = expectation.check(task_cells, task_results)
            if expectation.task == "*" and verdict.verdict == "not measured":
                continue  # a generic expectation is listed only where the sweep measured it
            rows.append({"task": task, "published outcome": expectation.claim, "source": expectation.source,
                         "here": verdict.verdict, "evidence": verdict.evidence})  # fmt: skip
    return pd.DataFrame(rows)
