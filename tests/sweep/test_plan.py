"""A sweep's plan: every model the same grid and budget, each run a stable sha256 of what it computes, never
the same run twice."""

from __future__ import annotations

import dataclasses
import re

import pytest

import models
from bench.config import ConfigError, load_run_config
from bench.sweep.plan import plan
from tests.helpers import flags


def tiny_plan():
    return plan(load_run_config({"task": "adding", "models": "lstm,gru", "lengths": "8,16", "steps": "5"}))


def test_plan_gives_every_model_the_same_grid():
    config = load_run_config(
        {"task": "adding", "lengths": "8,16", "seeds": "0,1", "lrs": "0.001,0.01", "steps": "5", "params": "4000"}
    )
    specs = plan(config)
    assert sorted({s.model for s in specs}) == sorted(models.DEFAULT_MODELS)  # the five families, not seq2seq
    grids = {m: sorted((s.seq_len, s.seed, s.lr) for s in specs if s.model == m) for m in models.DEFAULT_MODELS}
    assert all(len(grid) == 8 for grid in grids.values())
    assert len({tuple(grid) for grid in grids.values()}) == 1
    assert len({s.budget for s in specs}) == 1
    assert len({s.run_key for s in specs}) == len(specs)


# ---- run keys ------------------------------------------------------------------------------------


def test_run_key_is_a_stable_sha256():
    first, second = tiny_plan(), tiny_plan()
    assert [s.run_key for s in first] == [s.run_key for s in second]
    assert all(re.fullmatch("[0-9a-f]{64}", s.run_key) for s in first)
    assert len({s.run_key for s in first}) == len(first)


@pytest.mark.parametrize("change, same", [({"lr": 0.5}, False), ({"seed": 7}, False), ({"device": "cuda"}, True),
                                          ({"threads": 3}, True), ({"compiled": True}, True)])  # fmt: skip
def test_run_key_follows_what_is_computed_not_where(change, same):
    spec = tiny_plan()[0]
    assert (dataclasses.replace(spec, **change).run_key == spec.run_key) is same


@pytest.mark.parametrize(
    "field, repeated, distinct",
    [("lengths", "8,8", "8,16"), ("seeds", "0,0", "0,1"), ("lrs", "0.001,1e-3", "0.001,0.01")],
)
def test_a_sweep_never_plans_a_run_twice(field, repeated, distinct):
    # A repeated value would plan, run and store one run twice under one key: it is refused up front, as a
    # repeated model is. The learning rates repeat as numbers, not as text: 0.001 and 1e-3 are one rate.
    with pytest.raises(ConfigError, match=f"{field}: each value may appear once; repeated: "):
        load_run_config({"task": "adding", "models": "lstm", field: repeated})
    # Distinct values plan every run of the grid, each under a key of its own.
    config = load_run_config({"task": "adding", "models": "lstm,gru", field: distinct})
    keys = [spec.run_key for spec in plan(config)]
    assert len(keys) == len(config.models) * len(config.lengths) * len(config.seeds) * len(config.lrs)
    assert len(getattr(config, field)) == 2
    assert len(set(keys)) == len(keys)


def test_runs_without_eval_lengths_keep_their_keys():
    spec = plan(load_run_config(flags(task="adding", lengths="10")))[0]
    assert "eval_lengths" not in spec.identity()


def test_an_implementation_option_is_recorded_but_hashed_at_one_value():
    # Mamba's path picks how S6 is computed, not what: every path plans under one key, the key of the path
    # the runs before the fused core were made with, while each spec keeps the path it asked for.
    def mamba(**options):
        config = {"task": "adding", "models": "mamba", "lengths": "8", "model_options": {"mamba": options}}
        return plan(load_run_config(config))[0]

    keys, paths = set(), []
    for path in ("fused", "recurrence"):
        spec = mamba(path=path)
        keys.add(spec.run_key)
        paths.append(spec.model_options["path"])
        assert spec.identity()["model_options"]["path"] == "scan"
    assert len(keys) == 1 and paths == ["fused", "recurrence"]
    assert mamba(layers=1).run_key not in keys  # an option that changes the map still changes the key


def test_compile_is_placement_and_refused_with_pack():
    config = {"task": "adding", "models": "lstm", "lengths": "8"}
    eager, compiled = (plan(load_run_config({**config, "compile": flag}))[0] for flag in (False, True))
    assert compiled.compiled and not eager.compiled and compiled.run_key == eager.run_key
    with pytest.raises(ConfigError, match="compile: packed training"):
        load_run_config({"task": "adding", "models": "mingru", "lengths": "8", "compile": True, "pack": True})
