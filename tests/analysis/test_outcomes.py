"""The verdict engine on synthetic result sets, each with the verdict it must give: the cases where the first
verdict code was wrong (the sign of a loss, a refused length, ties, one noisy seed, no positive control, a claim
read outside its range, a miscited source) and the rules that replaced it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import models
from bench.analysis.facts import TaskFacts
from bench.analysis.outcomes import OUTCOMES, expectation_table
from bench.analysis.statistics import mean_interval

TRAITS = {name: ",".join(models.model_traits(name, {})) for name in models.MODELS}
TRAITS["mamba"] = "fixed_state,gated,linear_recurrence,selective,ssm"  # as the registry declares it
ADDING = TaskFacts("adding", "adding/halves@1", "loss", False, "MSE < 0.01", 0.01, {})
COPYING = TaskFacts("copying", "copying/arjovsky@1", "accuracy", True, "recall accuracy >= 0.99", 0.99, {})
SELECTIVE = TaskFacts("selective_copying", "selective_copying/mamba@2", "accuracy", True, "recall accuracy >= 0.99",
                      0.99, {})  # fmt: skip
RECALL = TaskFacts("associative_recall", "associative_recall/zoology@1", "accuracy", True, "query accuracy >= 0.99",
                   0.99, {})  # fmt: skip
SMALL_RECALL = TaskFacts("associative_recall", "associative_recall/mqar-small@1", "accuracy", True,
                         "query accuracy >= 0.99", 0.99, {})  # fmt: skip
AT_BASELINE, SOLVED, CHANCE, RECALLED = [0.165, 0.168, 0.166], [1e-4, 2e-4, 1.5e-4], [0.12, 0.13, 0.125], [1.0] * 3


def cell(task: TaskFacts, model: str, seq_len: int, values: list[float], baseline: float | None = None) -> dict:
    """A cell as cells.cell_summary makes it, from each seed's test metric."""
    interval = mean_interval(values)
    solved = sum((v >= task.solved_threshold) if task.higher_is_better else (v < task.solved_threshold) for v in values)
    default = 1 / 6 if task.metric == "loss" else 0.125
    return {"task": task.name, "model": model, "seq_len": seq_len, "n_seeds": len(values),
            "metric_mean": sum(values) / len(values) if values else math.nan,
            "metric_low": interval.low if interval else math.nan,
            "metric_high": interval.high if interval else math.nan,
            "metric_values": ", ".join(map(str, values)), "baseline": default if baseline is None else baseline,
            "solved": solved, "model_traits": TRAITS[model]}  # fmt: skip


def failed(task: TaskFacts, model: str, seq_len: int) -> dict:
    return {**cell(task, model, seq_len, []), "n_seeds": 0, "metric_mean": math.nan}


def curve(model: str, values: dict[float, list[float | None]], traits: list[str]) -> list[dict]:
    """Length-generalisation rows: per ratio, each seed's metric (None: the length was refused)."""
    return [{"task": "adding", "model": model, "seq_len": 64, "seed": seed, "ratio": ratio, "value": value,
             "status": "ok" if value is not None else "error", "model_traits": traits}
            for ratio, seeds in values.items() for seed, value in enumerate(seeds)]  # fmt: skip


def verdicts(task: TaskFacts, cells: list[dict], results: list[dict] | None = None) -> dict[str, str]:
    frame = pd.DataFrame(cells)
    table = expectation_table(frame, pd.DataFrame(results or []), {task.name: task}, {task.name: "3 seeds"})
    return dict(zip(table["published outcome"], table["here"], strict=True)) if not table.empty else {}


TANH = "a tanh RNN stays at the baseline where a gated RNN solves the task"
CLASSIC = "classic RNNs stay at the memoryless baseline at long delays"
LTI_COPIES = "a time-invariant SSM solves vanilla copying"
SELECTS = "a time-invariant SSM scores far below a selective SSM"
MINIMAL = "stacked minimal RNNs (gates from the input only) solve selective copying"
RECALLS = "attention recalls associations better than fixed-state models"
DEGRADES = "attention with absolute positions degrades beyond its training length"
ABSOLUTE = models.model_traits("transformer", {"positions": "learned"})

