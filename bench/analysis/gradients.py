"""The gradient-flow table and verdicts, from the curves of ``python -m bench gradients`` alone.

The verdicts name the models they judge by trait: the ungated recurrent models (a tanh RNN) should
decay exponentially; the gated recurrent models far slower, once trained; the one-hop models
(attention, a convolutional SSM) not at all.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.claims import CLAIMS, GRADIENT_CHECKS, Claim, Kind
from bench.analysis.selection import ordered
from bench.analysis.significance import all_of, any_of, mean_test, mean_with_interval, permutation_test
from bench.analysis.verdicts import Judgement, not_measured, verdict_row

STATES = ("init", "trained")
# What the literature expects, judged on the longest length measured. A "reach" of -2 is a gradient 100x
# weaker at the far end than near the output; less than 10x weaker (reach > -1) counts as no decay.
DECAYS, FLAT = -2.0, 1.0


def gradient_table(records: pd.DataFrame, model_order: list[str] | None = None) -> pd.DataFrame:
    """One row per model x length x state, averaged over seeds, models in ``model_order``."""
    ok = records[records["status"] == "ok"] if not records.empty else records
    if ok.empty:
        return pd.DataFrame()
    rows = []
    for (model, seq_len, state), group in ok.groupby(["model", "seq_len", "state"], sort=False):
        rows.append(
            {"model": model, "T": int(seq_len), "state": state, "seeds": len(group),
             "decades lost / 100 steps": group["decay"].mean(), "exponential fit R²": group["fit_r2"].mean(),
             "reach (log10 far/near)": group["reach"].mean(), "clipped steps": group["clipped_frac"].mean()}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    table["clipped steps"] = table["clipped steps"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")  # trained only
    order = {name: i for i, name in enumerate(ordered(table["model"], model_order))}
    table = table.sort_values(["T", "state", "model"], key=lambda c: c.map(order) if c.name == "model" else c)
    return table.reset_index(drop=True)


def gradient_verdicts(records: pd.DataFrame) -> list[dict]:
    """The gradient claims (``bench.analysis.claims``, checks ``gradient_*``) per state, on the longest length
    measured, as rows of verdicts.csv. Each seed's curve is one observation: a one-sided t test of its reach
    (log10 far/near, near-Gaussian over seeds) against the claim's bound, or a permutation test of decay rates."""
    if records.empty or not (records["status"] == "ok").any():
        return []
    ok = records[records["status"] == "ok"]
    longest = ok[ok["seq_len"] == ok["seq_len"].max()]
    T = int(longest["seq_len"].max())
    rows = []
    for state in [s for s in STATES if s in set(longest["state"])]:
        at = longest[longest["state"] == state]
        traits = at.groupby("model", sort=False)["model_traits"].first().map(lambda t: frozenset(t or []))
        for claim in (c for c in CLAIMS if c.check in GRADIENT_CHECKS):
            judgement = _GRADIENT_JUDGES[claim.check](claim, at, traits)
            variant = str(at["variant"].iloc[0]) if "variant" in at else ""
            rows.append(verdict_row(claim, judgement, variant, f"{state}, T={T}"))
    return rows


def _models_of(kind: Kind, traits: pd.Series) -> list[str]:
    return [m for m, have in traits.items() if kind.matches(m, have)]


def _seed_values(at: pd.DataFrame, model: str, column: str) -> list[float]:
    return [float(v) for v in at[at["model"] == model][column] if pd.notna(v)]


def _reach_judgement(claim: Claim, at: pd.DataFrame, traits: pd.Series, below: float, above: float,
                     decays: bool) -> Judgement:  # fmt: skip
    """Every subject's reach below ``below`` (``decays``) or above ``above``; the opposite bound contradicts."""
    subjects = _models_of(claim.subject, traits)
    if not subjects:
        return not_measured(f"no {claim.subject.name} curve")
    confirms, contradicts, reasons = [], [], []
    for model in subjects:
        reach = _seed_values(at, model, "reach")
        towards, away = (mean_test(reach, below, greater=False), mean_test(reach, above, greater=True))
        confirms.append(towards if decays else away)
        contradicts.append(away if decays else towards)
        reasons.append(f"{model} reach {sum(reach) / len(reach):.2g} over {len(reach)} seeds" if reach else model)
    effect = mean_with_interval([v for m in subjects for v in _seed_values(at, m, "reach")])
    return Judgement(all_of(confirms), any_of(contradicts), claim.check, effect, "reach (log10 far/near)",
                     reason="; ".join(reasons))  # fmt: skip


def _decays(claim: Claim, at: pd.DataFrame, traits: pd.Series) -> Judgement:
    return _reach_judgement(claim, at, traits, DECAYS, -FLAT, decays=True)


def _flat(claim: Claim, at: pd.DataFrame, traits: pd.Series) -> Judgement:
    return _reach_judgement(claim, at, traits, DECAYS, -FLAT, decays=False)


def _slower(claim: Claim, at: pd.DataFrame, traits: pd.Series) -> Judgement:
    """Each gated model's decay at most a third of the ungated one's (permutation tests over seeds)."""
    gated, ungated = _models_of(claim.subject, traits), _models_of(claim.rival or claim.subject, traits)
    if not gated or not ungated:
        return not_measured("needs a tanh RNN and a gated RNN curve")
    reference = _seed_values(at, ungated[0], "decay")
    confirms, contradicts, reasons = [], [], []
    for model in gated:
        decay = _seed_values(at, model, "decay")
        confirms.append(permutation_test(reference, [3 * d for d in decay]))
        contradicts.append(permutation_test(decay, reference))
        reasons.append(f"{model} {sum(decay) / max(len(decay), 1):.2g} against {ungated[0]} "
                       f"{sum(reference) / max(len(reference), 1):.2g} decades / 100 steps")  # fmt: skip
    effect = mean_with_interval(reference)
    return Judgement(all_of(confirms), any_of(contradicts), claim.check, effect,
                     f"{ungated[0]} decay, decades / 100 steps", reason="; ".join(reasons))  # fmt: skip


_GRADIENT_JUDGES = {"gradient_decays": _decays, "gradient_slower": _slower, "gradient_flat": _flat}


def gradient_curves(records: pd.DataFrame) -> pd.DataFrame:
    """Long form for the figure: model, T, state, seed, distance, grad_norm."""
    rows = []
    for record in records[records["status"] == "ok"].to_dict("records"):
        for distance, norm in enumerate(record["grad_norm"]):
            rows.append(
                {"model": record["model"], "T": record["seq_len"], "state": record["state"], "seed": record["seed"],
                 "distance": distance, "grad_norm": norm}
            )  # fmt: skip
    return pd.DataFrame(rows)
