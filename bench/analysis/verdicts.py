"""The verdict engine: cells built from records, and each claim (``bench.analysis.claims``) judged by the test that
fits it, at a known error rate.

**A cell** is one model (with its options) at one length in one comparison setting: the task variant and its
parameters and the whole budget (steps, batch, parameter target, learning-rate grid, warm-up, weight decay,
clipping, evaluation sizes, extra test lengths; ``SETTING_FIELDS``). Runs that differ in any of these are
different cells, and a claim compares only cells of one setting: a folder that mixes budgets gets one verdict per
budget.

**Every planned seed counts.** The seeds of a cell are every seed any of its records names, finished or not. One
learning rate serves the whole cell: the rate with the fewest unfinished seeds, then the lowest mean validation
loss over its finished seeds (``bench.store.folder.cell_learning_rates``). A seed without a finished run at that
rate (diverged, out of memory, timed out, failed) counts as *not solved*, and in comparisons of the metric between
models it takes the worse of the baseline and its own last value. An equivalence to the baseline is shown from
finished seeds only: a run that never finished says nothing about where training would have left it.

**A verdict** is two one-sided tests at level ``ALPHA`` (``bench.analysis.significance``): one for the claim and
one for its opposite. *confirmed* where the first rejects, *contradicted* where the second does, *unclear*
otherwise (with the seeds that would decide at the observed effect), *not measured* where the claim's models did
not run in its range. Lengths combine by Fisher's method, the same way for both tests. A claim about every one of
several models (every subject, every rival) is an intersection-union test: each comparison must pass at
``ALPHA``. A claim that some comparison holds (a positive control exists, some subject contradicts) takes the
smallest Holm-adjusted p. ``tests/analysis/test_calibration.py`` measures the false-verdict rate by simulation.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.analysis import significance as sig
from bench.analysis.claims import CHECKS, CLAIMS, GRADIENT_CHECKS, Claim, Kind
from bench.analysis.statistics import solved_interval
from bench.store.folder import cell_key, cell_learning_rates
from bench.store.records import LEGACY_RECIPE

BUDGET_WORDS = {"steps": "steps", "batch_size": "batch", "target_params": "params", "warmup_frac": "warm-up",
                "weight_decay": "weight decay", "clip_norm": "clip", "eval_every": "eval every",
                "val_size": "val", "test_size": "test", "eval_lengths": "eval lengths", "optimizer": "optimizer",
                "betas": "betas", "eps": "eps", "alpha": "alpha", "momentum": "momentum", "schedule": "schedule",
                "step_every": "step every", "step_gamma": "step gamma"}  # fmt: skip
VERDICTS = ("confirmed", "contradicted", "unclear", "not measured")


@dataclass
class Cell:
    """One model at one length in one setting, over every planned seed (in seed order)."""

    setting: str  # the comparison setting, in words (task variant and parameters, budget, learning-rate grid)
    task: str
    variant: str
    model: str  # the family, with its options where one folder holds several option sets of it
    family: str
    traits: frozenset[str]
    seq_len: int
    higher_is_better: bool
    threshold: float
    baseline: float
    lr: float | None
    lrs: tuple[float, ...]
    seeds: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  # the test metric; unfinished seeds imputed
    solved: list[bool] = field(default_factory=list)
    finished: list[bool] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    steps: list[float] = field(default_factory=list)  # steps to solve; a seed that never solved: the steps given
    longer: dict[int, list[float]] = field(default_factory=dict)  # --eval-lengths: length -> each seed's metric
    sweep: str = ""  # the recipe's sweep the runs came from (bench.analysis.replication), else empty

    @property
    def n_planned(self) -> int:
        return len(self.seeds)

    @property
    def n_finished(self) -> int:
        return sum(self.finished)

    @property
    def n_solved(self) -> int:
        return sum(self.solved)

    def gains(self, finished_only: bool = False) -> list[float]:
        """Each seed's metric as the fraction of the way from the baseline to a perfect score (0: the baseline,
        1: perfect; a loss's perfect is 0, an accuracy's 1), so that lengths and tasks compare."""
        pairs = zip(self.values, self.finished, strict=True)
        return [self.gain(v) for v, done in pairs if done or not finished_only]

    def gain(self, value: float) -> float:
        if self.higher_is_better:
            return (value - self.baseline) / (1 - self.baseline) if self.baseline < 1 else math.nan
        return (self.baseline - value) / self.baseline if self.baseline > 0 else math.nan

    def oriented(self) -> list[float]:
        """The metric with higher better (a loss negated)."""
        return list(self.values) if self.higher_is_better else [-v for v in self.values]

    def describe(self) -> str:
        return f"{self.model} T={self.seq_len}: {self.n_solved}/{self.n_planned} solved, {self.n_finished} finished"


# ---- cells from records ------------------------------------------------------------------------------------


def _num(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def build_cells(records: Sequence[dict]) -> list[Cell]:
    """Every cell of the records, in the order their first run was stored."""
    groups: dict[tuple, list[dict]] = {}
    for record in records:
        groups.setdefault(cell_key(record), []).append(record)
    chosen = cell_learning_rates(list(records))
    cells = [_cell(runs, chosen.get(key)) for key, runs in groups.items()]
    _label_option_sets(cells, groups)
    return cells


def _cell(runs: list[dict], lr: float | None) -> Cell:
    first = next((r for r in runs if r.get("metric")), runs[0])
    metric = str(first.get("metric") or "loss")
    lrs = tuple(sorted({_num(r.get("lr")) for r in runs if not math.isnan(_num(r.get("lr")))}))
    traits = first.get("model_traits")
    cell = Cell(
        setting=_setting_words(first, lrs), task=str(first["task"]), variant=str(first.get("variant", first["task"])),
        model=str(first["model"]), family=str(first["model"]),
        traits=frozenset(traits if isinstance(traits, list) else str(traits or "").split(",")) - {""},
        seq_len=int(first["seq_len"]), higher_is_better=bool(first.get("higher_is_better", False)),
        threshold=_num(first.get("solved_threshold")), baseline=_baseline(runs, metric), lr=lr, lrs=lrs,
        sweep=str(first.get("recipe_sweep", "")),
    )  # fmt: skip
    for seed in sorted({int(r["seed"]) for r in runs}):
        at_rate = [r for r in runs if int(r["seed"]) == seed and (lr is None or _num(r.get("lr")) == lr)]
        ok = [r for r in at_rate if r.get("status") == "ok" and math.isfinite(_num(r.get(f"test_{metric}")))]
        run = ok[-1] if ok else (at_rate[-1] if at_rate else None)
        value = _num(run.get(f"test_{metric}")) if run else math.nan
        cell.seeds.append(seed)
        cell.finished.append(bool(ok))
        cell.solved.append(bool(ok) and bool(ok[-1].get("solved")))
        cell.values.append(value if ok else _worst(cell, value))
        cell.statuses.append(str(run.get("status")) if run else "not run")
        given = _num(run.get("steps")) if run else math.nan
        cell.steps.append(_num(ok[-1].get("steps_to_solve")) if cell.solved[-1] else given)
        tested = run.get("eval_lengths_results") if ok else None
        for result in tested if isinstance(tested, list) else []:
            values = cell.longer.setdefault(int(result["seq_len"]), [math.nan] * (len(cell.seeds) - 1))
            values.append(_num(result.get(metric)) if result.get("status") == "ok" else math.nan)
        for values in cell.longer.values():
            values += [math.nan] * (len(cell.seeds) - len(values))
    return cell


def _baseline(runs: list[dict], metric: str) -> float:
    for record in runs:
        value = _num(record.get(f"baseline_{metric}"))
        if math.isfinite(value):
            return value
    return math.nan


def _worst(cell: Cell, last: float) -> float:
    """An unfinished seed's metric: the baseline, or its own last value where that is worse."""
    if not math.isfinite(last):
        return cell.baseline
    return min(cell.baseline, last) if cell.higher_is_better else max(cell.baseline, last)


