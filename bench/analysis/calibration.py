"""How often the verdicts are wrong, measured by simulation through the code path of ``bench report``.

Each simulated sweep is a list of run records (the fields ``runs.jsonl`` holds) that goes through
``verdicts.build_cells`` and ``verdicts.judge_cells`` like a real folder's. Two experiments:

- **under the null**: every model drawn from one distribution (2-8 models, 1-3 lengths, 3-10 seeds): seeds that
  solve with probability p in {0.1, 0.3, 0.5, 0.7, 0.9} (bimodal: a solved seed near perfect, the others near the
  baseline), or a Gaussian metric around a gain of 0, the claim's band, or 0.5. A verdict is *false* where the
  simulated truth does not hold it: with identical models no model is ahead of another, so "ahead" is never true,
  nor is "a control solves more often"; "solves" is true only where p > 1/2, "learns" only where the true gain
  passes the band. ``false_verdict_rates`` counts them per claim;
- **planted effects** the size the papers report (``POWER_CASES``): the share of sweeps that confirm, at 3, 5 and
  10 seeds per cell (``power_table``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.analysis.claims import CLAIMS, GRADIENT_CHECKS, Claim
from bench.analysis.verdicts import build_cells, judge_cells

# Families as the registry declares their traits (models/__init__.py); a test checks they agree.
FAMILIES = {
    "rnn": ("fixed_state", "recurrent"),
    "lstm": ("fixed_state", "gated", "recurrent"),
    "gru": ("fixed_state", "gated", "recurrent"),
    "transformer": ("attention", "one_hop"),
    "ssm": ("fixed_state", "one_hop", "ssm", "time_invariant"),
    "mamba": ("fixed_state", "gated", "linear_recurrence", "selective", "ssm"),
    "mingru": ("fixed_state", "gated", "linear_recurrence", "recurrent"),
    "minlstm": ("fixed_state", "gated", "linear_recurrence", "recurrent"),
}
TASKS = {  # task -> (metric, higher is better, solved threshold, baseline, variant)
    "adding": ("loss", False, 0.01, 1 / 6, "adding/halves@1"),
    "copying": ("accuracy", True, 0.99, 0.125, "copying/arjovsky@1"),
    "selective_copying": ("accuracy", True, 0.99, 0.125, "selective_copying/mamba@2"),
    "associative_recall": ("accuracy", True, 0.99, 1 / 64, "associative_recall/zoology@1"),
}
NULL_SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
NOISE = 0.04  # seed-to-seed spread of the gain near the baseline (the tanh RNN's at T = 100 in the quick sweep)


@dataclass(frozen=True)
class Scenario:
    """How one model's seeds are drawn: bimodal with solve probability ``share``, or Gaussian gains."""

    share: float | None = None  # bimodal: a seed solves with this probability
    gain: float = 0.0  # Gaussian: the true mean gain over the baseline (0 = baseline, 1 = perfect)
    spread: float = NOISE

    def true_gain(self) -> float:
        return self.share * 0.999 + (1 - self.share) * 0.0 if self.share is not None else self.gain

    def draw(self, rng: np.random.Generator, task: str) -> tuple[float, bool]:
        """One seed's test metric and whether it solved."""
        metric, higher, threshold, baseline, _ = TASKS[task]
        if self.share is not None and rng.random() < self.share:
            gain = 1 - rng.uniform(0, 0.5) * (1 - threshold if higher else threshold / baseline)
        elif self.share is not None:
            gain = rng.normal(0.0, self.spread)
        else:
            gain = rng.normal(self.gain, self.spread)
        value = baseline + gain * (1 - baseline) if higher else baseline * (1 - gain)
        value = min(max(value, 0.0), 1.0) if higher else max(value, 0.0)
        solved = value >= threshold if higher else value < threshold
        return value, bool(solved)


def sweep_records(task: str, scenarios: dict[str, Scenario], lengths: list[int], seeds: int,
                  rng: np.random.Generator) -> list[dict]:  # fmt: skip
    """The records of one simulated sweep: each model's seeds drawn from its scenario, at every length."""
    metric, higher, threshold, baseline, variant = TASKS[task]
    records = []
    for model, scenario in scenarios.items():
        for seq_len in lengths:
            for seed in range(seeds):
                value, solved = scenario.draw(rng, task)
                records.append({
                    "task": task, "variant": variant, "task_params": {}, "model": model, "model_options": {},
                    "seq_len": seq_len, "seed": seed, "lr": 0.01, "status": "ok", "steps": 100, "batch_size": 8,
                    "val_loss": (1 - value) if higher else value, f"test_{metric}": value, "metric": metric,
                    "higher_is_better": higher, "solved_threshold": threshold, f"baseline_{metric}": baseline,
                    "solved": solved, "model_traits": list(FAMILIES[model]),
                })  # fmt: skip
    return records


def verdict_of(claim: Claim, records: list[dict]) -> str:
    rows = judge_cells(build_cells(records), [claim])
    return rows[0]["verdict"] if rows else "not measured"


def _lengths(claim: Claim, count: int) -> list[int]:
    return [claim.lengths[0] * 2**i for i in range(count)]


