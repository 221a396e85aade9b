"""Integer options declare their range (``models.base.bounded``) and a value outside it is refused at once, naming
the option, its range and the value: ``rnn.layers=10000`` once spent about 2 minutes solving a width first."""

from __future__ import annotations

import dataclasses
import time

import pytest

import models
import tasks

BOUNDED = [("rnn", "layers"), ("lstm", "chrono"), ("transformer", "heads"), ("transformer", "max_positions"),
           ("mingru", "expand"), ("seq2seq", "layers")]  # fmt: skip


@pytest.mark.parametrize(("model", "option"), BOUNDED)
def test_an_integer_past_its_range_is_refused_at_once(model, option):
    (field,) = [f for f in dataclasses.fields(models.MODELS[model].options) if f.name == option]
    low, high = field.metadata["range"]
    started = time.perf_counter()
    with pytest.raises(ValueError, match=f"{model} option {option} must be between {low} and {high}, got {high + 1}"):
        models.solve_width(model, tasks.get_task("adding").spec, 20_000, **{option: high + 1})
    assert time.perf_counter() - started < 1.0


def test_the_bounds_admit_every_default(model_name):
    for field in dataclasses.fields(models.MODELS[model_name].options):
        if "range" in field.metadata:
            low, high = field.metadata["range"]
            assert low <= field.default <= high