def _setting_words(record: dict, lrs: tuple[float, ...]) -> str:
    params = record.get("task_params") if isinstance(record.get("task_params"), dict) else {}
    task = str(record.get("variant", record.get("task")))
    extra = ", ".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "variant")
    words = [f"{task}" + (f" ({extra})" if extra else "")]
    for name, word in BUDGET_WORDS.items():
        value = record.get(name)
        if name == "clip_norm" and value is None and name in record:
            words.append("no clipping")
            continue
        missing = value is None or (isinstance(value, float) and math.isnan(value)) or value == []
        default = name in LEGACY_RECIPE and _same(value, LEGACY_RECIPE[name])  # a recipe field at its default
        if missing or default:
            continue
        words.append(f"{word} {value:g}" if isinstance(value, float) else f"{word} {value}")
    words.append("lr " + ", ".join(f"{lr:g}" for lr in lrs))
    return "; ".join(words)


def _same(value: object, default: object) -> bool:
    return list(value) == list(default) if isinstance(default, list) and isinstance(value, (list, tuple)) else (
        value == default)  # fmt: skip


def _label_option_sets(cells: list[Cell], groups: dict[tuple, list[dict]]) -> None:
    """Where one setting holds a family under several option sets, name each by the options that differ."""
    options = {id(c): (groups_key[2]) for c, groups_key in zip(cells, groups, strict=True)}
    by_family: dict[tuple[str, str], set[str]] = {}
    for cell in cells:
        by_family.setdefault((cell.setting, cell.family), set()).add(options[id(cell)])
    for cell in cells:
        sets = by_family[(cell.setting, cell.family)]
        if len(sets) < 2:
            continue
        mine = json.loads(options[id(cell)]) or {}
        others = [json.loads(s) or {} for s in sets]
        differing = sorted(k for k in mine if any(o.get(k) != mine[k] for o in others))
        cell.model = f"{cell.family} ({', '.join(f'{k}={mine[k]}' for k in differing)})"