CASES = [
    # (id, task, cells, generalisation rows, the claim, its expected verdict)
    ("rnn-at-baseline-gru-solves", ADDING, [cell(ADDING, "rnn", 100, AT_BASELINE), cell(ADDING, "gru", 100, SOLVED)],
     None, TANH, "confirmed"),
    ("rnn-solves-is-a-contradiction", ADDING, [cell(ADDING, "rnn", 100, SOLVED), cell(ADDING, "gru", 100, SOLVED)],
     None, TANH, "contradicted"),
    ("no-positive-control", ADDING, [cell(ADDING, "rnn", 100, AT_BASELINE), cell(ADDING, "gru", 100, AT_BASELINE)],
     None, TANH, "unclear"),
    ("one-seed-is-not-enough", ADDING, [cell(ADDING, "rnn", 100, [0.166]), cell(ADDING, "gru", 100, SOLVED)],
     None, TANH, "unclear"),
    ("two-seeds-are-not-enough", ADDING, [cell(ADDING, "rnn", 100, [0.166, 0.167]), cell(ADDING, "gru", 100, SOLVED)],
     None, TANH, "unclear"),
    ("rnn-learning-partly-overlaps", ADDING, [cell(ADDING, "rnn", 100, [0.02, 0.16, 0.004]),
                                             cell(ADDING, "gru", 100, SOLVED)], None, TANH, "unclear"),
    ("outside-the-range", ADDING, [cell(ADDING, "rnn", 50, AT_BASELINE), cell(ADDING, "gru", 50, SOLVED)],
     None, TANH, "not measured"),
    ("failed-cells-are-not-measured", ADDING, [failed(ADDING, "rnn", 100), cell(ADDING, "gru", 100, SOLVED)],
     None, TANH, "not measured"),
    ("a-contradiction-at-one-length-wins", ADDING,
     [cell(ADDING, "rnn", 100, AT_BASELINE), cell(ADDING, "gru", 100, SOLVED), cell(ADDING, "rnn", 200, SOLVED),
      cell(ADDING, "gru", 200, SOLVED)], None, TANH, "contradicted"),
    ("an-unmeasured-length-does-not-count", ADDING,
     [cell(ADDING, "rnn", 100, AT_BASELINE), cell(ADDING, "gru", 100, SOLVED), failed(ADDING, "rnn", 200)],
     None, TANH, "confirmed"),
    ("lti-ssm-solves-copying", COPYING, [cell(COPYING, "ssm", 100, RECALLED)], None, LTI_COPIES, "confirmed"),
    ("lti-ssm-short-of-the-bar", COPYING, [cell(COPYING, "ssm", 100, [0.5, 0.52, 0.49]),
                                          cell(COPYING, "transformer", 100, RECALLED)], None, LTI_COPIES,
     "contradicted"),
    ("short-of-the-bar-where-nothing-solves-is-budget", COPYING, [cell(COPYING, "ssm", 100, [0.5, 0.52, 0.49]),
                                                                  cell(COPYING, "transformer", 100, [0.9, 0.95, 0.97])],
     None, LTI_COPIES, "unclear"),
    ("lti-ssm-straddles-the-bar", COPYING, [cell(COPYING, "ssm", 100, [0.97, 1.0, 1.0])], None, LTI_COPIES, "unclear"),
    ("copying-read-at-short-delays-only", COPYING, [cell(COPYING, "ssm", 50, RECALLED)], None, LTI_COPIES,
     "not measured"),
    ("classic-rnns-at-the-copying-baseline", COPYING,
     [cell(COPYING, "lstm", 200, CHANCE), cell(COPYING, "gru", 200, CHANCE), cell(COPYING, "ssm", 200, RECALLED)],
     None, CLASSIC, "confirmed"),
    ("one-classic-rnn-solves-copying", COPYING,
     [cell(COPYING, "lstm", 200, CHANCE), cell(COPYING, "gru", 200, RECALLED), cell(COPYING, "ssm", 200, RECALLED)],
     None, CLASSIC, "contradicted"),
    ("selective-ahead-of-lti", SELECTIVE, [cell(SELECTIVE, "mamba", 64, [0.99, 1.0, 0.995]),
                                          cell(SELECTIVE, "ssm", 64, [0.3, 0.25, 0.35])], None, SELECTS, "confirmed"),
    ("lti-ahead-of-selective", SELECTIVE, [cell(SELECTIVE, "mamba", 64, [0.3, 0.25, 0.35]),
                                          cell(SELECTIVE, "ssm", 64, [0.9, 0.95, 0.92])], None, SELECTS,
     "contradicted"),
    ("both-solve-is-a-tie", SELECTIVE, [cell(SELECTIVE, "mamba", 64, RECALLED), cell(SELECTIVE, "ssm", 64, RECALLED)],
     None, SELECTS, "unclear"),
    ("both-at-chance-is-a-tie", SELECTIVE, [cell(SELECTIVE, "mamba", 64, [0.07, 0.08, 0.07], 1 / 14),
                                           cell(SELECTIVE, "ssm", 64, [0.07, 0.07, 0.08], 1 / 14)], None, SELECTS,
     "unclear"),
    ("noise-is-not-confirmed", SELECTIVE, [cell(SELECTIVE, "mamba", 64, [0.45]), cell(SELECTIVE, "ssm", 64, [0.2])],
     None, SELECTS, "unclear"),
    ("bimodal-seeds-are-unclear", SELECTIVE, [cell(SELECTIVE, "mamba", 64, [0.88, 0.13, 0.89]),
                                             cell(SELECTIVE, "ssm", 64, [0.3, 0.25, 0.35])], None, SELECTS, "unclear"),
    ("mingru-solves-selective-copying", SELECTIVE, [cell(SELECTIVE, "mingru", 64, [0.995, 1.0, 0.998])], None,
     MINIMAL, "confirmed"),
    ("mingru-short-of-the-bar", SELECTIVE, [cell(SELECTIVE, "mingru", 64, [0.4, 0.45, 0.42]),
                                            cell(SELECTIVE, "mamba", 64, RECALLED)], None, MINIMAL, "contradicted"),
    ("mingru-short-where-nothing-solves", SELECTIVE, [cell(SELECTIVE, "mingru", 64, [0.74, 0.7, 0.77]),
                                                      cell(SELECTIVE, "gru", 64, [0.98, 0.97, 0.99])], None, MINIMAL,
     "unclear"),
    ("a-classic-gru-is-not-a-minimal-rnn", SELECTIVE, [cell(SELECTIVE, "gru", 64, RECALLED)], None, MINIMAL,
     "not measured"),
    ("a-minimal-rnn-is-not-a-classic-rnn", COPYING,
     [cell(COPYING, "lstm", 200, CHANCE), cell(COPYING, "mingru", 200, RECALLED), cell(COPYING, "ssm", 200, RECALLED)],
     None, CLASSIC, "confirmed"),
    ("attention-ahead-on-zoology-recall", RECALL, [cell(RECALL, "transformer", 64, [0.98, 0.99, 0.97]),
                                                  cell(RECALL, "lstm", 64, [0.3, 0.35, 0.32]),
                                                  cell(RECALL, "ssm", 64, [0.5, 0.45, 0.52])], None, RECALLS,
     "confirmed"),
    ("the-best-fixed-state-model-catches-up", RECALL, [cell(RECALL, "transformer", 64, [0.98, 0.99, 0.97]),
                                                      cell(RECALL, "mamba", 64, [0.97, 0.99, 0.98])], None, RECALLS,
     "unclear"),
    ("a-real-degradation-on-a-loss", ADDING, [cell(ADDING, "transformer", 64, SOLVED)],
     curve("transformer", {1.0: [0.001, 0.0012, 0.0009], 4.0: [0.16, 0.15, 0.17]}, ABSOLUTE), DEGRADES, "confirmed"),
    ("a-loss-that-improves-is-a-contradiction", ADDING, [cell(ADDING, "transformer", 64, SOLVED)],
     curve("transformer", {1.0: [0.05, 0.06, 0.055], 2.0: [0.001, 0.0012, 0.0009]}, ABSOLUTE), DEGRADES,
     "contradicted"),
    ("a-refused-length-is-not-measured", ADDING, [cell(ADDING, "transformer", 64, SOLVED)],
     curve("transformer", {1.0: [0.001, 0.0012, 0.0009], 2.0: [None, None, None]}, ABSOLUTE), DEGRADES, None),
    ("degradation-within-the-floor-is-a-tie", ADDING, [cell(ADDING, "transformer", 64, AT_BASELINE)],
     curve("transformer", {1.0: AT_BASELINE, 2.0: [0.167, 0.169, 0.168]}, ABSOLUTE), DEGRADES, "unclear"),
]  # fmt: skip


