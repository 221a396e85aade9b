"""The gradient-flow table and verdicts, from the curves of ``python -m bench gradients`` alone.

The verdicts name the models they judge by trait: the ungated recurrent models (a tanh RNN) should
decay exponentially; the gated recurrent models far slower, once trained; the one-hop models
(attention, a convolutional SSM) not at all.
"""

from __future__ import annotations

import pandas as pd

from bench.analysis.selection import ordered

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


def _with(traits: pd.Series, *wanted: str, without: tuple[str, ...] = ()) -> list[str]:
    """The models (the index of ``traits``) that have every trait of ``wanted`` and none of ``without``."""
    return [m for m, have in traits.items() if set(wanted) <= have and not set(without) & have]


def gradient_verdicts(records: pd.DataFrame) -> list[dict[str, str]]:
    """confirmed / contradicted / unclear / not measured for each expected behaviour, per state."""
    if records.empty or not (records["status"] == "ok").any():
        return []
    ok = records[records["status"] == "ok"]
    longest = ok[ok["seq_len"] == ok["seq_len"].max()]
    traits = longest.groupby("model", sort=False)["model_traits"].first().map(lambda t: set(t or []))
    verdicts = []
    for state in [s for s in STATES if s in set(longest["state"])]:
        at = longest[longest["state"] == state].groupby("model")[["decay", "fit_r2", "reach"]].mean()
        T = int(longest["seq_len"].max())
        present = traits[traits.index.isin(at.index)]
        verdicts += [
            _ungated_decays(at, _with(present, "recurrent", without=("gated",)), state, T),
            _gated_slower(at, _with(present, "recurrent", without=("gated",)), _with(present, "recurrent", "gated"),
                          state, T),
            _one_hop_no_decay(at, _with(present, "one_hop"), state, T),
        ]  # fmt: skip
    return verdicts


def _verdict(claim: str, verdict: str, evidence: str) -> dict[str, str]:
    return {"claim": claim, "verdict": verdict, "evidence": evidence}


def _ungated_decays(at: pd.DataFrame, ungated: list[str], state: str, T: int) -> dict[str, str]:
    claim = f"tanh RNN: exponential decay ({state}, T={T})"
    if not ungated:
        return _verdict(claim, "not measured", "no rnn curve")
    model = ungated[0]
    reach, r2 = at.loc[model, "reach"], at.loc[model, "fit_r2"]
    evidence = f"reach {reach:.2g}, R² {r2:.2f}"
    if reach < DECAYS and r2 >= 0.8:
        return _verdict(claim, "confirmed", evidence)
    return _verdict(claim, "contradicted" if reach > -FLAT else "unclear", evidence)


def _gated_slower(at: pd.DataFrame, ungated: list[str], gated: list[str], state: str, T: int) -> dict[str, str]:
    claim = f"LSTM and GRU: decay far slower than the tanh RNN ({state}, T={T})"
    if not ungated or not gated:
        return _verdict(claim, "not measured", "needs rnn and lstm or gru")
    reference = ungated[0]
    evidence = ", ".join(f"{m} {at.loc[m, 'decay']:.2g}" for m in [reference, *gated]) + " decades / 100 steps"
    rnn = at.loc[reference, "decay"]
    if all(at.loc[m, "decay"] <= rnn / 3 for m in gated):
        return _verdict(claim, "confirmed", evidence)
    return _verdict(claim, "contradicted" if any(at.loc[m, "decay"] >= rnn for m in gated) else "unclear", evidence)


def _one_hop_no_decay(at: pd.DataFrame, one_hop: list[str], state: str, T: int) -> dict[str, str]:
    # Flat, or rising: a trained model may put its gradient on the far step that holds the answer.
    claim = f"SSM and attention: no decay with distance ({state}, T={T})"
    if not one_hop:
        return _verdict(claim, "not measured", "no ssm or transformer curve")
    evidence = ", ".join(f"{m} reach {at.loc[m, 'reach']:.2g}" for m in one_hop)
    if all(at.loc[m, "reach"] > -FLAT for m in one_hop):
        return _verdict(claim, "confirmed", evidence)
    return _verdict(claim, "contradicted" if any(at.loc[m, "reach"] < DECAYS for m in one_hop) else "unclear", evidence)


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