# ---- judging -------------------------------------------------------------------------------------------------


@dataclass
class Judgement:
    """A claim against one setting's cells: the two tests' p-values, the effect, the cells used, and why."""

    p_confirm: float
    p_contradict: float
    test: str
    effect: tuple[float, float, float] = (math.nan, math.nan, math.nan)
    effect_name: str = ""
    cells: list[Cell] = field(default_factory=list)
    reason: str = ""
    seeds_needed: int | None = None
    measured: bool = True

    @property
    def verdict(self) -> str:
        if not self.measured:
            return "not measured"
        confirm, contradict = self.p_confirm <= sig.ALPHA, self.p_contradict <= sig.ALPHA
        if confirm and not contradict:
            return "confirmed"
        if contradict and not confirm:
            return "contradicted"
        return "unclear"


def not_measured(reason: str) -> Judgement:
    return Judgement(1.0, 1.0, "", reason=reason, measured=False)


def _in_range(claim: Claim, cells: list[Cell]) -> list[Cell]:
    low, high = claim.lengths
    return [c for c in cells if c.seq_len >= low and (high is None or c.seq_len <= high)]


def _models(cells: list[Cell], kind: Kind, exclude: set[str] = frozenset()) -> dict[str, dict[int, Cell]]:
    """model -> length -> cell, for the models of ``kind`` that ran (at least one seed planned)."""
    found: dict[str, dict[int, Cell]] = {}
    for cell in cells:
        if cell.model not in exclude and kind.matches(cell.family, cell.traits, cell.model) and cell.n_planned:
            found.setdefault(cell.model, {})[cell.seq_len] = cell
    return found


def _fmt_p(p: float) -> str:
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _pooled(cells: Sequence[Cell]) -> tuple[int, int]:
    return sum(c.n_solved for c in cells), sum(c.n_planned for c in cells)


def _shrunk_share(cells: Sequence[Cell]) -> float:
    solved, n = _pooled(cells)
    return (solved + 0.5) / (n + 1)


