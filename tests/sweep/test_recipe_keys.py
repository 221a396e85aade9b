"""The training recipe (optimiser, schedule, clipping, a fixed width) is part of a run's identity, and a run at the
recipe's defaults keeps the key it had before the recipe could be chosen: the committed reference runs are
planned again under the same keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.config import load_run_config
from bench.sweep.plan import plan
from bench.train.budget import RECIPE_DEFAULTS

REFERENCE = Path(__file__).resolve().parents[2] / "results" / "reference"
COMMANDS = {  # the reference's recorded commands, as config values (placement flags left out: not in the key)
    "adding-quick": {"task": "adding", "preset": "quick"},
    "copying-quick": {"task": "copying", "preset": "quick"},
}


@pytest.mark.parametrize("folder", sorted(COMMANDS))
def test_default_plan_reproduces_the_reference_run_keys(folder):
    records = [json.loads(line) for line in (REFERENCE / folder / "runs.jsonl").read_text().splitlines() if line]
    assert records and all(f"--task {COMMANDS[folder]['task']} --preset quick" in r["command"] for r in records)
    models = sorted({r["model"] for r in records}, key=[r["model"] for r in records].index)
    planned = {(s.model, s.seq_len, s.seed, s.lr): s.run_key
               for s in plan(load_run_config({**COMMANDS[folder], "models": ",".join(models)}))}  # fmt: skip
    for record in records:
        assert planned[(record["model"], record["seq_len"], record["seed"], record["lr"])] == record["run_key"]


def keys(**given):
    base = {"task": "adding", "models": "lstm", "lengths": "10", "seeds": "0", "steps": "5"}
    return [s.run_key for s in plan(load_run_config({**base, **given}))]


def test_recipe_defaults_given_explicitly_keep_the_key():
    explicit = {"optimizer": "adamw", "betas": "0.9,0.999", "eps": "1e-8", "schedule": "cosine"}
    assert keys(**explicit) == keys()
    assert set(explicit) <= set(RECIPE_DEFAULTS)


@pytest.mark.parametrize("change", [
    {"optimizer": "rmsprop"}, {"optimizer": "adam"}, {"optimizer": "sgd", "momentum": "0.9"},
    {"betas": "0.9,0.98"}, {"schedule": "constant"}, {"schedule": "step", "step_every": "2"},
    {"clip_norm": "none"}, {"clip_norm": "5"}, {"widths": "lstm=16"},
])  # fmt: skip
def test_each_recipe_setting_is_part_of_the_key(change):
    assert keys(**change) != keys()


def test_every_record_stores_the_whole_recipe():
    from bench.sweep.training import identity_record

    record = identity_record(plan(load_run_config({"task": "adding", "models": "lstm", "lengths": "10"}))[0])
    assert {k: record[k] for k in RECIPE_DEFAULTS} == {k: list(v) if isinstance(v, tuple) else v
                                                        for k, v in RECIPE_DEFAULTS.items()}  # fmt: skip


@pytest.mark.parametrize("given, message", [
    ({"optimizer": "lion"}, "optimizer: Input should be 'adamw', 'adam', 'rmsprop' or 'sgd'"),
    ({"optimizer": "rmsprop", "betas": "0.9,0.99"}, "betas: applies to optimizer adamw or adam (got optimizer rms"),
    ({"alpha": "0.9"}, "alpha: applies to optimizer rmsprop (got optimizer adamw)"),
    ({"schedule": "step"}, "step_every: the step schedule needs"),
    ({"step_every": "5"}, "step_every: applies to schedule step (got schedule cosine)"),
    ({"clip_norm": "0"}, "clip_norm: Input should be greater than 0"),
    ({"widths": "gru=8"}, "widths: gru not among the models (lstm)"),
    ({"widths": "lstm"}, "widths: expected MODEL=WIDTH items"),
])  # fmt: skip
def test_a_bad_recipe_is_one_line_naming_the_field(given, message):
    from bench.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_run_config({"task": "adding", "models": "lstm", **given})
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)
