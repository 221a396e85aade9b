"""A recipe's published rows judged by the verdict engine: rows as claims, controls from the same budget, a control
that did not solve makes the budget too small, and the recipe's verdict over its rows."""

from __future__ import annotations

import numpy as np

from bench.analysis.replication import TOO_SMALL, recipe_verdicts
from tests.analysis.test_verdicts import AT_BASELINE, CHANCE, RECALLED, SOLVED, runs

TCN_ADDING = [{"model": "rnn", "expect": "baseline", "value": "0.177"},
              {"model": "gru", "expect": "solved", "value": "5.3e-5"}]  # fmt: skip
TCN_COPYING = [{"model": "lstm", "expect": "baseline", "value": "0.0204"}, {"model": "ssm", "expect": None}]


def judged(published: list[dict], records: dict[str, list[dict]]) -> dict:
    return recipe_verdicts("recipe", "a paper", published, records)


def test_every_row_confirmed_confirms_the_recipe() -> None:
    found = judged(TCN_ADDING, {"": runs("adding", "rnn", 200, AT_BASELINE) + runs("adding", "gru", 200, SOLVED)})
    assert found["rows"]["verdict"].tolist() == ["confirmed", "confirmed"] and found["verdict"] == "confirmed"


def test_a_row_that_solves_where_the_paper_says_baseline_contradicts() -> None:
    found = judged(TCN_ADDING, {"": runs("adding", "rnn", 200, SOLVED) + runs("adding", "gru", 200, SOLVED)})
    assert found["rows"]["verdict"].tolist()[0] == "contradicted" and found["verdict"] == "contradicted"


def test_an_untrained_sweep_with_a_control_that_fails_is_too_small_to_test() -> None:
    found = judged(TCN_COPYING, {"": runs("copying", "lstm", 200, CHANCE) + runs("copying", "ssm", 200, CHANCE)})
    assert found["verdict"].startswith(TOO_SMALL)


def test_a_baseline_row_confirms_only_beside_a_control_that_solves() -> None:
    found = judged(TCN_COPYING, {"": runs("copying", "lstm", 200, CHANCE) + runs("copying", "ssm", 200, RECALLED)})
    assert found["verdict"] == "confirmed"
    alone = judged(TCN_COPYING[:1], {"": runs("copying", "lstm", 200, CHANCE)})
    assert alone["verdict"] == "unclear" and "no positive control" in alone["rows"]["reason"].iloc[0]


def test_a_model_of_one_sweep_controls_another_in_the_same_budget() -> None:
    chrono = [{**r, "model_options": {"chrono": 300}} for r in runs("copying", "lstm", 200, RECALLED)]
    standard = [{**r, "model_options": {"chrono": 0}} for r in runs("copying", "lstm", 200, CHANCE)]
    rows = [{"model": "lstm", "expect": "baseline", "value": "plateau", "sweep": "standard"},
            {"model": "lstm", "expect": "learns", "value": "below", "sweep": "chrono"}]  # fmt: skip
    found = judged(rows, {"standard": standard, "chrono": chrono})
    assert found["rows"]["verdict"].tolist() == ["confirmed", "confirmed"]


def test_a_row_whose_model_did_not_run_is_not_measured() -> None:
    found = judged(TCN_ADDING[1:], {"": runs("adding", "rnn", 200, AT_BASELINE)})
    assert found["verdict"] == "not measured"


def test_a_solved_row_that_solves_shows_the_budget_suffices_without_a_control() -> None:
    rows = [{"model": "transformer", "expect": "solved", "value": "-"}, {"model": "lstm", "expect": None}]
    found = judged(rows, {"": runs("associative_recall", "transformer", 64, RECALLED)
                          + runs("associative_recall", "lstm", 64, [0.02] * 5)})  # fmt: skip
    assert not found["verdict"].startswith(TOO_SMALL)
    nothing = judged(rows, {"": runs("associative_recall", "transformer", 64, [0.1] * 5)
                            + runs("associative_recall", "lstm", 64, [0.02] * 5)})  # fmt: skip
    assert nothing["verdict"].startswith(TOO_SMALL)


def adding_lstm(option: int, steps_to_solve: list[float | None], budget: int = 3000) -> list[dict]:
    """LSTM runs on adding whose seeds solved at the given steps (None: never, within ``budget``)."""
    values = [1e-4 if s is not None else 0.16 for s in steps_to_solve]
    records = runs("adding", "lstm", 100, values, steps=budget)
    return [{**r, "model_options": {"chrono": option}, "steps_to_solve": s}
            for r, s in zip(records, steps_to_solve, strict=True)]  # fmt: skip


FASTER = [{"model": "lstm", "expect": "learns", "value": "converges", "sweep": "standard"},
          {"model": "lstm", "expect": "faster", "value": "7x faster", "sweep": "chrono", "than": "standard",
           "factor": 3.0}]  # fmt: skip


def faster_row(chrono: list[float | None], standard: list[float | None]) -> dict:
    found = judged(FASTER, {"chrono": adding_lstm(100, chrono), "standard": adding_lstm(0, standard)})
    return found["rows"].set_index("claim_id").loc["recipe:lstm [chrono]"].to_dict()


def test_a_faster_row_needs_its_factor_in_steps_to_solve() -> None:
    far = faster_row([100, 150, 120, 130, 110], [1500, 2000, 1800, 1700, 1900])
    assert far["verdict"] == "confirmed" and "steps to solve" in far["reason"]
    just_faster = faster_row([1000, 1100, 900, 1000, 1050], [1500, 1600, 1400, 1550, 1450])  # 1.5x: short of 3x
    assert just_faster["verdict"] == "unclear"
    slower = faster_row([1500, 2000, 1800, 1700, 1900], [100, 150, 120, 130, 110])
    assert slower["verdict"] == "contradicted"


def test_a_rival_that_never_solved_counts_at_its_budget() -> None:
    """Censored at the 3,000 steps it was given: the ratio is a lower bound, enough here (3,000 / 150 = 20x)."""
    assert faster_row([100, 150, 120, 130, 110], [None] * 5)["verdict"] == "confirmed"
    assert faster_row([None] * 5, [None] * 5)["verdict"] != "confirmed"  # neither solved: no evidence of speed


def test_faster_under_the_null_rarely_confirms() -> None:
    """Both initialisations draw their steps to solve from one distribution (log-normal, censored at the budget):
    a confirmed 'faster' is false, and must stay under 5%."""
    rng = np.random.default_rng(0)

    def draw(seeds: int) -> list[float | None]:
        return [s if s < 3000 else None for s in np.round(10 ** rng.normal(3.0, 0.4, seeds))]

    confirmed, sweeps = 0, 300
    for _ in range(sweeps):
        seeds = int(rng.integers(3, 8))
        confirmed += faster_row(draw(seeds), draw(seeds))["verdict"] == "confirmed"
    assert confirmed / sweeps <= 0.05