def _control_tests(claim: Claim, cells: list[Cell], subject: str, at: dict[int, Cell]) -> dict[str, float]:
    """Per positive control: p that it solves more often than the subject (or, where the claim asks a control that
    learns, that its gain beats the subject's by the band), over the lengths both ran."""
    tests = {}
    for control, lengths in _models(cells, claim.controls, exclude={subject}).items():
        common = sorted(set(lengths) & set(at))
        if not common:
            continue
        if claim.control == "learns":
            tests[control] = sig.combine([sig.permutation_test(lengths[n].gains(), at[n].gains(), claim.band)
                                          for n in common])  # fmt: skip
        else:
            tests[control] = sig.combine([sig.count_test(lengths[n].n_solved, lengths[n].n_planned,
                                                         at[n].n_solved, at[n].n_planned) for n in common])  # fmt: skip
    return tests


def judge_stays_at_baseline(claim: Claim, cells: list[Cell]) -> Judgement:
    subjects = _models(cells, claim.subject)
    if not subjects:
        return not_measured(f"no {claim.subject.name} in the claim's range")
    confirms, contradicts, reasons, used, needed = [], [], [], [], []
    for model, at in subjects.items():
        finished = {n: c.gains(finished_only=True) for n, c in at.items()}
        if not any(len(g) >= 2 for g in finished.values()):
            confirms.append(1.0)
            contradicts.append(1.0)
            reasons.append(f"{model}: fewer than 2 finished seeds at every length")
            continue
        p_within = sig.combine([sig.within_test(g, -claim.band, claim.band) for g in finished.values() if len(g) >= 2])
        p_learns = sig.combine([sig.mean_test(g, claim.band, greater=True) for g in finished.values() if len(g) >= 2])
        controls = _control_tests(claim, cells, model, at)
        p_control = sig.any_of(list(controls.values()))
        confirms.append(max(p_within, p_control))
        contradicts.append(p_learns)
        gains = [g for gs in finished.values() for g in gs]
        mean, low, high = sig.mean_with_interval(gains)
        best = min(controls, key=controls.get) if controls else None
        what = "learns past it by the band" if claim.control == "learns" else "solves more often"
        control_text = _control_text(best, p_control, len(controls), what)
        reasons.append(f"{model} gains {mean:.2g} [{low:.2g}, {high:.2g}] of the way past the baseline "
                       f"(within ±{claim.band:g}: p {_fmt_p(p_within)}; past it: p {_fmt_p(p_learns)}); "
                       f"{control_text}")  # fmt: skip
        used += list(at.values()) + ([c for c in cells if c.model == best and c.seq_len in at] if best else [])
        spread = float(np.std(gains, ddof=1)) if len(gains) > 1 else math.nan
        needed.append(sig.seeds_for_means(claim.band - abs(mean), spread, two_samples=False))
        if best:
            needed.append(sig.seeds_for_shares(_shrunk_share([c for c in cells if c.model == best]),
                                               _shrunk_share(list(at.values()))))  # fmt: skip
    return _finish(claim, confirms, contradicts, reasons, used, needed, _gain_effect(subjects))


def _learned(cells: Sequence[Cell], band: float) -> float:
    """p that the model's gain over the baseline is past the band: one-sided t tests, one per length, combined
    by Fisher's method."""
    return sig.combine([sig.mean_test(c.gains(), band, greater=True) for c in cells])


def judge_learns(claim: Claim, cells: list[Cell]) -> Judgement:
    subjects = _models(cells, claim.subject)
    if not subjects:
        return not_measured(f"no {claim.subject.name} in the claim's range")
    confirms, contradicts, reasons, used, needed = [], [], [], [], []
    for model, at in subjects.items():
        done = {n: c.gains(finished_only=True) for n, c in at.items()}
        confirms.append(_learned(list(at.values()), claim.band))
        contradicts.append(sig.combine([sig.within_test(g, -claim.band, claim.band) for g in done.values()
                                        if len(g) >= 2]) if any(len(g) >= 2 for g in done.values()) else 1.0)
        pooled = [g for c in at.values() for g in c.gains()]
        mean, low, high = sig.mean_with_interval(pooled)
        reasons.append(f"{model} gains {mean:.2g} [{low:.2g}, {high:.2g}] of the way past the baseline (band "
                       f"±{claim.band:g})")  # fmt: skip
        used += list(at.values())
        spread = float(np.std(pooled, ddof=1)) if len(pooled) > 1 else math.nan
        needed.append(sig.seeds_for_means(mean - claim.band, spread, two_samples=False))
    return _finish(claim, confirms, contradicts, reasons, used, needed, _gain_effect(subjects))


