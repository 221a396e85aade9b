"""The cost model of `replicate list`: fixed cost plus cost per sequence, scaled in the length. Checked against
a synthetic step time (the timing itself is not asserted: speed targets live in benchmarks)."""

from __future__ import annotations

import pytest

import tasks
from bench.commands import estimate


def synthetic(fixed: float, per_sequence: float, exponent: float):
    def step(model, spec, params, options, width, batch, length):  # the signature of estimate._step_seconds
        return (fixed + per_sequence * batch) * (length / 256) ** exponent

    return step


@pytest.mark.parametrize(("fixed", "per_sequence", "exponent"),
                         [(0.01, 0.001, 1.0), (0.002, 0.0005, 1.5), (0, 0.001, 2)])  # fmt: skip
def test_a_step_of_fixed_plus_per_sequence_cost_is_recovered(monkeypatch, fixed, per_sequence, exponent):
    monkeypatch.setattr(estimate, "_step_seconds", synthetic(fixed, per_sequence, exponent))
    spec = tasks.get_task("adding").spec
    for batch, length in [(32, 600), (64, 4096), (4, 128)]:
        expected = (fixed + per_sequence * batch) * (length / 256) ** exponent
        assert estimate.step_seconds("rnn", spec, 20_000, {}, batch, length) == pytest.approx(expected)


def test_the_fixed_cost_is_not_counted_once_per_sequence(monkeypatch):
    # A step that costs 10 ms whatever the batch: batch 64 costs what batch 4 does, not 16 times it.
    monkeypatch.setattr(estimate, "_step_seconds", synthetic(0.01, 0.0, 1.0))
    spec = tasks.get_task("adding").spec
    assert estimate.step_seconds("rnn", spec, 20_000, {}, 64, 256) == pytest.approx(0.01)
