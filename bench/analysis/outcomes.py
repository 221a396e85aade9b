"""Published outcomes as data, and the verdict engine that reads a sweep against them.

Each outcome names its source, the task variants and the range of lengths it speaks about, the
models it speaks about by trait (``models.base.TRAITS``, stored in every record), never by name, and
what it claims: that those models ``fail`` (stay near the baseline where another model solves the
task), ``solve`` the task, are ``ahead`` of other models, or ``degrade`` beyond their training length.
Better and worse follow the task's metric (a loss is lower-is-better, a recall accuracy higher).

The verdict is *confirmed*, *contradicted*, *unclear* or *not measured*:

- a compared cell needs at least ``MIN_SEEDS`` seeds, else the verdict is *unclear*;
- intervals are compared, not means (the Student-t interval of the metric over seeds, against
  another model's, or against the solved threshold): *confirmed* or *contradicted* only where they
  separate;
- two models both solving, or both at the baseline, are a tie: *unclear*, never a contradiction;
- cells that failed, were refused or gave no number, and lengths outside the claim's range, are
  *not measured*;
- a claim that a model fails needs a positive control: at the same length and budget, another model
  solved it on every seed; without one the sweep may just be too short, and the verdict is *unclear*.
  Likewise a claim that a model solves is contradicted only where another model solved on every seed.

Over lengths: *contradicted* if any measured length contradicts, *confirmed* if every measured one
confirms, *not measured* if none was measured, else *unclear*. A contradiction is a finding to
explain (budget, seeds, a bug), never something to tune away.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bench.analysis.facts import TaskFacts
from bench.analysis.statistics import MIN_SEEDS, Interval, mean_interval

BASELINE_BAND = 0.1  # within 10% of the way from the baseline to perfect counts as "at the baseline"


@dataclass(frozen=True)
class Kind:
    """The models an outcome speaks about: those with every trait of ``all_of`` and none of ``none_of``."""

    name: str  # how the claim calls them, e.g. "a tanh RNN"
    all_of: tuple[str, ...]
    none_of: tuple[str, ...] = ()

    def matches(self, traits: set[str]) -> bool:
        return set(self.all_of) <= traits and not set(self.none_of) & traits


@dataclass(frozen=True)
class Outcome:
    task: str
    claim: str
    source: str  # paper, and table or figure
    setting: str  # the published setting, in words
    check: str  # fails, solves, ahead, degrades
    subject: Kind
    rival: Kind | None = None  # ahead: the models the subject is ahead of
    variants: tuple[str, ...] = ()  # the task variants it speaks about (names like "tcn"); empty: any
    lengths: tuple[int, int | None] = (1, None)  # the range of T it speaks about, inclusive


@dataclass(frozen=True)
class Verdict:
    verdict: str  # confirmed, contradicted, unclear, not measured
    evidence: str


CLASSIC_RNN = Kind("classic RNNs (tanh, LSTM, GRU)", ("recurrent",), ("linear_recurrence",))
OUTCOMES = [
    Outcome("adding", "a tanh RNN stays at the baseline where a gated RNN solves the task",
            "Bai, Kolter & Koltun 2018, Table 1",
            "T = 600, about 70k parameters: tanh RNN MSE 0.177, LSTM 0.164, GRU 5.3e-5 (baseline 0.167); "
            "read here from T = 100 on", "fails", Kind("a tanh RNN", ("recurrent",), ("gated",)),
            variants=("halves", "tcn"), lengths=(100, None)),
    Outcome("copying", "classic RNNs stay at the memoryless baseline at long delays", "Bai, Kolter & Koltun 2018, "
            "Table 1; Kerg et al. 2019", "T = 1000 (TCN layout), about 16k parameters: LSTM, GRU and tanh RNN all at "
            "0.0204, the baseline; an LSTM at T = 200 flat at the baseline", "fails", CLASSIC_RNN,
            variants=("arjovsky", "tcn"), lengths=(200, None)),
    Outcome("copying", "a time-invariant SSM solves vanilla copying", "Gu & Dao 2023, §3.1",
            "copying needs time-awareness only, which a time-invariant convolution has", "solves",
            Kind("a time-invariant SSM", ("ssm", "time_invariant")), variants=("arjovsky", "tcn"), lengths=(100, None)),
    Outcome("selective_copying", "a time-invariant SSM scores far below a selective SSM", "Gu & Dao 2023, Table 1",
            "L = 4096, 16 tokens, vocabulary 16, 2 layers: LTI S4 18.3%, S6 (Mamba) 99.8%", "ahead",
            Kind("a selective SSM", ("ssm", "selective")), Kind("a time-invariant SSM", ("ssm", "time_invariant")),
            variants=("mamba",), lengths=(64, None)),
    Outcome("selective_copying", "stacked minimal RNNs (gates from the input only) solve selective copying",
            "Feng et al. 2024 (Were RNNs All We Needed?), selective copying", "the Mamba setting; the paper reports "
            "the task solved once layers are stacked (one layer is not enough)", "solves",
            Kind("a minimal RNN", ("recurrent", "linear_recurrence")), variants=("mamba",), lengths=(64, None)),
    Outcome("associative_recall", "attention recalls associations better than fixed-state models",
            "Arora et al. 2023 (Zoology), MQAR", "accuracy against model width: attention solves at small width, "
            "fixed-state models need width growing with the pairs", "ahead", Kind("attention", ("attention",)),
            Kind("the best fixed-state model", ("fixed_state",)), variants=("zoology",), lengths=(64, None)),
    Outcome("*", "attention with absolute positions degrades beyond its training length", "Gu & Dao 2023, Table 11",
            "induction heads trained at 256: 100% at 256, 58.6% at 512, 26.6% at 1024", "degrades",
            Kind("attention with absolute positions", ("attention", "absolute_positions"))),
]  # fmt: skip


# ---- reading cells -------------------------------------------------------------------------------


def _traits(cell: pd.Series) -> set[str]:
    traits = cell.get("model_traits")
    return set(traits.split(",")) if isinstance(traits, str) and traits else set()


def _interval(cell: pd.Series) -> Interval | None:
    if pd.isna(cell.get("metric_low")) or pd.isna(cell.get("metric_high")):
        return None
    return Interval(float(cell["metric_mean"]), float(cell["metric_low"]), float(cell["metric_high"]))


def _measured(cell: pd.Series | None) -> bool:
    return cell is not None and cell["n_seeds"] > 0 and pd.notna(cell["metric_mean"])


def _text(cell: pd.Series, role: str = "") -> str:
    interval = _interval(cell)
    spread = f" [{interval.low:.3g}, {interval.high:.3g}]" if interval else f" (seeds {cell['metric_values']})"
    solved = f", {int(cell['solved'])}/{int(cell['n_seeds'])} solved"
    return f"{role}{cell['model']} {cell['metric_mean']:.3g}{spread}{solved}"


def _better(task: TaskFacts, a: float, b: float) -> bool:
    return a > b if task.higher_is_better else a < b


def _separated_better(task: TaskFacts, a: Interval, b: Interval) -> bool:
    """a's whole interval is better than b's."""
    return a.low > b.high if task.higher_is_better else a.high < b.low


def _solved_all(cell: pd.Series) -> bool:
    return cell["n_seeds"] >= MIN_SEEDS and cell["solved"] == cell["n_seeds"]


def _at_baseline(task: TaskFacts, cell: pd.Series) -> bool:
    baseline = cell["baseline"]
    if pd.isna(baseline):
        return False
    if task.higher_is_better:
        return cell["metric_mean"] <= baseline + BASELINE_BAND * (1 - baseline)
    return cell["metric_mean"] >= (1 - BASELINE_BAND) * baseline


# ---- the checks, at one length -----------------------------------------------------------------------


def _fails_at(task: TaskFacts, subject: pd.Series, others: pd.DataFrame) -> tuple[str, str]:
    """The subject fails where a positive control, another model at the same length, solves on every seed."""
    if subject["n_seeds"] < MIN_SEEDS:
        return "unclear", f"{_text(subject)}: needs {MIN_SEEDS} seeds"
    if _solved_all(subject):
        return "contradicted", f"{_text(subject)}: it solves"
    controls = [cell for _, cell in others.iterrows() if _solved_all(cell) and _interval(cell)]
    if not controls:
        return "unclear", f"{_text(subject)}; no positive control (no other model solved on every seed)"
    control = max(controls, key=lambda c: c["metric_mean"] if task.higher_is_better else -c["metric_mean"])
    evidence = f"{_text(subject)} vs {_text(control, 'control ')}"
    interval = _interval(subject)
    if interval and subject["solved"] == 0 and _separated_better(task, _interval(control), interval):
        return "confirmed", evidence
    return "unclear", evidence


def _solves_at(task: TaskFacts, subject: pd.Series, others: pd.DataFrame) -> tuple[str, str]:
    """The subject's whole interval lies past the solved threshold (confirmed), or short of it where another model
    solved on every seed at the same length and budget (contradicted). Short of it where no model solved, the
    budget may just be too small to tell: unclear, the mirror of the positive control a failure claim needs."""
    interval = _interval(subject)
    if interval is None:
        return "unclear", f"{_text(subject)}: needs {MIN_SEEDS} seeds"
    evidence = f"{_text(subject)} ({task.solved_rule})"
    bar = task.solved_threshold
    if task.higher_is_better:
        past, short = interval.low >= bar, interval.high < bar
    else:
        past, short = interval.high < bar, interval.low >= bar
    if past:
        return "confirmed", evidence
    if not short:
        return "unclear", evidence
    if not any(_solved_all(cell) for _, cell in others.iterrows()):
        return "unclear", f"{evidence}; no model solved here on every seed: the budget may be too short to tell"
    return "contradicted", evidence


def _ahead_at(task: TaskFacts, leader: pd.Series, follower: pd.Series) -> tuple[str, str]:
    evidence = f"{_text(leader)} vs {_text(follower)}"
    a, b = _interval(leader), _interval(follower)
    if a is None or b is None:
        return "unclear", f"{evidence}: needs {MIN_SEEDS} seeds each"
    if _solved_all(leader) and _solved_all(follower):
        return "unclear", f"{evidence}: both solve (a tie at the ceiling)"
    if _at_baseline(task, leader) and _at_baseline(task, follower):
        return "unclear", f"{evidence}: both at the baseline (a tie at the floor)"
    if _separated_better(task, a, b):
        return "confirmed", evidence
    if _separated_better(task, b, a):
        return "contradicted", evidence
    return "unclear", evidence


# ---- over lengths ------------------------------------------------------------------------------------


def _best(task: TaskFacts, cells: pd.DataFrame) -> pd.Series | None:
    measured = [cell for _, cell in cells.iterrows() if _measured(cell)]
    if not measured:
        return None
    return max(measured, key=lambda c: c["metric_mean"] if task.higher_is_better else -c["metric_mean"])


def _combine(results: list[tuple[str, str]]) -> str:
    verdicts = [verdict for verdict, _ in results]
    if not verdicts or set(verdicts) == {"not measured"}:
        return "not measured"
    if "contradicted" in verdicts:
        return "contradicted"
    measured = [v for v in verdicts if v != "not measured"]
    return "confirmed" if all(v == "confirmed" for v in measured) else "unclear"


def judge(outcome: Outcome, cells: pd.DataFrame, task: TaskFacts, budget: str) -> Verdict:
    """The outcome against one task's cells."""
    low, high = outcome.lengths
    in_range = cells[(cells["seq_len"] >= low) & ((cells["seq_len"] <= high) if high else True)]
    results: list[tuple[str, str]] = []
    for seq_len, at in in_range.groupby("seq_len"):
        is_subject = at.apply(lambda c: outcome.subject.matches(_traits(c)), axis=1)
        subjects = at[is_subject & at.apply(_measured, axis=1)]
        if subjects.empty:
            results.append(("not measured", f"T={seq_len}: no {outcome.subject.name}"))
            continue
        if outcome.check == "ahead":
            rivals = at[~is_subject & at.apply(lambda c: outcome.rival.matches(_traits(c)), axis=1)]
            leader, follower = _best(task, subjects), _best(task, rivals)
            verdict, text = _ahead_at(task, leader, follower) if follower is not None else (
                "not measured", f"no {outcome.rival.name}")  # fmt: skip
            results.append((verdict, f"T={seq_len}: {text}"))
            continue
        for _, subject in subjects.iterrows():
            verdict, text = (_fails_at(task, subject, at[~is_subject]) if outcome.check == "fails"
                             else _solves_at(task, subject, at[~is_subject]))  # fmt: skip
            results.append((verdict, f"T={seq_len}: {text}"))
    if not results:
        span = f"T >= {low}" if high is None else f"{low} <= T <= {high}"
        return Verdict("not measured", f"needs runs at {span} (the range the claim speaks about)")
    return Verdict(_combine(results), f"{budget}; " + "; ".join(text for _, text in results))