def _control_text(best: str | None, p: float, n: int, what: str) -> str:
    if best is None:
        return "no positive control ran beside it"
    shown = "positive control" if p <= sig.ALPHA else "no positive control shown: best"
    return f"{shown} {best} {what} (p {_fmt_p(p)}, Holm over {n})"


def _share_tests(at: dict[int, Cell], share: float, greater: bool) -> float:
    return sig.combine([sig.share_test(c.n_solved, c.n_planned, share, greater) for c in at.values()])


def _solve_judgement(claim: Claim, cells: list[Cell], solves: bool) -> Judgement:
    """solves (``solves``) or does not solve: the mirror needs a positive control that solves beside it."""
    subjects = _models(cells, claim.subject)
    if not subjects:
        return not_measured(f"no {claim.subject.name} in the claim's range")
    confirms, contradicts, reasons, used, needed = [], [], [], [], []
    for model, at in subjects.items():
        above, below = _share_tests(at, claim.share, True), _share_tests(at, claim.share, False)
        controls = {m: _share_tests({n: c for n, c in ls.items() if n in at}, claim.share, True)
                    for m, ls in _models(cells, claim.controls, exclude={model}).items()
                    if set(ls) & set(at)}  # fmt: skip
        p_control = sig.any_of(list(controls.values()))
        best = min(controls, key=controls.get) if controls else None
        if solves:
            confirms.append(above)
            contradicts.append(max(below, p_control))
        else:
            confirms.append(max(below, p_control))
            contradicts.append(above)
        solved, n = _pooled(list(at.values()))
        control_text = _control_text(best, p_control, len(controls), "solves")
        reasons.append(f"{model} solved {solved}/{n} seeds (above {claim.share:g}: p {_fmt_p(above)}; below: "
                       f"p {_fmt_p(below)}); {control_text}")  # fmt: skip
        used += list(at.values())
        needed.append(sig.seeds_for_share(_shrunk_share(list(at.values())), claim.share))
    effect = _share_effect(subjects)
    return _finish(claim, confirms, contradicts, reasons, used, needed, effect)


def judge_solves(claim: Claim, cells: list[Cell]) -> Judgement:
    return _solve_judgement(claim, cells, solves=True)


def judge_does_not_solve(claim: Claim, cells: list[Cell]) -> Judgement:
    return _solve_judgement(claim, cells, solves=False)


