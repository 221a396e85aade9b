"""The gradient-flow verdicts, from the curves alone: confirmed, contradicted, or not measured."""

from __future__ import annotations

import pandas as pd

import models
from bench.analysis.gradients import gradient_verdicts


def _records(reach: dict[str, float], decay: dict[str, float], state: str = "trained") -> pd.DataFrame:
    """Curves of the named families at T=100, with their traits: five seeds each, a little apart."""
    rows = [{"model": m, "seed": seed, "reach": reach[m] + jitter, "decay": decay[m] * (1 + jitter / 10),
             "model_traits": models.model_traits(m, {})}
            for m in reach for seed, jitter in enumerate((-0.05, -0.02, 0.0, 0.02, 0.05))]  # fmt: skip
    return pd.DataFrame(rows).assign(seq_len=100, state=state, status="ok", fit_r2=0.99)


def test_verdicts_confirm_contradict_and_say_what_was_not_measured():
    expected = _records(
        {"rnn": -10, "lstm": -1, "gru": -1.5, "ssm": -0.3, "transformer": 0.2},
        {"rnn": 10, "lstm": 1, "gru": 1.5, "ssm": 0.3, "transformer": -0.2},
    )
    assert [v["verdict"] for v in gradient_verdicts(expected)] == ["confirmed"] * 3
    opposite = _records(
        {"rnn": 0.0, "lstm": -10, "gru": -10, "ssm": -5, "transformer": -3},
        {"rnn": 0.1, "lstm": 10, "gru": 10, "ssm": 5, "transformer": 3},
    )
    assert [v["verdict"] for v in gradient_verdicts(opposite)] == ["contradicted"] * 3
    rising = _records({"rnn": -10, "ssm": -0.5, "transformer": 2.4}, {"rnn": 10, "ssm": 0.5, "transformer": -9})
    assert gradient_verdicts(rising)[2]["verdict"] == "confirmed"  # a gradient that grows toward the answer
    only_rnn = _records({"rnn": -10}, {"rnn": 10}, state="init")
    assert [v["verdict"] for v in gradient_verdicts(only_rnn)] == ["confirmed", "not measured", "not measured"]