def judge_degradation(outcome: Outcome, results: pd.DataFrame, task: TaskFacts, budget: str) -> Verdict:
    """Each model of the kind, trained at T: its test metric at T against at its longest tested length."""
    if results.empty or "model_traits" not in results:
        return Verdict("not measured", f"needs --eval-lengths and {outcome.subject.name}")
    rows = results[results["model_traits"].map(lambda t: outcome.subject.matches(set(t or [])))]
    findings: list[tuple[str, str]] = []
    for (model, seq_len), group in rows.groupby(["model", "seq_len"]):
        ok = group[(group["status"] == "ok") & group["value"].notna()]
        longest = ok["ratio"].max() if not ok.empty else 1.0
        if longest <= 1:
            findings.append(("not measured", f"{model} T={seq_len}: no longer length measured"))
            continue
        here, there = ok[ok["ratio"] == 1.0]["value"], ok[ok["ratio"] == longest]["value"]
        a, b = mean_interval(here, task.metric_range), mean_interval(there, task.metric_range)
        text = f"{model} T={seq_len}: {here.mean():.3g} at 1x, {there.mean():.3g} at {longest:g}x"
        if a is None or b is None:
            findings.append(("unclear", f"{text}: needs {MIN_SEEDS} seeds"))
        elif _at_floor_or_ceiling(task, here, there, seq_len):
            findings.append(("unclear", f"{text}: a tie at the floor or the ceiling"))
        elif _separated_better(task, a, b):
            findings.append(("confirmed", text))
        elif _separated_better(task, b, a):
            findings.append(("contradicted", f"{text}: better at the longer length"))
        else:
            findings.append(("unclear", f"{text}: the intervals overlap"))
    if not findings:
        return Verdict("not measured", f"needs --eval-lengths and {outcome.subject.name}")
    return Verdict(_combine(findings), f"{budget}; " + "; ".join(text for _, text in findings))