def judge_ahead(claim: Claim, cells: list[Cell]) -> Judgement:
    subjects = _models(cells, claim.subject)
    rivals = _models(cells, claim.rival or Kind("none"), exclude=set(subjects))
    if not subjects or not rivals:
        missing = claim.subject.name if not subjects else (claim.rival.name if claim.rival else "a rival")
        return not_measured(f"no {missing} in the claim's range")
    confirms, contradicts, reasons, used, needed, effects = [], [], [], [], [], []
    for model, at in subjects.items():
        for rival, rival_at in rivals.items():
            common = sorted(set(at) & set(rival_at))
            if not common:
                continue
            a, b = [at[n] for n in common], [rival_at[n] for n in common]
            if claim.measure == "solved":
                forward = sig.combine([sig.count_test(x.n_solved, x.n_planned, y.n_solved, y.n_planned)
                                       for x, y in zip(a, b, strict=True)])  # fmt: skip
                backward = sig.combine([sig.count_test(y.n_solved, y.n_planned, x.n_solved, x.n_planned)
                                        for x, y in zip(a, b, strict=True)])  # fmt: skip
                effect = sig.share_difference(*_pooled(a), *_pooled(b))
                needed.append(sig.seeds_for_shares(_shrunk_share(a), _shrunk_share(b)))
            else:
                forward = sig.combine([sig.permutation_test(x.oriented(), y.oriented(), claim.gap)
                                       for x, y in zip(a, b, strict=True)])  # fmt: skip
                backward = sig.combine([sig.permutation_test(y.oriented(), x.oriented(), -claim.gap)
                                        for x, y in zip(a, b, strict=True)])  # fmt: skip
                # A subject still at the baseline was not trained far enough to show a gap: its closeness to the
                # rival then says nothing against the claim. A contradiction needs it to have learned (both tests
                # must pass, so the larger p stands for the pair).
                backward = max(backward, _learned(a, claim.band))
                xs, ys = [v for c in a for v in c.oriented()], [v for c in b for v in c.oriented()]
                effect = sig.mean_difference(xs, ys)
                spread = float(np.sqrt((np.var(xs, ddof=1) + np.var(ys, ddof=1)) / 2)) if min(len(xs), len(ys)) > 1 \
                    else math.nan  # fmt: skip
                needed.append(sig.seeds_for_means(abs(effect[0] - claim.gap), spread, two_samples=True))
            confirms.append(forward)
            contradicts.append(backward)
            effects.append(effect)
            what = "solved share" if claim.measure == "solved" else "metric"
            reasons.append(f"{model} - {rival} {what} {effect[0]:.3g} [{effect[1]:.3g}, {effect[2]:.3g}] at T="
                           f"{', '.join(map(str, common))} (needs > {claim.gap:g}: p {_fmt_p(forward)}; "
                           f"opposite: p {_fmt_p(backward)})")  # fmt: skip
            used += a + b
    if not confirms:
        return not_measured(f"{claim.subject.name} and {claim.rival.name if claim.rival else 'a rival'} never ran "
                            "at the same length")  # fmt: skip
    weakest = int(np.argmax(confirms))
    return _finish(claim, confirms, contradicts, reasons, used, needed, (effects[weakest], "difference"))


def judge_faster(claim: Claim, cells: list[Cell]) -> Judgement:
    """The subject reaches the solved bar in at least ``gap`` times fewer steps than each rival, at each common
    length: a permutation test on log10 steps (unsolved seeds at the steps they were given, so a rival that never
    solved is credited with the least time it could have needed)."""
    subjects = _models(cells, claim.subject)
    rivals = _models(cells, claim.rival or Kind("none"), exclude=set(subjects))
    if not subjects or not rivals:
        missing = claim.subject.name if not subjects else (claim.rival.name if claim.rival else "a rival")
        return not_measured(f"no {missing} in the claim's range")
    shift = math.log10(claim.gap) if claim.gap > 0 else 0.0
    confirms, contradicts, reasons, used, needed, effects = [], [], [], [], [], []
    for model, at in subjects.items():
        for rival, rival_at in rivals.items():
            for n in sorted(set(at) & set(rival_at)):
                mine, theirs = _log_steps(at[n]), _log_steps(rival_at[n])
                if not mine or not theirs:
                    continue
                confirms.append(sig.permutation_test(theirs, mine, shift))
                contradicts.append(sig.permutation_test(mine, theirs, 0.0))
                effects.append(sig.mean_difference(theirs, mine))
                spread = float(np.sqrt((np.var(mine, ddof=1) + np.var(theirs, ddof=1)) / 2)) if min(
                    len(mine), len(theirs)) > 1 else math.nan  # fmt: skip
                needed.append(sig.seeds_for_means(abs(effects[-1][0] - shift), spread, two_samples=True))
                ratio, low, high = (10 ** v for v in effects[-1])
                reasons.append(f"{rival} / {model} steps to solve {ratio:.3g}x [{low:.3g}, {high:.3g}] at T={n} "
                               f"(needs > {claim.gap:g}x: p {_fmt_p(confirms[-1])}; no faster: p "
                               f"{_fmt_p(contradicts[-1])})")  # fmt: skip
                used += [at[n], rival_at[n]]
    if not confirms:
        return not_measured(f"{claim.subject.name} and {claim.rival.name if claim.rival else 'a rival'} never ran "
                            "at the same length")  # fmt: skip
    weakest = int(np.argmax(confirms))
    return _finish(claim, confirms, contradicts, reasons, used, needed,
                   (effects[weakest], "log10 of the rival's steps to solve over the subject's"))  # fmt: skip