def _models(claim: Claim, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` families that include the claim's subject and, where it has one, a rival or control."""
    subjects = [m for m, t in FAMILIES.items() if claim.subject.matches(m, frozenset(t))]
    others = [m for m in FAMILIES if m not in subjects]
    rivals = [m for m in others if claim.rival is None or claim.rival.matches(m, frozenset(FAMILIES[m]))]
    chosen = [str(rng.choice(subjects)), str(rng.choice(rivals or others))]
    rest = [m for m in FAMILIES if m not in chosen]
    return chosen + list(rng.choice(rest, size=min(count, len(FAMILIES)) - 2, replace=False))


def false_verdict(claim: Claim, verdict: str, scenario: Scenario) -> bool:
    """Whether ``verdict`` is false when every model is drawn from ``scenario`` (no model differs)."""
    gain = scenario.true_gain()
    share = scenario.share if scenario.share is not None else float(gain > 1 - 1e-9)
    truth = {  # (the claim holds, its opposite holds)
        "stays_at_baseline": (False, gain > claim.band),  # needs a control ahead: never, with identical models
        "learns": (gain > claim.band, abs(gain) < claim.band),
        "solves": (share > claim.share, False),  # the opposite needs a control that solves: never, here
        "does_not_solve": (False, share > claim.share),
        "ahead": (False, claim.gap > 0),  # a gap smaller than the one needed is the opposite, and true here
    }[claim.check]
    return (verdict == "confirmed" and not truth[0]) or (verdict == "contradicted" and not truth[1])


def null_scenarios(claim: Claim) -> list[Scenario]:
    return [Scenario(share=p) for p in NULL_SHARES] + [Scenario(gain=g) for g in (0.0, claim.band, 0.5)]


def false_verdict_rates(sweeps: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per claim: ``sweeps`` simulated null sweeps (scenarios, models, lengths and seeds drawn in turn), the share
    of confirmed, of contradicted, and of false verdicts, overall and in its worst scenario."""
    rng = np.random.default_rng(seed)
    rows = []
    for claim in [c for c in CLAIMS if c.check not in (*GRADIENT_CHECKS, "degrades")]:
        task = claim.task
        scenarios = null_scenarios(claim)
        outcomes: dict[int, list[tuple[str, bool]]] = {i: [] for i in range(len(scenarios))}
        for i in range(sweeps):
            which = i % len(scenarios)
            models = _models(claim, int(rng.integers(2, 9)), rng)
            lengths = _lengths(claim, int(rng.integers(1, 4)))
            records = sweep_records(task, {m: scenarios[which] for m in models}, lengths, int(rng.integers(3, 11)), rng)
            verdict = verdict_of(claim, records)
            outcomes[which].append((verdict, false_verdict(claim, verdict, scenarios[which])))
        every = [o for found in outcomes.values() for o in found]
        worst = max(outcomes, key=lambda k: np.mean([f for _, f in outcomes[k]]))
        rows.append({
            "claim": claim.id, "check": claim.check, "sweeps": len(every),
            "confirmed": np.mean([v == "confirmed" for v, _ in every]),
            "contradicted": np.mean([v == "contradicted" for v, _ in every]),
            "false verdicts": np.mean([f for _, f in every]),
            "worst scenario": _describe(scenarios[worst]),
            "false there": np.mean([f for _, f in outcomes[worst]]),
        })  # fmt: skip
    return pd.DataFrame(rows)


def _describe(scenario: Scenario) -> str:
    return f"bimodal p={scenario.share:g}" if scenario.share is not None else f"Gaussian gain {scenario.gain:g}"


# ---- power under planted effects -------------------------------------------------------------------------------

FAILS, SOLVES = Scenario(gain=0.02), Scenario(share=1.0)
POWER_CASES = {  # claim id -> (what is planted, the models' scenarios)
    "adding-tanh-baseline": ("a tanh RNN at the baseline (gain 0.02 ± 0.04) against a GRU solving every seed",
                             {"rnn": FAILS, "gru": SOLVES}),
    "copying-lti-solves": ("an LTI SSM solving every seed", {"ssm": SOLVES, "lstm": FAILS}),
    "selective-lti-far-below": ("accuracy 18.3% against 99.8% (Gu & Dao's Table 1)",
                                {"mamba": Scenario(gain=(0.998 - 0.125) / 0.875, spread=0.002),
                                 "ssm": Scenario(gain=(0.183 - 0.125) / 0.875, spread=0.05)}),
    "recall-attention-ahead": ("attention solving every seed, an LSTM at chance", {"transformer": SOLVES,
                                                                                  "lstm": FAILS}),
}  # fmt: skip


def power_table(sweeps: int = 200, seeds: tuple[int, ...] = (3, 5, 10), seed: int = 0) -> pd.DataFrame:
    """Per planted effect: the share of ``sweeps`` sweeps (one length) that confirm the claim, at each seed count."""
    rng = np.random.default_rng(seed)
    claims = {c.id: c for c in CLAIMS}
    rows = []
    for claim_id, (planted, scenarios) in POWER_CASES.items():
        claim = claims[claim_id]
        row = {"claim": claim_id, "planted effect": planted}
        for n in seeds:
            verdicts = [verdict_of(claim, sweep_records(claim.task, scenarios, _lengths(claim, 1), n, rng))
                        for _ in range(sweeps)]  # fmt: skip
            row[f"confirmed at {n} seeds"] = np.mean([v == "confirmed" for v in verdicts])
        rows.append(row)
    return pd.DataFrame(rows)


def is_calibrated(rates: pd.DataFrame, level: float = 0.05) -> bool:
    return bool((rates["false verdicts"] <= level + 1e-12).all()) and not math.isnan(rates["false verdicts"].max())