@pytest.mark.parametrize(("task", "cells", "results", "claim", "expected"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])  # fmt: skip
def test_each_result_set_gets_its_verdict(task, cells, results, claim, expected):
    found = verdicts(task, cells, results)
    assert found.get(claim) == expected, found


def test_there_are_at_least_twenty_cases():
    assert len(CASES) >= 20


def test_a_claim_not_about_this_variant_is_not_read():
    # The small recall task removes the state-capacity effect Zoology's claim is about: no verdict on it.
    cells = [cell(SMALL_RECALL, "transformer", 64, RECALLED), cell(SMALL_RECALL, "lstm", 64, CHANCE)]
    assert RECALLS not in verdicts(SMALL_RECALL, cells)


def test_selective_copying_is_judged_against_the_selective_ssm_its_source_compares():
    # Mamba's Table 1 compares S4, H3, Hyena and S6 layers: it has no attention row to cite.
    (outcome,) = [o for o in OUTCOMES if o.task == "selective_copying" and o.check == "ahead"]
    assert outcome.source == "Gu & Dao 2023, Table 1"
    assert "attention" not in outcome.subject.all_of + outcome.rival.all_of
    assert "18.3%" in outcome.setting and "99.8%" in outcome.setting


def test_every_verdict_line_shows_the_budget_lengths_and_numbers():
    frame = pd.DataFrame([cell(ADDING, "rnn", 100, AT_BASELINE), cell(ADDING, "gru", 100, SOLVED)])
    table = expectation_table(frame, pd.DataFrame(), {"adding": ADDING}, {"adding": "3 seeds, 500 steps"})
    (evidence,) = table[table["published outcome"] == TANH]["evidence"]
    assert evidence.startswith("3 seeds, 500 steps") and "T=100" in evidence and "rnn 0.166" in evidence
    assert "control gru" in evidence and "[" in evidence  # the intervals compared