def _log_steps(cell: Cell) -> list[float]:
    return [math.log10(s) for s in cell.steps if math.isfinite(s) and s > 0]


def _finish(claim: Claim, confirms: list[float], contradicts: list[float], reasons: list[str], used: list[Cell],
            needed: list[int | None], effect: tuple) -> Judgement:  # fmt: skip
    cells = list({id(c): c for c in used}.values())
    p_confirm, p_contradict = sig.all_of(confirms), sig.any_of(contradicts)
    decided = [n for n in needed if n is not None]
    judgement = Judgement(p_confirm, p_contradict, claim.check, effect[0], effect[1], cells, "; ".join(reasons),
                          max(decided) if decided and len(decided) == len(needed) else None)  # fmt: skip
    return judgement


def _gain_effect(subjects: dict[str, dict[int, Cell]]) -> tuple:
    gains = [g for at in subjects.values() for c in at.values() for g in c.gains()]
    return sig.mean_with_interval(gains), "gain over the baseline (0 = baseline, 1 = perfect)"


def _share_effect(subjects: dict[str, dict[int, Cell]]) -> tuple:
    solved, n = _pooled([c for at in subjects.values() for c in at.values()])
    share = solved_interval(solved, n)
    return (share.estimate, share.low, share.high), "solved share (Clopper-Pearson 95%)"


def judge_degrades(claim: Claim, cells: list[Cell]) -> Judgement:
    """Each model of the kind, trained at T: its metric at T against at the longest length tested (paired by
    seed), needing a drop of at least the claim's gap."""
    subjects = [c for c in cells if claim.subject.matches(c.family, c.traits, c.model) and c.longer]
    if not subjects:
        return not_measured(f"needs --eval-lengths and {claim.subject.name}")
    confirms, contradicts, reasons, needed, effects = [], [], [], [], []
    for cell in subjects:
        longest = max(cell.longer)
        there = cell.longer[longest] if cell.higher_is_better else [-v for v in cell.longer[longest]]
        drops = [a - b for a, b, done in zip(cell.oriented(), there, cell.finished, strict=True)
                 if done and math.isfinite(b)]  # fmt: skip
        if len(drops) < 2:
            confirms.append(1.0)
            contradicts.append(1.0)
            needed.append(None)
            reasons.append(f"{cell.model} T={cell.seq_len}: fewer than 2 seeds tested at {longest}")
            continue
        confirms.append(sig.paired_test(drops, claim.gap))
        # No drop from a model that never learned at T says nothing: a contradiction needs it past the band there.
        contradicts.append(max(sig.paired_test([-d for d in drops], -claim.gap), _learned([cell], claim.band)))
        effects.append(sig.mean_with_interval(drops))
        mean, low, high = effects[-1]
        reasons.append(f"{cell.model} T={cell.seq_len}: drop {mean:.3g} [{low:.3g}, {high:.3g}] at {longest} "
                       f"(needs > {claim.gap:g}: p {_fmt_p(confirms[-1])}; less: p {_fmt_p(contradicts[-1])})")
        spread = float(np.std(drops, ddof=1))
        needed.append(sig.seeds_for_means(abs(mean - claim.gap), spread, two_samples=False))
    effect = effects[int(np.argmax(confirms[: len(effects)]))] if effects else (math.nan,) * 3
    return _finish(claim, confirms, contradicts, reasons, subjects, needed, (effect, "drop at the longest length"))