def _at_floor_or_ceiling(task: TaskFacts, here: pd.Series, there: pd.Series, seq_len: int) -> bool:
    threshold, baseline = task.solved_threshold, task.baseline(seq_len)
    solved = (lambda v: v >= threshold) if task.higher_is_better else (lambda v: v < threshold)
    both_solved = solved(here.mean()) and solved(there.mean())
    near = (lambda v: v <= baseline + BASELINE_BAND * (1 - baseline)) if task.higher_is_better else (
        lambda v: v >= (1 - BASELINE_BAND) * baseline)  # fmt: skip
    return both_solved or (pd.notna(baseline) and near(here.mean()) and near(there.mean()))


def expectation_table(cells: pd.DataFrame, results: pd.DataFrame, facts: dict[str, TaskFacts],
                      budgets: dict[str, str]) -> pd.DataFrame:  # fmt: skip
    """One row per outcome that applies to a task and variant in ``cells``: the claim, its source and setting,
    the verdict and the numbers it used. ``facts`` and ``budgets`` are per task name."""
    rows = []
    for task_name in cells["task"].unique():
        task_cells = cells[cells["task"] == task_name]
        task_results = results[results["task"] == task_name] if not results.empty else results
        task, budget = facts[task_name], budgets.get(task_name, "")
        variant = task.variant.partition("/")[2].partition("@")[0]
        for outcome in OUTCOMES:
            if outcome.task not in (task_name, "*") or (outcome.variants and variant not in outcome.variants):
                continue
            if outcome.check == "degrades":
                verdict = judge_degradation(outcome, task_results, task, budget)
                if verdict.verdict == "not measured":
                    continue  # a generic outcome is listed only where the sweep measured it
            else:
                verdict = judge(outcome, task_cells, task, budget)
            rows.append({"task": task.variant, "published outcome": outcome.claim, "source": outcome.source,
                         "here": verdict.verdict, "evidence": verdict.evidence})  # fmt: skip
    return pd.DataFrame(rows)