JUDGES: dict[str, Callable[[Claim, list[Cell]], Judgement]] = {
    "stays_at_baseline": judge_stays_at_baseline,
    "learns": judge_learns,
    "solves": judge_solves,
    "does_not_solve": judge_does_not_solve,
    "ahead": judge_ahead,
    "degrades": judge_degrades,
    "faster": judge_faster,
}


def judge(claim: Claim, cells: list[Cell]) -> Judgement:
    """One claim against the cells of one setting (the claim's range of lengths applied here)."""
    in_range = _in_range(claim, cells)
    if not in_range:
        span = f"T >= {claim.lengths[0]}" if claim.lengths[1] is None else f"{claim.lengths[0]} <= T <= " \
            f"{claim.lengths[1]}"  # fmt: skip
        return not_measured(f"needs runs at {span} (the range the claim speaks about)")
    return JUDGES[claim.check](claim, in_range)


# ---- rows --------------------------------------------------------------------------------------------------


VERDICT_COLUMNS = [
    "claim_id", "claim", "source", "task", "budget", "verdict", "test", "p_confirm", "p_contradict", "p_value",
    "effect", "effect_low", "effect_high", "effect_name", "cells", "n_planned", "n_finished", "seeds_to_decide",
    "reason",
]  # fmt: skip


def verdict_row(claim: Claim, judgement: Judgement, task: str, budget: str) -> dict:
    verdict = judgement.verdict
    p_value = {"confirmed": judgement.p_confirm, "contradicted": judgement.p_contradict}.get(
        verdict, min(judgement.p_confirm, judgement.p_contradict))
    reason = judgement.reason
    if verdict == "unclear":
        seeds = {c.n_planned for c in judgement.cells}
        have = f"{max(seeds)} seeds" if seeds else "these seeds"
        more = (f"about {judgement.seeds_needed} seeds per cell would decide at this effect"
                if judgement.seeds_needed and judgement.seeds_needed > max(seeds or {0})
                else "more seeds would not decide at this effect" if judgement.seeds_needed is None
                else "the effect is at the edge of what these seeds decide")  # fmt: skip
        reason = f"unclear: {have}; {more}. {reason}"
    effect, low, high = judgement.effect if len(judgement.effect) == 3 else (math.nan,) * 3
    return {
        "claim_id": claim.id, "claim": claim.wording, "source": claim.source, "task": task, "budget": budget,
        "verdict": verdict, "test": sig_test_text(claim) if judgement.measured else "",
        "p_confirm": judgement.p_confirm if judgement.measured else math.nan,
        "p_contradict": judgement.p_contradict if judgement.measured else math.nan,
        "p_value": p_value if judgement.measured else math.nan, "effect": effect, "effect_low": low,
        "effect_high": high, "effect_name": judgement.effect_name,
        "cells": "; ".join(c.describe() for c in judgement.cells),
        "n_planned": sum(c.n_planned for c in judgement.cells),
        "n_finished": sum(c.n_finished for c in judgement.cells),
        "seeds_to_decide": judgement.seeds_needed if verdict == "unclear" else None, "reason": reason,
    }  # fmt: skip


def sig_test_text(claim: Claim) -> str:
    return CHECKS[claim.check]


def judge_cells(cells: list[Cell], claims: Sequence[Claim] = CLAIMS) -> list[dict]:
    """Every claim that applies, against each setting of each task: the rows of verdicts.csv (gradient claims are
    judged from gradient curves, ``bench.analysis.gradients``)."""
    rows = []
    settings: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        settings.setdefault((cell.task, cell.setting), []).append(cell)
    for (task, setting), group in settings.items():
        variant = group[0].variant
        name = variant.partition("/")[2].partition("@")[0]
        for claim in claims:
            if claim.check in GRADIENT_CHECKS or not claim.applies_to(task, name):
                continue
            judgement = judge(claim, group)
            if claim.check == "degrades" and not judgement.measured:
                continue  # a claim about any task is listed only where the sweep measured it
            rows.append(verdict_row(claim, judgement, variant, setting))
    return rows
